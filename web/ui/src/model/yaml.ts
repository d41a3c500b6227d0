// Schema <-> YAML text. Keys come out in schema order (the Go struct order);
// parse errors are returned, never thrown.
import { Document, YAMLMap, YAMLSeq, isMap, isScalar, isSeq, parseAllDocuments, type Node as YNode } from 'yaml';
import { CONNECTION_KEYS, ELEMENT_KEYS, NESTED_KEYS, SCHEMA_KEYS, type Schema } from './types';

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// orderKeys copies obj with the given keys first, in that order, and any
// other keys after them in their original order. Undefined values are dropped.
export function orderKeys(obj: Obj, keys: readonly string[]): Obj {
  const out: Obj = {};
  for (const k of keys) if (k in obj && obj[k] !== undefined) out[k] = obj[k];
  for (const k of Object.keys(obj)) if (!(k in out) && obj[k] !== undefined) out[k] = obj[k];
  return out;
}

function orderNested(v: unknown, keys: readonly string[] | undefined): unknown {
  if (!isObj(v) || !keys) return v;
  return orderKeys(v, keys);
}

function orderElement(el: unknown): unknown {
  if (!isObj(el)) return el;
  const out = orderKeys(el, ELEMENT_KEYS);
  for (const k of Object.keys(out)) {
    if (NESTED_KEYS[k]) out[k] = orderNested(out[k], NESTED_KEYS[k]);
  }
  return out;
}

function orderConnection(c: unknown): unknown {
  if (!isObj(c)) return c;
  const out = orderKeys(c, CONNECTION_KEYS);
  if (isObj(out.route)) out.route = orderKeys(out.route, NESTED_KEYS.route);
  return out;
}

function orderReceiver(r: unknown): unknown {
  if (!isObj(r)) return r;
  const out = orderKeys(r, NESTED_KEYS.receiver);
  for (const k of ['slack', 'email', 'webhook']) if (isObj(out[k])) out[k] = orderKeys(out[k] as Obj, NESTED_KEYS[k]);
  return out;
}

function mapValues(m: unknown, fn: (v: unknown) => unknown): unknown {
  if (!isObj(m)) return m;
  const out: Obj = {};
  for (const [k, v] of Object.entries(m)) out[k] = fn(v);
  return out;
}

// orderSchema returns the schema with every known object's keys in schema
// order; unknown keys follow the known ones.
export function orderSchema(schema: Schema): Obj {
  const out = orderKeys(schema as Obj, SCHEMA_KEYS);
  if ('regions' in out) out.regions = mapValues(out.regions, (r) => orderNested(r, NESTED_KEYS.region));
  if ('defaults' in out) out.defaults = orderNested(out.defaults, NESTED_KEYS.defaults);
  if ('receivers' in out) out.receivers = mapValues(out.receivers, orderReceiver);
  if (Array.isArray(out.elements)) out.elements = out.elements.map(orderElement);
  if (Array.isArray(out.connections)) out.connections = out.connections.map(orderConnection);
  if ('layout' in out) out.layout = mapValues(out.layout, (p) => orderNested(p, NESTED_KEYS.position));
  return out;
}

// Element fields written in flow style (`{ cpu: 300, memory: 256 }`).
const FLOW_ELEMENT_FIELDS = new Set(['resources', 'scale', 'health', 'placement', 'alerts', 'volume', 'upstream', 'args', 'secrets']);

function setFlow(node: unknown): void {
  if (node instanceof YAMLMap || node instanceof YAMLSeq) node.flow = true;
}

export function schemaToYaml(schema: Schema): string {
  const doc = new Document(orderSchema(schema));
  const root = doc.contents;
  if (isMap(root)) {
    for (const pair of root.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : '';
      const val = pair.value;
      if ((key === 'regions' || key === 'receivers' || key === 'layout') && isMap(val)) {
        for (const p of val.items) setFlow(p.value);
      } else if (key === 'defaults') {
        setFlow(val);
      } else if (key === 'connections' && isSeq(val)) {
        for (const item of val.items) setFlow(item);
      } else if (key === 'elements' && isSeq(val)) {
        for (const item of val.items) {
          if (!isMap(item)) continue;
          for (const p of item.items) {
            const k = isScalar(p.key) ? String(p.key.value) : '';
            if (FLOW_ELEMENT_FIELDS.has(k)) setFlow(p.value);
          }
        }
      }
    }
  }
  return doc.toString({ indent: 2, lineWidth: 0, flowCollectionPadding: true });
}

export interface YamlError {
  message: string;
  line?: number;
  col?: number;
}

export type ParseResult = { ok: true; schema: Schema } | { ok: false; error: YamlError };

// Scalars that must stay strings even when they look like numbers or
// booleans (`version: 7.10` is "7.10", not 7.1).
const ELEMENT_STRING_FIELDS = new Set(['id', 'kind', 'image', 'version', 'command', 'schedule', 'driver']);
const SOURCE_STRING_FIELDS = new Set(['repo', 'branch', 'ref', 'dir', 'build', 'start']);
const HEALTH_STRING_FIELDS = new Set(['http', 'interval', 'timeout', 'min_healthy_time']);

function stringifyScalar(node: unknown): void {
  if (isScalar(node) && node.value !== null && typeof node.value !== 'string' && typeof node.value !== 'object') {
    node.value = typeof node.source === 'string' ? node.source : String(node.value);
  }
}

