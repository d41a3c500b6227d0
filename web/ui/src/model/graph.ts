// Schema <-> React Flow graph conversion and the pure edits the canvas makes:
// ids, renames, connection rules, copy/paste and removal.
import type { Edge, Node } from '@xyflow/react';
import type { Connection, Element, KindInfo, KindMap, Position, Schema } from './types';

export interface ElementNodeData {
  element: Element;
  // True when the element had no position in the schema's layout and the
  // canvas placed it; such positions are not written back until moved.
  autoPlaced?: boolean;
  [k: string]: unknown;
}

export interface ConnectionEdgeData {
  connection: Connection;
  index: number;
  [k: string]: unknown;
}

export type ElementNode = Node<ElementNodeData, 'element'>;
export type ConnectionEdge = Edge<ConnectionEdgeData>;

export const NODE_WIDTH = 200;
export const NODE_HEIGHT = 76;

const GRID_COLS = 4;

// Where an element without a layout position goes: a grid, by index.
export function defaultPosition(index: number): Position {
  const col = index % GRID_COLS;
  const row = Math.floor(index / GRID_COLS);
  return { x: 40 + col * 260, y: 40 + row * 140 };
}

function clone<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

// Edge ids: `from->to`, with `#n` appended for a repeated pair (a duplicate
// connection, which the validator reports, still gets its own edge).
export function edgeIds(connections: Connection[]): string[] {
  const seen = new Map<string, number>();
  return connections.map((c) => {
    const base = `${c.from}->${c.to}`;
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    return n === 0 ? base : `${base}#${n + 1}`;
  });
}

export function edgeLabel(c: Connection): string | undefined {
  const parts: string[] = [];
  if (c.route?.path) parts.push(c.route.path);
  if (c.weight) parts.push(`w${c.weight}`);
  if (c.env) parts.push(c.env);
  return parts.length ? parts.join(' · ') : undefined;
}

export function schemaToGraph(schema: Schema): { nodes: ElementNode[]; edges: ConnectionEdge[] } {
  const layout = schema.layout ?? {};
  const nodes: ElementNode[] = schema.elements.map((el, i) => {
    const pos = layout[el.id];
    const placed = pos && Number.isFinite(pos.x) && Number.isFinite(pos.y);
    return {
      id: el.id,
      type: 'element',
      position: placed ? { x: pos.x, y: pos.y } : defaultPosition(i),
      data: placed ? { element: el } : { element: el, autoPlaced: true },
    };
  });
  const conns = schema.connections ?? [];
  const ids = edgeIds(conns);
  const edges: ConnectionEdge[] = conns.map((c, i) => ({
    id: ids[i],
    source: c.from,
    target: c.to,
    label: edgeLabel(c),
    data: { connection: c, index: i },
  }));
  return { nodes, edges };
}

// graphToSchema writes nodes and edges back into a schema. Top-level fields
// come from base; elements, connections and layout from the graph. Layout
// entries for ids that are not nodes are kept, so nothing is lost.
export function graphToSchema(base: Schema, nodes: ElementNode[], edges: ConnectionEdge[]): Schema {
  const out: Schema = { ...base };
  out.elements = nodes.map((n) => ({ ...n.data.element, id: n.id }));
  const conns = edges.map((e) => ({ ...(e.data?.connection ?? { from: e.source, to: e.target }), from: e.source, to: e.target }));
  if (conns.length > 0 || base.connections !== undefined) out.connections = conns;
  const layout: Record<string, Position> = {};
  const nodeIds = new Set(nodes.map((n) => n.id));
  for (const [k, v] of Object.entries(base.layout ?? {})) {
    if (!nodeIds.has(k)) layout[k] = v;
  }
  for (const n of nodes) {
    if (n.data.autoPlaced) {
      const old = base.layout?.[n.id];
      if (old) layout[n.id] = old;
      continue;
    }
    const old = base.layout?.[n.id];
    layout[n.id] = { ...(old ?? {}), x: n.position.x, y: n.position.y };
  }
  if (Object.keys(layout).length > 0 || base.layout !== undefined) out.layout = layout;
  return out;
}

// ---- ids ----

export const ID_RE = /^[a-z][a-z0-9-]*$/;

// The short name of a kind, used as an id prefix: `app.nodejs` -> `nodejs`.
export function shortName(kind: string): string {
  const last = kind.split('.').pop() ?? kind;
  return sanitizeId(last) || 'element';
}

