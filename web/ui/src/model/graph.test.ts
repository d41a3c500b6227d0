import { describe, expect, it } from 'vitest';
import {
  addConnection,
  addElement,
  canConnect,
  copyItems,
  defaultPosition,
  edgeIds,
  effectivePort,
  fillLayout,
  graphToSchema,
  newElementId,
  pasteItems,
  removeItems,
  renameElement,
  sanitizeId,
  schemaToGraph,
  setPositions,
  shortName,
  uniqueId,
  updateConnection,
  updateElement,
} from './graph';
import { KIND_MAP, shop } from './fixtures';
import { autoLayout } from './layout';
import type { Schema } from './types';

describe('schemaToGraph', () => {
  it('makes a node per element with the layout position', () => {
    const { nodes } = schemaToGraph(shop());
    expect(nodes.map((n) => n.id)).toEqual(['api', 'db', 'cache', 'mailer', 'nightly', 'lb']);
    expect(nodes.find((n) => n.id === 'lb')!.position).toEqual({ x: 40, y: 120 });
    expect(nodes[0].type).toBe('element');
    expect(nodes[0].data.element.kind).toBe('app.nodejs');
    expect(nodes[0].data.autoPlaced).toBeUndefined();
  });

  it('makes an edge per connection with its data', () => {
    const { edges } = schemaToGraph(shop());
    expect(edges).toHaveLength(5);
    expect(edges[0]).toMatchObject({ id: 'lb->api', source: 'lb', target: 'api', label: '/' });
    expect(edges[0].data!.connection.route).toEqual({ path: '/' });
    expect(edges[3].data).toMatchObject({ index: 3, connection: { env: 'MAIL_DB_URL' } });
  });

  it('places elements without a layout on a grid and marks them', () => {
    const s: Schema = { version: 1, project: 'p', elements: [{ id: 'a', kind: 'worker' }, { id: 'b', kind: 'worker' }] };
    const { nodes } = schemaToGraph(s);
    expect(nodes[0].position).toEqual(defaultPosition(0));
    expect(nodes[1].position).toEqual(defaultPosition(1));
    expect(nodes[1].data.autoPlaced).toBe(true);
  });

  it('gives duplicate connections distinct edge ids', () => {
    expect(edgeIds([{ from: 'a', to: 'b' }, { from: 'a', to: 'b' }, { from: 'b', to: 'a' }])).toEqual(['a->b', 'a->b#2', 'b->a']);
  });

  it('handles a schema with no connections or layout', () => {
    const g = schemaToGraph({ version: 1, project: 'p', elements: [] });
    expect(g.nodes).toEqual([]);
    expect(g.edges).toEqual([]);
  });
});

describe('graphToSchema', () => {
  it('round-trips the shop schema exactly', () => {
    const s = shop();
    const g = schemaToGraph(s);
    expect(graphToSchema(s, g.nodes, g.edges)).toEqual(s);
  });

  it('preserves fields the canvas does not know', () => {
    const s = shop() as Schema;
    s['x-extra'] = { keep: true };
    s.elements[0]['future_field'] = [1, 2];
    s.connections![0]['note'] = 'hi';
    s.layout!['ghost'] = { x: 1, y: 2 };
    s.regions!.eu.consul_datacenter = 'dc-eu';
    const g = schemaToGraph(s);
    const back = graphToSchema(s, g.nodes, g.edges);
    expect(back).toEqual(s);
    expect(back.elements[0].future_field).toEqual([1, 2]);
    expect(back.layout!.ghost).toEqual({ x: 1, y: 2 });
  });

  it('does not write layout for auto-placed nodes', () => {
    const s: Schema = { version: 1, project: 'p', elements: [{ id: 'a', kind: 'worker' }] };
    const g = schemaToGraph(s);
    const back = graphToSchema(s, g.nodes, g.edges);
    expect(back).toEqual(s);
    expect('layout' in back).toBe(false);
    expect('connections' in back).toBe(false);
  });

  it('writes moved positions and new edges', () => {
    const s = shop();
    const g = schemaToGraph(s);
    g.nodes[0] = { ...g.nodes[0], position: { x: 999, y: 5 } };
    g.edges.push({ id: 'lb->db', source: 'lb', target: 'db' });
    const back = graphToSchema(s, g.nodes, g.edges);
    expect(back.layout!.api).toEqual({ x: 999, y: 5 });
    expect(back.connections!.at(-1)).toEqual({ from: 'lb', to: 'db' });
  });
});

