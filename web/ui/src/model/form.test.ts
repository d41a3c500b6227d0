import { describe, expect, it } from 'vitest';
import {
  connectionProblems,
  elementToForm,
  fieldSegments,
  fieldTestId,
  fieldType,
  formText,
  formToElement,
  mapToRows,
  normalizeValue,
  parseIntField,
  parseList,
  parseProblemPath,
  problemTarget,
  problemsByInput,
  rowsToMap,
  sameMap,
  setConnectionField,
  setField,
} from './form';
import { shop } from './fixtures';
import type { Element, Problem } from './types';

const api = (): Element => shop().elements[0];

describe('field types and parsing', () => {
  it('knows the field types', () => {
    expect(fieldType('port')).toBe('int');
    expect(fieldType('scale.max')).toBe('int');
    expect(fieldType('source.autodeploy')).toBe('bool');
    expect(fieldType('placement.regions')).toBe('list');
    expect(fieldType('env')).toBe('map');
    expect(fieldType('source.repo')).toBe('string');
  });
  it('parses integers strictly', () => {
    expect(parseIntField('42')).toBe(42);
    expect(parseIntField(' 7 ')).toBe(7);
    expect(parseIntField('-3')).toBe(-3);
    expect(parseIntField('')).toBeUndefined();
    expect(parseIntField('1.5')).toBeUndefined();
    expect(parseIntField('abc')).toBeUndefined();
    expect(parseIntField('12abc')).toBeUndefined();
    expect(parseIntField(9)).toBe(9);
    expect(parseIntField(undefined)).toBeUndefined();
  });
  it('parses lists', () => {
    expect(parseList('a, b,,c\n d ')).toEqual(['a', 'b', 'c', 'd']);
    expect(parseList('')).toEqual([]);
    expect(parseList(' , ')).toEqual([]);
  });
  it('normalizes values, removing empties and zeros', () => {
    expect(normalizeValue('port', '')).toBeUndefined();
    expect(normalizeValue('port', '0')).toBeUndefined();
    expect(normalizeValue('port', '8080')).toBe(8080);
    expect(normalizeValue('image', '   ')).toBeUndefined();
    expect(normalizeValue('image', 'nginx')).toBe('nginx');
    expect(normalizeValue('health.tcp', false)).toBeUndefined();
    expect(normalizeValue('health.tcp', true)).toBe(true);
    expect(normalizeValue('secrets', ['A', ' ', 'B '])).toEqual(['A', 'B']);
    expect(normalizeValue('secrets', [])).toBeUndefined();
    expect(normalizeValue('env', [{ key: '', value: 'x' }])).toBeUndefined();
  });
});

describe('key/value rows', () => {
  it('converts maps to rows and back', () => {
    const m = { NODE_ENV: 'production', LOG_FORMAT: 'json' };
    const rows = mapToRows(m);
    expect(rows).toEqual([
      { key: 'NODE_ENV', value: 'production' },
      { key: 'LOG_FORMAT', value: 'json' },
    ]);
    expect(rowsToMap(rows)).toEqual(m);
  });
  it('drops empty keys, trims keys, last duplicate wins', () => {
    expect(rowsToMap([{ key: ' A ', value: '1' }, { key: '', value: 'x' }, { key: 'A', value: '2' }])).toEqual({ A: '2' });
    expect(rowsToMap([])).toBeUndefined();
    expect(rowsToMap([{ key: '  ', value: 'v' }])).toBeUndefined();
  });
  it('keeps empty values for named keys', () => {
    expect(rowsToMap([{ key: 'EMPTY', value: '' }])).toEqual({ EMPTY: '' });
  });
  it('compares maps', () => {
    expect(sameMap({ a: '1' }, { a: '1' })).toBe(true);
    expect(sameMap({ a: '1' }, { a: '2' })).toBe(false);
    expect(sameMap(undefined, {})).toBe(true);
    expect(sameMap({ a: '1' }, { a: '1', b: '' })).toBe(false);
  });
});