// sanitizeId turns a string into a DNS label (lowercase letters, digits and
// '-', starting with a letter), or '' when nothing is left.
export function sanitizeId(s: string): string {
  let out = s
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^[^a-z]+/, '')
    .replace(/-+$/, '');
  if (out.length > 63) out = out.slice(0, 63).replace(/-+$/, '');
  return out;
}

// uniqueId returns base, or base-2, base-3, ... whichever is not taken.
export function uniqueId(base: string, taken: Iterable<string>): string {
  const set = new Set(taken);
  const b = sanitizeId(base) || 'element';
  if (!set.has(b)) return b;
  // Reuse the stem of an id that already carries a numeric suffix.
  const m = /^(.*)-(\d+)$/.exec(b);
  const stem = m ? m[1] : b;
  let n = m ? Number(m[2]) + 1 : 2;
  for (;;) {
    const id = `${stem}-${n}`;
    if (!set.has(id)) return id;
    n++;
  }
}

export function newElementId(schema: Schema, kind: string): string {
  return uniqueId(shortName(kind), schema.elements.map((e) => e.id));
}

export function addElement(schema: Schema, kind: string, position?: Position): { schema: Schema; id: string } {
  const id = newElementId(schema, kind);
  const out: Schema = { ...schema, elements: [...schema.elements, { id, kind }] };
  if (position) out.layout = { ...(schema.layout ?? {}), [id]: { x: Math.round(position.x), y: Math.round(position.y) } };
  return { schema: out, id };
}

export type Result = { ok: true; schema: Schema } | { ok: false; reason: string };

// renameElement changes an element's id and updates the connections and the
// layout that refer to it.
export function renameElement(schema: Schema, from: string, to: string): Result {
  if (from === to) return { ok: true, schema };
  if (!to) return { ok: false, reason: 'id must not be empty' };
  if (!schema.elements.some((e) => e.id === from)) return { ok: false, reason: `no element ${from}` };
  if (schema.elements.some((e) => e.id === to)) return { ok: false, reason: `id "${to}" is already used` };
  const out: Schema = {
    ...schema,
    elements: schema.elements.map((e) => (e.id === from ? { ...e, id: to } : e)),
  };
  if (schema.connections) {
    out.connections = schema.connections.map((c) =>
      c.from === from || c.to === from
        ? { ...c, from: c.from === from ? to : c.from, to: c.to === from ? to : c.to }
        : c,
    );
  }
  if (schema.layout) {
    const layout: Record<string, Position> = {};
    for (const [k, v] of Object.entries(schema.layout)) layout[k === from ? to : k] = v;
    out.layout = layout;
  }
  return { ok: true, schema: out };
}

// ---- connections ----

export type Check = { ok: true } | { ok: false; reason: string };

// effectivePort is the element's own port or its kind's default.
export function effectivePort(el: Element, kind: KindInfo | undefined): number | undefined {
  if (el.port) return el.port;
  return kind?.defaults?.port || undefined;
}

// canConnect applies API.md's rule: A -> B is accepted when A's kind
// connects, B's kind is a service and B has a port; never to itself, never
// twice.
export function canConnect(schema: Schema, kinds: KindMap, from: string, to: string): Check {
  if (from === to) return { ok: false, reason: 'An element cannot connect to itself' };
  const a = schema.elements.find((e) => e.id === from);
  const b = schema.elements.find((e) => e.id === to);
  if (!a) return { ok: false, reason: `No element "${from}"` };
  if (!b) return { ok: false, reason: `No element "${to}"` };
  if ((schema.connections ?? []).some((c) => c.from === from && c.to === to))
    return { ok: false, reason: `${from} is already connected to ${to}` };
  const ka = kinds[a.kind];
  const kb = kinds[b.kind];
  if (!ka) return { ok: false, reason: `Unknown kind "${a.kind}" of ${from}` };
  if (!kb) return { ok: false, reason: `Unknown kind "${b.kind}" of ${to}` };
  if (!ka.connects) return { ok: false, reason: `${ka.label} (${from}) does not make connections` };
  if (!kb.service) return { ok: false, reason: `${kb.label} (${to}) is not a service and accepts no connections` };
  if (!effectivePort(b, kb)) return { ok: false, reason: `${to} has no port: set its port first` };
  return { ok: true };
}