describe('ids', () => {
  it('derives the short name of a kind', () => {
    expect(shortName('app.nodejs')).toBe('nodejs');
    expect(shortName('worker')).toBe('worker');
    expect(shortName('db.postgres')).toBe('postgres');
    expect(shortName('acme.My_Thing')).toBe('my-thing');
    expect(shortName('x.123')).toBe('element');
  });

  it('sanitizes to a DNS label', () => {
    expect(sanitizeId('Hello World!')).toBe('hello-world');
    expect(sanitizeId('9lives')).toBe('lives');
    expect(sanitizeId('--a--b--')).toBe('a-b');
    expect(sanitizeId('a'.repeat(80))).toHaveLength(63);
    expect(sanitizeId('___')).toBe('');
  });

  it('deduplicates ids with a numeric suffix', () => {
    expect(uniqueId('nodejs', [])).toBe('nodejs');
    expect(uniqueId('nodejs', ['nodejs'])).toBe('nodejs-2');
    expect(uniqueId('nodejs', ['nodejs', 'nodejs-2'])).toBe('nodejs-3');
    expect(uniqueId('nodejs-2', ['nodejs', 'nodejs-2'])).toBe('nodejs-3');
  });

  it('adds elements with fresh ids and positions', () => {
    let s: Schema = { version: 1, project: 'p', elements: [] };
    const a = addElement(s, 'app.nodejs', { x: 10.4, y: 20.6 });
    s = a.schema;
    expect(a.id).toBe('nodejs');
    expect(s.layout).toEqual({ nodejs: { x: 10, y: 21 } });
    const b = addElement(s, 'app.nodejs');
    expect(b.id).toBe('nodejs-2');
    expect(b.schema.elements.map((e) => e.id)).toEqual(['nodejs', 'nodejs-2']);
    expect(newElementId(b.schema, 'app.nodejs')).toBe('nodejs-3');
  });
});

describe('renameElement', () => {
  it('updates connections and layout', () => {
    const r = renameElement(shop(), 'api', 'web');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.schema.elements[0].id).toBe('web');
    expect(r.schema.connections!.filter((c) => c.from === 'web' || c.to === 'web')).toHaveLength(3);
    expect(r.schema.connections!.some((c) => c.from === 'api' || c.to === 'api')).toBe(false);
    expect(r.schema.layout!.web).toEqual({ x: 320, y: 120 });
    expect(r.schema.layout!.api).toBeUndefined();
  });

  it('keeps the layout key order', () => {
    const r = renameElement(shop(), 'api', 'web');
    if (!r.ok) throw new Error(r.reason);
    expect(Object.keys(r.schema.layout!)).toEqual(['lb', 'web', 'db', 'cache', 'mailer', 'nightly']);
  });

  it('refuses a taken or empty id', () => {
    expect(renameElement(shop(), 'api', 'db')).toEqual({ ok: false, reason: 'id "db" is already used' });
    expect(renameElement(shop(), 'api', '').ok).toBe(false);
    expect(renameElement(shop(), 'nope', 'x').ok).toBe(false);
  });

  it('is a no-op for the same id', () => {
    const s = shop();
    const r = renameElement(s, 'api', 'api');
    expect(r.ok && r.schema).toBe(s);
  });

  it('does not modify its input', () => {
    const s = shop();
    const before = JSON.stringify(s);
    renameElement(s, 'db', 'mongo');
    expect(JSON.stringify(s)).toBe(before);
  });
});

describe('canConnect', () => {
  const s = shop();
  it('accepts an app to a database and an LB to an app', () => {
    expect(canConnect(s, KIND_MAP, 'mailer', 'cache')).toEqual({ ok: true });
    expect(canConnect(s, KIND_MAP, 'lb', 'db')).toEqual({ ok: true });
  });
  it('refuses self edges', () => {
    const r = canConnect(s, KIND_MAP, 'api', 'api');
    expect(r.ok).toBe(false);
  });
  it('refuses duplicates', () => {
    const r = canConnect(s, KIND_MAP, 'api', 'db');
    expect(r).toEqual({ ok: false, reason: 'api is already connected to db' });
  });
  it('refuses a source kind that does not connect', () => {
    const r = canConnect(s, KIND_MAP, 'db', 'cache');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(/does not make connections/);
  });
  it('refuses a target that is not a service', () => {
    const r = canConnect(s, KIND_MAP, 'api', 'mailer');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(/not a service/);
  });
  it('refuses a target without a port', () => {
    const t: Schema = { ...s, elements: [...s.elements, { id: 'svc', kind: 'app.nodejs' }] };
    const r = canConnect(t, KIND_MAP, 'api', 'svc');
    expect(r).toEqual({ ok: false, reason: 'svc has no port: set its port first' });
  });
  it('uses the kind default port', () => {
    expect(effectivePort({ id: 'x', kind: 'db.postgres' }, KIND_MAP['db.postgres'])).toBe(5432);
    expect(effectivePort({ id: 'x', kind: 'app.nodejs', port: 8080 }, KIND_MAP['app.nodejs'])).toBe(8080);
    expect(effectivePort({ id: 'x', kind: 'app.nodejs' }, KIND_MAP['app.nodejs'])).toBeUndefined();
  });
  it('refuses unknown kinds and elements', () => {
    const t: Schema = { ...s, elements: [...s.elements, { id: 'odd', kind: 'acme.nope' }] };
    expect(canConnect(t, KIND_MAP, 'odd', 'db').ok).toBe(false);
    expect(canConnect(t, KIND_MAP, 'api', 'odd').ok).toBe(false);
    expect(canConnect(t, KIND_MAP, 'api', 'ghost').ok).toBe(false);
  });
  it('addConnection appends an accepted edge only', () => {
    const r = addConnection(s, KIND_MAP, 'mailer', 'cache');
    expect(r.ok && r.schema.connections!.at(-1)).toEqual({ from: 'mailer', to: 'cache' });
    expect(addConnection(s, KIND_MAP, 'db', 'api').ok).toBe(false);
  });
});

