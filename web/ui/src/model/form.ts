// Inspector form values <-> element fields, and problem paths -> inputs.
//
// Rules: numbers are parsed (an empty or unparsable number removes the
// field), empty strings and zero numbers are removed rather than written, and
// an object left empty by a removal is removed too, so the YAML stays clean.
import type { Connection, Element, Problem, Schema } from './types';

export type FieldType = 'string' | 'bool' | 'int' | 'list' | 'map';

const INT_FIELDS = new Set([
  'port',
  'resources.cpu',
  'resources.memory',
  'resources.memory_max',
  'scale.count',
  'scale.min',
  'scale.max',
  'scale.cpu_target',
  'volume.size_mb',
  'alerts.restarts',
  'weight',
]);
const BOOL_FIELDS = new Set(['source.autodeploy', 'health.tcp', 'mesh']);
const LIST_FIELDS = new Set(['source.paths', 'args', 'secrets', 'placement.regions', 'placement.datacenters', 'alerts.receivers']);
const MAP_FIELDS = new Set(['env', 'params']);

export function fieldType(path: string): FieldType {
  if (INT_FIELDS.has(path)) return 'int';
  if (BOOL_FIELDS.has(path)) return 'bool';
  if (LIST_FIELDS.has(path)) return 'list';
  if (MAP_FIELDS.has(path)) return 'map';
  return 'string';
}

// Every element field path the inspector edits, grouped by the kind field
// (`fields[].name` in the kinds info) that shows it.
export const FIELD_GROUPS: Record<string, string[]> = {
  source: ['source.repo', 'source.branch', 'source.ref', 'source.dir', 'source.autodeploy', 'source.paths', 'source.build', 'source.start'],
  image: ['image'],
  version: ['version'],
  command: ['command'],
  args: ['args'],
  schedule: ['schedule'],
  driver: ['driver'],
  port: ['port'],
  env: ['env'],
  secrets: ['secrets'],
  resources: ['resources.cpu', 'resources.memory', 'resources.memory_max'],
  scale: ['scale.count', 'scale.min', 'scale.max', 'scale.cpu_target'],
  health: ['health.http', 'health.tcp', 'health.interval', 'health.timeout', 'health.min_healthy_time'],
  placement: ['placement.regions', 'placement.datacenters'],
  alerts: ['alerts.receivers', 'alerts.restarts', 'alerts.restart_window', 'alerts.down_after', 'alerts.check_after'],
  volume: ['volume.name', 'volume.size_mb'],
  upstream: ['upstream.policy'],
  params: ['params'],
};

// parseIntField reads a whole number; '', blanks and anything else that is
// not an integer give undefined.
export function parseIntField(s: string | number | undefined | null): number | undefined {
  if (s === undefined || s === null) return undefined;
  if (typeof s === 'number') return Number.isInteger(s) ? s : undefined;
  const t = s.trim();
  if (!/^[-+]?\d+$/.test(t)) return undefined;
  const n = Number(t);
  return Number.isSafeInteger(n) ? n : undefined;
}

