// Auto-layout with elkjs: layered, left to right.
import ELK from 'elkjs/lib/elk.bundled.js';
import type { ElkNode } from 'elkjs/lib/elk-api';
import { NODE_HEIGHT, NODE_WIDTH } from './graph';
import type { Position, Schema } from './types';

let elk: InstanceType<typeof ELK> | undefined;

export async function autoLayout(
  schema: Schema,
  sizes: Record<string, { width: number; height: number }> = {},
): Promise<Record<string, Position>> {
  elk ??= new ELK();
  const ids = new Set(schema.elements.map((e) => e.id));
  const graph: ElkNode = {
    id: 'root',
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'RIGHT',
      'elk.spacing.nodeNode': '40',
      'elk.layered.spacing.nodeNodeBetweenLayers': '90',
      'elk.spacing.componentComponent': '60',
      'elk.layered.nodePlacement.strategy': 'BRANDES_KOEPF',
    },
    children: schema.elements.map((e) => ({
      id: e.id,
      width: sizes[e.id]?.width ?? NODE_WIDTH,
      height: sizes[e.id]?.height ?? NODE_HEIGHT,
    })),
    edges: (schema.connections ?? [])
      .filter((c) => ids.has(c.from) && ids.has(c.to) && c.from !== c.to)
      .map((c, i) => ({ id: `e${i}`, sources: [c.from], targets: [c.to] })),
  };
  const res = await elk.layout(graph);
  const out: Record<string, Position> = {};
  for (const n of res.children ?? []) out[n.id] = { x: Math.round((n.x ?? 0) + 40), y: Math.round((n.y ?? 0) + 40) };
  return out;
}