describe('removeItems', () => {
  it('removes elements with their connections and layout', () => {
    const out = removeItems(shop(), ['db']);
    expect(out.elements.map((e) => e.id)).not.toContain('db');
    expect(out.connections!.some((c) => c.to === 'db')).toBe(false);
    expect(out.connections).toHaveLength(2);
    expect(out.layout!.db).toBeUndefined();
  });
  it('removes connections by index', () => {
    const out = removeItems(shop(), [], [0, 2]);
    expect(out.connections!.map((c) => `${c.from}->${c.to}`)).toEqual(['api->db', 'mailer->db', 'nightly->db']);
    expect(out.elements).toHaveLength(6);
  });
});

describe('copy and paste', () => {
  it('copies only internal connections and pastes under new ids', () => {
    const s = shop();
    const clip = copyItems(s, ['api', 'db', 'lb']);
    expect(clip.elements.map((e) => e.id)).toEqual(['api', 'db', 'lb']);
    expect(clip.connections.map((c) => `${c.from}->${c.to}`)).toEqual(['lb->api', 'api->db']);
    const { schema, ids } = pasteItems(s, clip);
    expect(ids).toEqual(['api-2', 'db-2', 'lb-2']);
    expect(schema.elements).toHaveLength(9);
    expect(schema.connections!.slice(-2)).toEqual([
      { from: 'lb-2', to: 'api-2', route: { path: '/' } },
      { from: 'api-2', to: 'db-2' },
    ]);
    expect(schema.layout!['api-2']).toEqual({ x: 360, y: 160 });
    expect(schema.elements.find((e) => e.id === 'api-2')!.env).toEqual(s.elements[0].env);
  });
  it('pasted elements are deep copies', () => {
    const s = shop();
    const clip = copyItems(s, ['api']);
    const { schema } = pasteItems(s, clip);
    schema.elements.at(-1)!.env!.NODE_ENV = 'dev';
    expect(s.elements[0].env!.NODE_ENV).toBe('production');
  });
  it('pasting twice keeps deduplicating', () => {
    const s = shop();
    const clip = copyItems(s, ['db']);
    const one = pasteItems(s, clip).schema;
    const two = pasteItems(one, clip);
    expect(two.ids).toEqual(['db-3']);
  });
});

describe('edits', () => {
  it('setPositions rounds and keeps other layout entries', () => {
    const out = setPositions(shop(), { api: { x: 1.6, y: 2.2 } });
    expect(out.layout!.api).toEqual({ x: 2, y: 2 });
    expect(out.layout!.lb).toEqual({ x: 40, y: 120 });
  });
  it('updateElement and updateConnection change one item', () => {
    const s = shop();
    const a = updateElement(s, 'db', (e) => ({ ...e, version: '8' }));
    expect(a.elements[1].version).toBe('8');
    expect(a.elements[0]).toBe(s.elements[0]);
    const b = updateConnection(s, 1, (c) => ({ ...c, env: 'X_URL' }));
    expect(b.connections![1].env).toBe('X_URL');
    expect(updateConnection(s, 99, (c) => c)).toBe(s);
  });
});

describe('fillLayout', () => {
  it('writes positions for elements without one', () => {
    const s: Schema = { version: 1, project: 'p', elements: [{ id: 'a', kind: 'worker' }, { id: 'b', kind: 'worker' }], layout: { a: { x: 5, y: 6 } } };
    const out = fillLayout(s);
    expect(out.layout).toEqual({ a: { x: 5, y: 6 }, b: defaultPosition(1) });
  });
  it('returns the same schema when nothing is missing', () => {
    const s = shop();
    expect(fillLayout(s)).toBe(s);
  });
});

describe('autoLayout', () => {
  it('lays out left to right along the connections', async () => {
    const pos = await autoLayout(shop());
    expect(Object.keys(pos).sort()).toEqual(['api', 'cache', 'db', 'lb', 'mailer', 'nightly']);
    expect(pos.lb.x).toBeLessThan(pos.api.x);
    expect(pos.api.x).toBeLessThan(pos.db.x);
  });
});