// parseList splits a comma- or newline-separated list, trimmed, empties out.
export function parseList(text: string): string[] {
  return text
    .split(/[,\n]/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

// parsePaths reads the source's monorepo folders: comma- or line-separated,
// trimmed, "./" and trailing slashes dropped, duplicates out.
export function parsePaths(text: string): string[] {
  const out: string[] = [];
  for (let p of parseList(text)) {
    while (p.startsWith('./')) p = p.slice(2);
    p = p.replace(/\/+$/, '');
    if (p && !out.includes(p)) out.push(p);
  }
  return out;
}

export function formatList(list: readonly string[] | undefined, sep = ', '): string {
  return (list ?? []).join(sep);
}

export interface KV {
  key: string;
  value: string;
}

export function mapToRows(m: Record<string, string> | undefined): KV[] {
  return Object.entries(m ?? {}).map(([key, value]) => ({ key, value: value == null ? '' : String(value) }));
}

// rowsToMap turns key/value rows into a map; rows with an empty key are
// dropped and a repeated key keeps its last value. Undefined when empty.
export function rowsToMap(rows: readonly KV[]): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  let n = 0;
  for (const r of rows) {
    const k = r.key.trim();
    if (!k) continue;
    if (!(k in out)) n++;
    out[k] = r.value;
  }
  return n > 0 ? out : undefined;
}

export function sameMap(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  const ea = Object.entries(a ?? {});
  const eb = Object.entries(b ?? {});
  if (ea.length !== eb.length) return false;
  return ea.every(([k, v]) => (b ?? {})[k] === v);
}

function isEmptyObject(v: unknown): boolean {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0;
}

// normalize turns a raw input value into the stored one, or undefined when
// the field is to be removed.
export function normalizeValue(path: string, raw: unknown, type: FieldType = fieldType(path)): unknown {
  switch (type) {
    case 'int': {
      const n = typeof raw === 'number' ? (Number.isInteger(raw) ? raw : undefined) : parseIntField(raw as string);
      return n === 0 ? undefined : n;
    }
    case 'bool':
      return raw === true || raw === 'true' ? true : undefined;
    case 'list': {
      if (path === 'source.paths') {
        const paths = parsePaths(Array.isArray(raw) ? raw.map(String).join('\n') : String(raw ?? ''));
        return paths.length > 0 ? paths : undefined;
      }
      const list = Array.isArray(raw) ? raw.map((s) => String(s).trim()).filter((s) => s !== '') : parseList(String(raw ?? ''));
      return list.length > 0 ? list : undefined;
    }
    case 'map': {
      if (Array.isArray(raw)) return rowsToMap(raw as KV[]);
      if (raw && typeof raw === 'object') return Object.keys(raw).length > 0 ? raw : undefined;
      return undefined;
    }
    default: {
      if (raw === undefined || raw === null) return undefined;
      const s = String(raw);
      return s.trim() === '' ? undefined : s;
    }
  }
}

// getField reads a dotted path.
export function getField(obj: object, path: string): unknown {
  let cur: unknown = obj;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

// setField returns a copy of obj with the field at path set from a raw input
// value (see normalizeValue), or removed, pruning parents left empty.
export function setField<T extends object>(obj: T, path: string, raw: unknown, type: FieldType = fieldType(path)): T {
  const value = normalizeValue(path, raw, type);
  return setPath(obj, path.split('.'), value) as T;
}

function setPath(obj: object, parts: string[], value: unknown): object {
  const [head, ...rest] = parts;
  const out: Record<string, unknown> = { ...(obj as Record<string, unknown>) };
  if (rest.length === 0) {
    if (value === undefined) delete out[head];
    else out[head] = value;
    return out;
  }
  const child = out[head];
  const base = child && typeof child === 'object' && !Array.isArray(child) ? child : {};
  const next = setPath(base, rest, value);
  if (isEmptyObject(next)) delete out[head];
  else out[head] = next;
  return out;
}

// formText is the text an input shows for a field.
export function formText(obj: object, path: string): string {
  const v = getField(obj, path);
  if (v === undefined || v === null) return '';
  if (Array.isArray(v)) return formatList(v.map(String));
  return String(v);
}

export type FormValue = string | boolean | string[] | KV[];
export type FormValues = Record<string, FormValue>;

// elementToForm flattens an element into form values: text for strings and
// numbers, booleans, string lists and key/value rows.
export function elementToForm(el: Element): FormValues {
  const out: FormValues = { id: el.id, kind: el.kind };
  for (const paths of Object.values(FIELD_GROUPS)) {
    for (const p of paths) {
      const t = fieldType(p);
      const v = getField(el, p);
      if (t === 'bool') out[p] = v === true;
      else if (t === 'list') out[p] = Array.isArray(v) ? v.map(String) : [];
      else if (t === 'map') out[p] = mapToRows(v as Record<string, string> | undefined);
      else out[p] = v === undefined || v === null ? '' : String(v);
    }
  }
  return out;
}

// formToElement writes form values over base (whose other fields are kept).
export function formToElement(base: Element, values: FormValues): Element {
  let el: Element = { ...base };
  for (const [p, v] of Object.entries(values)) {
    if (p === 'id' || p === 'kind') {
      if (typeof v === 'string' && v.trim() !== '') el = { ...el, [p]: v.trim() };
      continue;
    }
    el = setField(el, p, v);
  }
  return el;
}

// ---- connections ----

export const CONNECTION_FIELDS = ['env', 'weight', 'route.path'] as const;

export function connectionFieldType(path: string): FieldType {
  return path === 'weight' ? 'int' : 'string';
}

export function setConnectionField(c: Connection, path: string, raw: unknown): Connection {
  const out = setField(c, path, raw, connectionFieldType(path));
  return { ...out, from: c.from, to: c.to };
}

// ---- problems ----

export interface ProblemTarget {
  scope: 'element' | 'connection' | 'project';
  element?: string;
  elementIndex?: number;
  connection?: number;
  field: string;
}

function readKey(path: string, i: number): { key: string; end: number } | undefined {
  // path[i] === '['
  if (path[i + 1] === '"') {
    let j = i + 2;
    while (j < path.length) {
      if (path[j] === '\\') {
        j += 2;
        continue;
      }
      if (path[j] === '"') break;
      j++;
    }
    if (path[j + 1] !== ']') return undefined;
    try {
      return { key: JSON.parse(path.slice(i + 1, j + 1)) as string, end: j + 2 };
    } catch {
      return undefined;
    }
  }
  const close = path.indexOf(']', i);
  if (close < 0) return undefined;
  return { key: path.slice(i + 1, close), end: close + 1 };
}

function stripFile(path: string): string {
  // "backplane.yaml: elements[api].x" -> "elements[api].x"
  const m = /^[^\s[\]]+\.ya?ml:\s*/.exec(path);
  return m ? path.slice(m[0].length) : path;
}

// parseProblemPath splits a schema path such as `elements[api].scale.max`,
// `connections[2].env` or `regions.eu.datacenters[0]`.
export function parseProblemPath(raw: string): ProblemTarget {
  const path = stripFile(raw.trim());
  for (const [prefix, scope] of [
    ['elements[', 'element'],
    ['connections[', 'connection'],
  ] as const) {
    if (path.startsWith(prefix)) {
      const k = readKey(path, prefix.length - 1);
      if (!k) break;
      const field = path.slice(k.end).replace(/^\./, '');
      if (scope === 'connection') {
        const n = Number(k.key);
        return Number.isInteger(n) ? { scope, connection: n, field } : { scope: 'project', field: path };
      }
      if (/^\d+$/.test(k.key)) return { scope, elementIndex: Number(k.key), field };
      return { scope, element: k.key, field };
    }
  }
  return { scope: 'project', field: path };
}

// problemTarget says where a problem points: the API's element/field when
// set, else the parsed path. With a schema, an element index becomes its id.
export function problemTarget(p: Problem, schema?: Schema): ProblemTarget {
  let t: ProblemTarget;
  if (p.element) {
    t = { scope: 'element', element: p.element, field: p.field ?? '' };
    if (/^\d+$/.test(p.element) && schema && !schema.elements.some((e) => e.id === p.element)) {
      t = { scope: 'element', elementIndex: Number(p.element), field: p.field ?? '' };
    }
  } else {
    t = parseProblemPath(p.path ?? '');
  }
  if (t.scope === 'element' && t.element === undefined && t.elementIndex !== undefined && schema) {
    const el = schema.elements[t.elementIndex];
    if (el) t = { ...t, element: el.id };
  }
  return t;
}

// Where a problem about a whole object points the user.
const SECTION_INPUT: Record<string, string> = {
  source: 'source.repo',
  resources: 'resources.cpu',
  scale: 'scale.count',
  health: 'health.http',
  placement: 'placement.regions',
  alerts: 'alerts.receivers',
  volume: 'volume.name',
  upstream: 'upstream.policy',
  route: 'route.path',
};

// fieldKey splits a field path into its segments: `env.FOO` -> ['env','FOO'],
// `env["a b"]` -> ['env','a b'], `secrets[1]` -> ['secrets', 1].
export function fieldSegments(field: string): (string | number)[] {
  const out: (string | number)[] = [];
  let i = 0;
  let cur = '';
  while (i < field.length) {
    const ch = field[i];
    if (ch === '.') {
      if (cur) out.push(cur);
      cur = '';
      i++;
    } else if (ch === '[') {
      if (cur) out.push(cur);
      cur = '';
      const k = readKey(field, i);
      if (!k) {
        cur = field.slice(i);
        break;
      }
      out.push(/^\d+$/.test(k.key) && field[i + 1] !== '"' ? Number(k.key) : k.key);
      i = k.end;
    } else {
      cur += ch;
      i++;
    }
  }
  if (cur) out.push(cur);
  return out;
}

// fieldTestId maps a problem's field to the data-testid of the inspector
// input that edits it: `scale.max` -> `field-scale.max`, `env.FOO` ->
// `field-env-key-<row>`, `secrets[1]` -> `field-secrets`, `args[2]` ->
// `field-args-2`. Undefined for a problem about the element as a whole.
export function fieldTestId(field: string, el?: { env?: Record<string, string>; params?: Record<string, string> }): string | undefined {
  if (!field) return undefined;
  const seg = fieldSegments(field);
  const [head, second] = seg;
  if (typeof head !== 'string') return undefined;
  if (head === 'env' || head === 'params') {
    if (second === undefined) return `field-${head}-key-0`;
    const keys = Object.keys((el?.[head] as Record<string, string> | undefined) ?? {});
    const i = keys.indexOf(String(second));
    return `field-${head}-key-${i >= 0 ? i : 0}`;
  }
  if (head === 'args') return typeof second === 'number' ? `field-args-${second}` : 'field-args-0';
  if (head === 'secrets') return 'field-secrets';
  if (seg.length === 1) return `field-${SECTION_INPUT[head] ?? head}`;
  if (typeof second === 'string') return `field-${head}.${second}`;
  return `field-${head}`;
}

// problemsByInput groups an element's problems by the input they belong to;
// problems about the whole element are under ''.
export function problemsByInput(problems: readonly Problem[], el: Element, schema?: Schema): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const p of problems) {
    const t = problemTarget(p, schema);
    if (t.scope !== 'element' || t.element !== el.id) continue;
    const id = fieldTestId(t.field, el) ?? '';
    (out[id] ??= []).push(p.message);
  }
  return out;
}

// connectionProblems groups one connection's problems by input.
export function connectionProblems(problems: readonly Problem[], index: number): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const p of problems) {
    const t = parseProblemPath(p.path ?? '');
    if (t.scope !== 'connection' || t.connection !== index) continue;
    const id = connectionFieldTestId(t.field) ?? '';
    (out[id] ??= []).push(p.message);
  }
  return out;
}

// connectionFieldTestId maps a connection problem's field to its input in
// the edge inspector: `env` -> `field-env`, `route` -> `field-route.path`.
export function connectionFieldTestId(field: string): string | undefined {
  if (!field) return undefined;
  const [head] = fieldSegments(field);
  if (head === 'route') return 'field-route.path';
  if (typeof head === 'string') return `field-${head}`;
  return undefined;
}