describe('setField', () => {
  it('sets nested fields, creating parents', () => {
    const e = setField<Element>({ id: 'x', kind: 'app.nodejs' }, 'source.repo', 'https://g/x.git');
    expect(e.source).toEqual({ repo: 'https://g/x.git' });
  });
  it('parses numbers', () => {
    const e = setField(api(), 'scale.max', '12');
    expect(e.scale).toEqual({ count: 2, min: 2, max: 12, cpu_target: 70 });
  });
  it('removes a cleared field and prunes the empty parent', () => {
    let e: Element = { id: 'x', kind: 'worker', resources: { cpu: 100 } };
    e = setField(e, 'resources.cpu', '');
    expect('resources' in e).toBe(false);
  });
  it('removes zero numbers', () => {
    const e = setField(api(), 'port', '0');
    expect('port' in e).toBe(false);
  });
  it('removes an empty string', () => {
    const e = setField(api(), 'source.branch', '');
    expect(e.source).toEqual({ repo: 'https://github.com/acme/api.git', autodeploy: true, build: 'npm ci', start: 'npm start' });
  });
  it('does not modify its input', () => {
    const a = api();
    const before = JSON.stringify(a);
    setField(a, 'scale.count', '5');
    setField(a, 'env', [{ key: 'X', value: '1' }]);
    expect(JSON.stringify(a)).toBe(before);
  });
  it('writes env rows as a map and removes an empty env', () => {
    let e = setField(api(), 'env', [{ key: 'A', value: '1' }, { key: '', value: '' }]);
    expect(e.env).toEqual({ A: '1' });
    e = setField(e, 'env', []);
    expect('env' in e).toBe(false);
  });
  it('writes lists from text and arrays', () => {
    let e = setField(api(), 'placement.datacenters', 'eu-west-1, eu-west-2');
    expect(e.placement).toEqual({ regions: ['eu', 'us'], datacenters: ['eu-west-1', 'eu-west-2'] });
    e = setField(e, 'placement.regions', []);
    e = setField(e, 'placement.datacenters', '');
    expect('placement' in e).toBe(false);
  });
  it('booleans: false removes', () => {
    const e = setField(api(), 'source.autodeploy', false);
    expect(e.source!.autodeploy).toBeUndefined();
  });
  it('keeps unknown fields', () => {
    const e = setField({ ...api(), mystery: 1, source: { repo: 'r', extra: 'keep' } }, 'source.repo', 'r2');
    expect(e.mystery).toBe(1);
    expect(e.source).toEqual({ repo: 'r2', extra: 'keep' });
  });
  it('sets the alert conditions: restarts as a number, the rest as durations', () => {
    let e = setField(api(), 'alerts.restarts', '5');
    e = setField(e, 'alerts.restart_window', '15m');
    e = setField(e, 'alerts.down_after', '2m');
    expect(e.alerts).toEqual({ receivers: ['api-team', 'oncall'], restarts: 5, restart_window: '15m', down_after: '2m' });
    expect(problemsByInput([{ path: 'elements[api].alerts.restart_window', message: 'not a duration' }], e)).toEqual({ 'field-alerts.restart_window': ['not a duration'] });
    e = setField(setField(setField(e, 'alerts.restarts', ''), 'alerts.restart_window', ''), 'alerts.down_after', '');
    expect(e.alerts).toEqual({ receivers: ['api-team', 'oncall'] });
  });
  it('formText shows numbers and lists', () => {
    expect(formText(api(), 'scale.max')).toBe('8');
    expect(formText(api(), 'placement.regions')).toBe('eu, us');
    expect(formText(api(), 'volume.name')).toBe('');
  });
});

describe('elementToForm / formToElement', () => {
  it('flattens an element', () => {
    const f = elementToForm(api());
    expect(f['id']).toBe('api');
    expect(f['port']).toBe('3000');
    expect(f['source.autodeploy']).toBe(true);
    expect(f['health.tcp']).toBe(false);
    expect(f['secrets']).toEqual(['STRIPE_KEY']);
    expect(f['env']).toEqual([
      { key: 'NODE_ENV', value: 'production' },
      { key: 'LOG_FORMAT', value: 'json' },
    ]);
    expect(f['volume.name']).toBe('');
  });
  it('round-trips every shop element', () => {
    for (const el of shop().elements) {
      expect(formToElement({ id: el.id, kind: el.kind }, elementToForm(el))).toEqual(el);
    }
  });
  it('writes edited values and keeps unknown fields of base', () => {
    const base = { ...api(), extra: 'x' };
    const f = elementToForm(base);
    f['scale.max'] = '10';
    f['image'] = '';
    f['args'] = ['--a', '', '--b'];
    const out = formToElement(base, f);
    expect(out.scale!.max).toBe(10);
    expect(out.args).toEqual(['--a', '--b']);
    expect(out.extra).toBe('x');
    expect('image' in out).toBe(false);
  });
});

describe('connections', () => {
  it('edits env, weight and route path', () => {
    let c = setConnectionField({ from: 'lb', to: 'api' }, 'weight', '3');
    c = setConnectionField(c, 'route.path', '/api');
    c = setConnectionField(c, 'env', 'API');
    expect(c).toEqual({ from: 'lb', to: 'api', weight: 3, route: { path: '/api' }, env: 'API' });
    c = setConnectionField(c, 'route.path', '');
    c = setConnectionField(c, 'weight', '');
    expect(c).toEqual({ from: 'lb', to: 'api', env: 'API' });
  });
});

