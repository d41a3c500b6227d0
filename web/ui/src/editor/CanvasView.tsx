import {
  Background,
  BackgroundVariant,
  ConnectionMode,
  Controls,
  MiniMap,
  ReactFlow,
  SelectionMode,
  type Connection as RFConnection,
  type EdgeChange,
  type NodeChange,
  type NodeTypes,
  useReactFlow,
  useUpdateNodeInternals,
} from '@xyflow/react';
import { useEffect, useState, type DragEvent } from 'react';
import type { ConnectionEdge } from '../model/graph';
import { NODE_HEIGHT, NODE_WIDTH } from '../model/graph';
import type { Theme } from '../theme';
import { ElementNodeView, type ViewNode } from './ElementNodeView';

export const KIND_MIME = 'application/x-backplane-kind';

const nodeTypes: NodeTypes = { element: ElementNodeView };

interface Props {
  nodes: ViewNode[];
  edges: ConnectionEdge[];
  theme: Theme;
  // readOnly: nothing moves, connects or drops; elements can still be
  // selected, to read their settings.
  readOnly?: boolean;
  onNodesChange: (changes: NodeChange<ViewNode>[]) => void;
  onEdgesChange: (changes: EdgeChange<ConnectionEdge>[]) => void;
  onConnect: (c: RFConnection) => void;
  onDropKind: (kind: string, pos: { x: number; y: number }) => void;
  onNodeDragStart: () => void;
  onNodeDragStop: () => void;
  onInit: () => void;
}

const lightColor: Record<string, string> = { grey: '#8b93a1', amber: '#e0a526', green: '#2fb36d', red: '#e5484d', building: '#8b5cf6' };

export function CanvasView(p: Props) {
  const rf = useReactFlow();
  // Fit the view to the elements the canvas opens with. Not on an empty
  // canvas: React Flow keeps a fitView queued until the first node is
  // measured, so the first element dropped would make the view jump and
  // zoom to it instead of staying where it was dropped.
  const [fitOnOpen] = useState(() => p.nodes.length > 0);
  // A schema read again (a reload after a conflict, a revision saved
  // elsewhere) gives React Flow new node objects of the same size, which it
  // does not measure again, so their handles could be unknown and their
  // edges go undrawn: measure the nodes' handles whenever the edges change.
  const updateNodeInternals = useUpdateNodeInternals();
  const nodeIds = p.nodes.map((n) => n.id).join('\n');
  useEffect(() => {
    if (nodeIds) updateNodeInternals(nodeIds.split('\n'));
  }, [p.edges, nodeIds, updateNodeInternals]);

  function onDragOver(e: DragEvent) {
    if (p.readOnly) return;
    if (e.dataTransfer.types.includes(KIND_MIME) || e.dataTransfer.types.includes('text/plain')) {
      e.preventDefault();
      e.dataTransfer.dropEffect = 'copy';
    }
  }

  function onDrop(e: DragEvent) {
    if (p.readOnly) return;
    const kind = e.dataTransfer.getData(KIND_MIME) || e.dataTransfer.getData('text/plain');
    if (!kind) return;
    e.preventDefault();
    const pos = rf.screenToFlowPosition({ x: e.clientX, y: e.clientY });
    p.onDropKind(kind, { x: pos.x - NODE_WIDTH / 2, y: pos.y - NODE_HEIGHT / 2 });
  }

  return (
    <div className={`canvas${p.readOnly ? ' canvas-read-only' : ''}`} data-testid="canvas" data-read-only={p.readOnly || undefined} onDragOver={onDragOver} onDrop={onDrop}>
      <ReactFlow<ViewNode, ConnectionEdge>
        nodes={p.nodes}
        edges={p.edges}
        nodeTypes={nodeTypes}
        onNodesChange={p.onNodesChange}
        onEdgesChange={p.onEdgesChange}
        onConnect={p.readOnly ? undefined : p.onConnect}
        nodesDraggable={!p.readOnly}
        nodesConnectable={!p.readOnly}
        onNodeDragStart={p.onNodeDragStart}
        onNodeDragStop={p.onNodeDragStop}
        onInit={p.onInit}
        connectionMode={ConnectionMode.Strict}
        deleteKeyCode={null}
        selectionKeyCode="Shift"
        multiSelectionKeyCode={['Shift', 'Meta', 'Control']}
        selectionMode={SelectionMode.Partial}
        colorMode={p.theme}
        minZoom={0.2}
        maxZoom={2}
        fitView={fitOnOpen}
        fitViewOptions={{ padding: 0.2, maxZoom: 1.2 }}
        defaultEdgeOptions={{ type: 'default' }}
      >
        <Background variant={BackgroundVariant.Dots} gap={20} size={1} />
        <MiniMap
          style={{ width: 160, height: 110 }}
          pannable
          zoomable
          nodeStrokeWidth={2}
          nodeColor={(n) => lightColor[(n.data as { light?: string }).light ?? 'grey'] ?? '#888'}
        />
        <Controls showInteractive={false} />
      </ReactFlow>
    </div>
  );
}