export function addConnection(schema: Schema, kinds: KindMap, from: string, to: string): Result {
  const c = canConnect(schema, kinds, from, to);
  if (!c.ok) return c;
  return { ok: true, schema: { ...schema, connections: [...(schema.connections ?? []), { from, to }] } };
}

// ---- removal, copy and paste ----

// removeItems deletes elements (with their connections and layout) and the
// connections at the given indices.
export function removeItems(schema: Schema, elementIds: Iterable<string>, connectionIndices: Iterable<number> = []): Schema {
  const ids = new Set(elementIds);
  const idx = new Set(connectionIndices);
  const out: Schema = { ...schema, elements: schema.elements.filter((e) => !ids.has(e.id)) };
  if (schema.connections) {
    out.connections = schema.connections.filter((c, i) => !idx.has(i) && !ids.has(c.from) && !ids.has(c.to));
  }
  if (schema.layout) {
    const layout: Record<string, Position> = {};
    for (const [k, v] of Object.entries(schema.layout)) if (!ids.has(k)) layout[k] = v;
    out.layout = layout;
  }
  return out;
}

export interface Clipboard {
  elements: Element[];
  connections: Connection[];
  layout: Record<string, Position>;
}

// copyItems takes the elements with the given ids and the connections between
// them (only the internal ones).
export function copyItems(schema: Schema, ids: Iterable<string>): Clipboard {
  const set = new Set(ids);
  const elements = schema.elements.filter((e) => set.has(e.id)).map((e) => clone(e));
  const connections = (schema.connections ?? []).filter((c) => set.has(c.from) && set.has(c.to)).map((c) => clone(c));
  const layout: Record<string, Position> = {};
  const g = schemaToGraph(schema);
  for (const n of g.nodes) if (set.has(n.id)) layout[n.id] = { x: n.position.x, y: n.position.y };
  return { elements, connections, layout };
}

// pasteItems adds the clipboard's elements under new ids, shifted by offset,
// and the connections between them renamed to match.
export function pasteItems(schema: Schema, clip: Clipboard, offset: Position = { x: 40, y: 40 }): { schema: Schema; ids: string[] } {
  const taken = new Set(schema.elements.map((e) => e.id));
  const map = new Map<string, string>();
  const elements = [...schema.elements];
  const layout = { ...(schema.layout ?? {}) };
  clip.elements.forEach((e, i) => {
    const id = uniqueId(e.id, taken);
    taken.add(id);
    map.set(e.id, id);
    elements.push({ ...clone(e), id });
    const p = clip.layout[e.id] ?? defaultPosition(schema.elements.length + i);
    layout[id] = { x: p.x + offset.x, y: p.y + offset.y };
  });
  const conns = [...(schema.connections ?? [])];
  for (const c of clip.connections) {
    const from = map.get(c.from);
    const to = map.get(c.to);
    if (from && to) conns.push({ ...clone(c), from, to });
  }
  const out: Schema = { ...schema, elements, layout };
  if (conns.length > 0 || schema.connections !== undefined) out.connections = conns;
  return { schema: out, ids: [...map.values()] };
}

// setPositions writes positions into the layout.
export function setPositions(schema: Schema, positions: Record<string, Position>): Schema {
  const layout = { ...(schema.layout ?? {}) };
  for (const [id, p] of Object.entries(positions)) {
    layout[id] = { ...(layout[id] ?? {}), x: Math.round(p.x), y: Math.round(p.y) };
  }
  return { ...schema, layout };
}

export function updateElement(schema: Schema, id: string, fn: (e: Element) => Element): Schema {
  return { ...schema, elements: schema.elements.map((e) => (e.id === id ? fn(e) : e)) };
}

export function updateConnection(schema: Schema, index: number, fn: (c: Connection) => Connection): Schema {
  const conns = schema.connections ?? [];
  if (index < 0 || index >= conns.length) return schema;
  return { ...schema, connections: conns.map((c, i) => (i === index ? fn(c) : c)) };
}

// fillLayout writes the canvas position of every element that has none in
// the layout, so that a reorder (the server sorts elements on save) does not
// move it. The schema is returned as is when nothing is missing.
export function fillLayout(schema: Schema): Schema {
  const missing = schema.elements.filter((e) => !schema.layout?.[e.id]);
  if (missing.length === 0) return schema;
  const g = schemaToGraph(schema);
  const positions: Record<string, Position> = {};
  for (const n of g.nodes) if (n.data.autoPlaced) positions[n.id] = n.position;
  return setPositions(schema, positions);
}