describe('problem paths', () => {
  it('parses element paths', () => {
    expect(parseProblemPath('elements[api].scale.max')).toEqual({ scope: 'element', element: 'api', field: 'scale.max' });
    expect(parseProblemPath('elements[api]')).toEqual({ scope: 'element', element: 'api', field: '' });
    expect(parseProblemPath('elements[3].id')).toEqual({ scope: 'element', elementIndex: 3, field: 'id' });
    expect(parseProblemPath('elements["Odd Id"].kind')).toEqual({ scope: 'element', element: 'Odd Id', field: 'kind' });
    expect(parseProblemPath('backplane.yaml: elements[api].port')).toEqual({ scope: 'element', element: 'api', field: 'port' });
  });
  it('parses connection and project paths', () => {
    expect(parseProblemPath('connections[2].env')).toEqual({ scope: 'connection', connection: 2, field: 'env' });
    expect(parseProblemPath('connections[0]')).toEqual({ scope: 'connection', connection: 0, field: '' });
    expect(parseProblemPath('regions.eu.datacenters[0]')).toEqual({ scope: 'project', field: 'regions.eu.datacenters[0]' });
    expect(parseProblemPath('')).toEqual({ scope: 'project', field: '' });
  });
  it('prefers the API element and field', () => {
    const p: Problem = { path: 'elements[api].scale.max', message: 'm', element: 'api', field: 'scale.max' };
    expect(problemTarget(p)).toEqual({ scope: 'element', element: 'api', field: 'scale.max' });
    expect(problemTarget({ path: 'connections[1].to', message: 'm' })).toEqual({ scope: 'connection', connection: 1, field: 'to' });
  });
  it('resolves an element index to its id with a schema', () => {
    expect(problemTarget({ path: 'elements[1].id', message: 'm' }, shop())).toMatchObject({ element: 'db', field: 'id' });
  });
  it('splits field segments', () => {
    expect(fieldSegments('env.FOO')).toEqual(['env', 'FOO']);
    expect(fieldSegments('env["a b"]')).toEqual(['env', 'a b']);
    expect(fieldSegments('secrets[1]')).toEqual(['secrets', 1]);
    expect(fieldSegments('placement.regions[0]')).toEqual(['placement', 'regions', 0]);
    expect(fieldSegments('env.a.b')).toEqual(['env', 'a', 'b']);
  });
  it('maps fields to inspector test ids', () => {
    const el = api();
    expect(fieldTestId('scale.max', el)).toBe('field-scale.max');
    expect(fieldTestId('source.repo', el)).toBe('field-source.repo');
    expect(fieldTestId('env.LOG_FORMAT', el)).toBe('field-env-key-1');
    expect(fieldTestId('env.NODE_ENV', el)).toBe('field-env-key-0');
    expect(fieldTestId('secrets[0]', el)).toBe('field-secrets');
    expect(fieldTestId('args[2]', el)).toBe('field-args-2');
    expect(fieldTestId('placement.regions[1]', el)).toBe('field-placement.regions');
    expect(fieldTestId('alerts.receivers[0]', el)).toBe('field-alerts.receivers');
    expect(fieldTestId('health', el)).toBe('field-health.http');
    expect(fieldTestId('source', el)).toBe('field-source.repo');
    expect(fieldTestId('port', el)).toBe('field-port');
    expect(fieldTestId('id', el)).toBe('field-id');
    expect(fieldTestId('', el)).toBeUndefined();
    expect(fieldTestId('params["odd key"]', { params: { 'odd key': 'v' } })).toBe('field-params-key-0');
  });
  it('groups problems by input', () => {
    const problems: Problem[] = [
      { path: 'elements[api].scale.max', message: 'must be >= min (2)', element: 'api', field: 'scale.max' },
      { path: 'elements[api].env.LOG_FORMAT', message: 'bad', element: 'api', field: 'env.LOG_FORMAT' },
      { path: 'elements[api]', message: 'unknown kind', element: 'api', field: '' },
      { path: 'elements[db].port', message: 'other', element: 'db', field: 'port' },
    ];
    expect(problemsByInput(problems, api())).toEqual({
      'field-scale.max': ['must be >= min (2)'],
      'field-env-key-1': ['bad'],
      '': ['unknown kind'],
    });
  });
  it('groups connection problems', () => {
    const problems: Problem[] = [
      { path: 'connections[1].env', message: 'dup' },
      { path: 'connections[1]', message: 'no kind accepts it' },
      { path: 'connections[0].env', message: 'x' },
    ];
    expect(connectionProblems(problems, 1)).toEqual({ 'field-env': ['dup'], '': ['no kind accepts it'] });
  });
});