function keyOf(pair: { key: unknown }): string {
  return isScalar(pair.key) ? String(pair.key.value) : '';
}

function stringifyMapValues(node: unknown, only?: Set<string>): void {
  if (!isMap(node)) return;
  for (const p of node.items) if (!only || only.has(keyOf(p))) stringifyScalar(p.value);
}

function stringifySeqItems(node: unknown): void {
  if (isSeq(node)) for (const item of node.items) stringifyScalar(item);
}

// coerceStrings fixes, on the parsed document, the scalars the schema types
// as strings, keeping their source text.
function coerceStrings(root: YNode | null): void {
  if (!isMap(root)) return;
  for (const pair of root.items) {
    const key = keyOf(pair);
    const val = pair.value;
    if (key === 'project' || key === 'namespace') stringifyScalar(val);
    if (key === 'elements' && isSeq(val)) {
      for (const el of val.items) {
        if (!isMap(el)) continue;
        for (const p of el.items) {
          const k = keyOf(p);
          if (ELEMENT_STRING_FIELDS.has(k)) stringifyScalar(p.value);
          else if (k === 'env' || k === 'params') stringifyMapValues(p.value);
          else if (k === 'args' || k === 'secrets') stringifySeqItems(p.value);
          else if (k === 'source') stringifyMapValues(p.value, SOURCE_STRING_FIELDS);
          else if (k === 'health') stringifyMapValues(p.value, HEALTH_STRING_FIELDS);
          else if (k === 'volume') stringifyMapValues(p.value, new Set(['name']));
          else if (k === 'upstream') stringifyMapValues(p.value, new Set(['policy']));
          else if (k === 'placement' && isMap(p.value)) for (const q of p.value.items) stringifySeqItems(q.value);
          else if (k === 'alerts' && isMap(p.value)) for (const q of p.value.items) stringifySeqItems(q.value);
        }
      }
    }
    if (key === 'connections' && isSeq(val)) {
      for (const c of val.items) {
        stringifyMapValues(c, new Set(['from', 'to', 'env']));
        if (isMap(c)) for (const p of c.items) if (keyOf(p) === 'route') stringifyMapValues(p.value, new Set(['path']));
      }
    }
    if (key === 'regions' && isMap(val)) {
      for (const r of val.items) if (isMap(r.value)) for (const q of r.value.items) if (keyOf(q) === 'datacenters') stringifySeqItems(q.value);
    }
  }
}

// yamlToSchema parses YAML text into a schema. It never throws: a syntax
// error, a second document or a value that is not a schema-shaped mapping is
// returned as an error with its line and column when known.
export function yamlToSchema(text: string): ParseResult {
  try {
    if (text.trim() === '') return { ok: false, error: { message: 'file is empty' } };
    const docs = parseAllDocuments(text, { uniqueKeys: true, prettyErrors: true });
    if (!Array.isArray(docs)) return { ok: false, error: { message: 'file is empty' } };
    if (docs.length === 0) return { ok: false, error: { message: 'file is empty' } };
    const doc = docs[0];
    const err = doc.errors[0];
    if (err) {
      const pos = err.linePos?.[0];
      const message = err.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
      return { ok: false, error: { message, line: pos?.line, col: pos?.col } };
    }
    if (docs.length > 1) {
      const pos = docs[1].errors[0]?.linePos?.[0];
      return { ok: false, error: { message: 'more than one YAML document; expected a single document', line: pos?.line } };
    }
    coerceStrings(doc.contents);
    const js: unknown = doc.toJS({ maxAliasCount: 1000 });
    return checkShape(js);
  } catch (e) {
    return { ok: false, error: { message: e instanceof Error ? e.message : String(e) } };
  }
}

function checkShape(js: unknown): ParseResult {
  if (js === null || js === undefined) return { ok: false, error: { message: 'file is empty' } };
  if (!isObj(js)) return { ok: false, error: { message: 'the schema must be a mapping (version, project, elements, ...)' } };
  const s = js as Schema;
  if (s.elements === undefined || s.elements === null) s.elements = [];
  if (!Array.isArray(s.elements)) return { ok: false, error: { message: 'elements must be a list' } };
  for (const [i, el] of s.elements.entries()) {
    if (!isObj(el)) return { ok: false, error: { message: `elements[${i}] must be a mapping with id and kind` } };
  }
  if (s.connections !== undefined && s.connections !== null) {
    if (!Array.isArray(s.connections)) return { ok: false, error: { message: 'connections must be a list' } };
    for (const [i, c] of s.connections.entries()) {
      if (!isObj(c)) return { ok: false, error: { message: `connections[${i}] must be a mapping with from and to` } };
    }
  } else if (s.connections === null) {
    delete s.connections;
  }
  for (const k of ['regions', 'receivers', 'layout', 'defaults'] as const) {
    const v = s[k];
    if (v === null) delete s[k];
    else if (v !== undefined && !isObj(v)) return { ok: false, error: { message: `${k} must be a mapping` } };
  }
  if (s.layout) {
    for (const [id, p] of Object.entries(s.layout)) {
      if (!isObj(p)) return { ok: false, error: { message: `layout.${id} must be a mapping with x and y` } };
    }
  }
  return { ok: true, schema: s };
}
