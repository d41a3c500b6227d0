import { describe, expect, it } from 'vitest';
import { shop } from './fixtures';
import type { Schema } from './types';
import { orderKeys, orderSchema, schemaToYaml, yamlToSchema } from './yaml';
import shopYaml from './testdata/shop.yaml?raw';


function parse(text: string): Schema {
  const r = yamlToSchema(text);
  if (!r.ok) throw new Error(r.error.message);
  return r.schema;
}

describe('yamlToSchema', () => {
  it('parses the example shop schema', () => {
    expect(parse(shopYaml)).toEqual(shop());
  });
  it('keeps version-like scalars as strings', () => {
    const s = parse('version: 1\nproject: p\nelements:\n  - id: r\n    kind: cache.redis\n    version: 7.10\n    env: { N: 3, B: true, Z: null }\n    secrets: [1]\n');
    expect(s.version).toBe(1);
    expect(s.elements[0].version).toBe('7.10');
    expect(s.elements[0].env).toEqual({ N: '3', B: 'true', Z: null });
    expect(s.elements[0].secrets).toEqual(['1']);
  });
  it('keeps numbers that are numbers', () => {
    const s = parse('version: 1\nproject: p\nelements:\n  - { id: a, kind: worker, port: 80, scale: { count: 2 } }\nlayout: { a: { x: 1.5, y: 2 } }\n');
    expect(s.elements[0].port).toBe(80);
    expect(s.elements[0].scale).toEqual({ count: 2 });
    expect(s.layout).toEqual({ a: { x: 1.5, y: 2 } });
  });
  it('reports a syntax error with its line, without throwing', () => {
    const r = yamlToSchema('version: 1\nproject: p\nelements:\n  - id: a\n   kind: [\n');
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.message).toBeTruthy();
      expect(r.error.line).toBeGreaterThanOrEqual(4);
    }
  });
  it('reports duplicate keys', () => {
    const r = yamlToSchema('version: 1\nproject: a\nproject: b\nelements: []\n');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.line).toBe(3);
  });
  it('reports empty input and non-mappings', () => {
    expect(yamlToSchema('')).toMatchObject({ ok: false, error: { message: 'file is empty' } });
    expect(yamlToSchema('# only a comment\n')).toMatchObject({ ok: false });
    expect(yamlToSchema('- a\n- b\n')).toMatchObject({ ok: false });
    expect(yamlToSchema('just a string')).toMatchObject({ ok: false });
  });
  it('reports a second document', () => {
    const r = yamlToSchema('version: 1\nproject: a\nelements: []\n---\nversion: 1\n');
    expect(r).toMatchObject({ ok: false, error: { message: expect.stringMatching(/more than one/) } });
  });
  it('reports badly shaped elements and connections', () => {
    expect(yamlToSchema('version: 1\nproject: a\nelements: {a: 1}\n')).toMatchObject({ ok: false, error: { message: 'elements must be a list' } });
    expect(yamlToSchema('version: 1\nproject: a\nelements: [1]\n')).toMatchObject({ ok: false });
    expect(yamlToSchema('version: 1\nproject: a\nelements: []\nconnections: 3\n')).toMatchObject({ ok: false });
    expect(yamlToSchema('version: 1\nproject: a\nelements: []\nlayout: [1]\n')).toMatchObject({ ok: false });
  });
  it('fills in missing elements', () => {
    expect(parse('version: 1\nproject: a\n').elements).toEqual([]);
  });
  it('survives an alias bomb', () => {
    const bomb = 'a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n';
    const r = yamlToSchema(bomb);
    expect(r.ok).toBe(false);
  });
});

describe('schemaToYaml', () => {
  it('writes top-level keys in schema order', () => {
    const s = shop();
    const shuffled = { layout: s.layout, elements: s.elements, project: s.project, connections: s.connections, version: 1, receivers: s.receivers, mesh: true, defaults: s.defaults, regions: s.regions, namespace: 'default' } as Schema;
    const text = schemaToYaml(shuffled);
    const keys = text.split('\n').filter((l) => /^[a-z]/.test(l)).map((l) => l.split(':')[0]);
    expect(keys).toEqual(['version', 'project', 'namespace', 'mesh', 'regions', 'defaults', 'receivers', 'elements', 'connections', 'layout']);
  });
  it('writes element keys in schema order', () => {
    const text = schemaToYaml({ version: 1, project: 'p', elements: [{ port: 80, kind: 'lb.nginx', id: 'lb', upstream: { policy: 'ip_hash' } }] });
    expect(text).toContain('  - id: lb\n    kind: lb.nginx\n    port: 80\n    upstream: { policy: ip_hash }\n');
  });
  it('round-trips the shop schema', () => {
    const s = shop();
    expect(parse(schemaToYaml(s))).toEqual(s);
  });
  it('round-trips unknown keys after known ones', () => {
    const s = { ...shop(), zeta: { a: 1 } } as Schema;
    s.elements[0].future = 'x';
    const text = schemaToYaml(s);
    expect(parse(text)).toEqual(s);
    expect(text.trimEnd().endsWith('zeta: { a: 1 }') || text.includes('zeta:')).toBe(true);
    expect(text.indexOf('future: x')).toBeGreaterThan(text.indexOf('alerts:'));
  });
  it('quotes strings that look like other types', () => {
    const s: Schema = { version: 1, project: 'p', elements: [{ id: 'd', kind: 'db.mongodb', version: '7', env: { ON: 'true', N: '010' } }] };
    const text = schemaToYaml(s);
    expect(text).toContain('version: "7"');
    expect(parse(text)).toEqual(s);
  });
  it('writes connections and layout in flow style', () => {
    const text = schemaToYaml(shop());
    expect(text).toContain('  - { from: lb, to: api, route: { path: / } }');
    expect(text).toContain('  lb: { x: 40, y: 120 }');
  });
  it('orders nested keys', () => {
    const o = orderSchema({ version: 1, project: 'p', elements: [{ id: 'a', kind: 'k', source: { start: 's', repo: 'r' } }] });
    expect(Object.keys((o.elements as { source: object }[])[0].source)).toEqual(['repo', 'start']);
    expect(Object.keys(orderKeys({ b: 1, z: 2, a: 3, u: undefined }, ['a', 'b']))).toEqual(['a', 'b', 'z']);
  });
});
