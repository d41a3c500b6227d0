import { describe, expect, it } from 'vitest';
import { parseRoute } from '../router';
import { KINDS, shop } from './fixtures';
import { combineLights, elementRegions, kindMap, stateLight } from './types';
import { exportedEnv, groupKinds, pickFiles, sentence, slugError } from './util';

describe('slugError', () => {
  it('accepts DNS labels', () => {
    for (const s of ['shop', 'a', 'my-shop-2', 'a'.repeat(63)]) expect(slugError(s)).toBeUndefined();
  });
  it('refuses the rest', () => {
    for (const s of ['', 'Shop', '2shop', 'shop-', 'my_shop', 'a b', 'a'.repeat(64), '-x']) expect(slugError(s)).toBeDefined();
  });
});

describe('lights', () => {
  it('maps states to colours per API.md', () => {
    expect(stateLight('pending')).toBe('grey');
    expect(stateLight('stopped')).toBe('grey');
    expect(stateLight('unknown')).toBe('grey');
    expect(stateLight(undefined)).toBe('grey');
    expect(stateLight('deploying')).toBe('amber');
    expect(stateLight('running')).toBe('amber');
    expect(stateLight('degraded')).toBe('amber');
    expect(stateLight('healthy')).toBe('green');
    expect(stateLight('failed')).toBe('red');
  });
  it('combines regions: red wins, green only when all green', () => {
    expect(combineLights([])).toBe('grey');
    expect(combineLights(['green', 'green'])).toBe('green');
    expect(combineLights(['green', 'red', 'amber'])).toBe('red');
    expect(combineLights(['green', 'amber'])).toBe('amber');
    expect(combineLights(['green', 'grey'])).toBe('amber');
    expect(combineLights(['grey', 'grey'])).toBe('grey');
  });
});

describe('elementRegions', () => {
  const s = shop();
  it('uses placement, sorted', () => {
    expect(elementRegions(s, { id: 'x', kind: 'k', placement: { regions: ['us', 'eu'] } })).toEqual(['eu', 'us']);
  });
  it('falls back to the default region, a single region, then global', () => {
    expect(elementRegions(s, { id: 'x', kind: 'k' })).toEqual(['eu']);
    expect(elementRegions({ ...s, defaults: {} , regions: { ap: {} } }, { id: 'x', kind: 'k' })).toEqual(['ap']);
    expect(elementRegions({ ...s, defaults: {} }, { id: 'x', kind: 'k' })).toEqual(['global']);
  });
});

describe('groupKinds', () => {
  it('groups by category in palette order', () => {
    const g = groupKinds(KINDS, '');
    expect(g.map(([c]) => c)).toEqual(['app', 'database', 'cache', 'queue', 'network', 'worker']);
    expect(g[0][1].map((k) => k.name)).toContain('app.nodejs');
  });
  it('filters by name, label or description', () => {
    expect(groupKinds(KINDS, 'postgres').flatMap(([, ks]) => ks.map((k) => k.name))).toEqual(['db.postgres']);
    expect(groupKinds(KINDS, 'MONGO').flatMap(([, ks]) => ks.map((k) => k.name))).toEqual(['db.mongodb']);
    expect(groupKinds(KINDS, 'zzz')).toEqual([]);
  });
  it('puts unknown categories (user kinds) last', () => {
    const user = { ...KINDS[0], name: 'acme.thing', category: 'acme', user: true };
    const g = groupKinds([user, ...KINDS], '');
    expect(g.at(-1)![0]).toBe('acme');
  });
});

describe('pickFiles', () => {
  const files = {
    'eu/shop-api.nomad.hcl': 'hcl eu',
    'us/shop-api.nomad.hcl': 'hcl us',
    'eu/shop-api.nomad.json': 'json eu',
    'eu/shop-api-2.nomad.hcl': 'other',
    'vault/shop-api.policy.hcl': 'policy',
    'alertmanager.yml': 'routes',
  };
  it('picks the element files per region', () => {
    const p = pickFiles(files, 'shop', 'api');
    expect(p.hcl).toEqual({ eu: 'hcl eu', us: 'hcl us' });
    expect(p.json).toEqual({ eu: 'json eu' });
    expect(p.vault).toBe('policy');
    expect(p.alert).toBe('routes');
  });
  it('handles a missing policy', () => {
    expect(pickFiles(files, 'shop', 'db').vault).toBeUndefined();
  });
});

describe('exportedEnv', () => {
  const k = kindMap(KINDS);
  it('uses the kind export, with {ID} replaced', () => {
    expect(exportedEnv({ id: 'db', kind: 'db.postgres' }, k['db.postgres'])).toBe('DATABASE_URL');
    expect(exportedEnv({ id: 'my-api', kind: 'app.nodejs' }, k['app.nodejs'])).toBe('MY_API_URL');
    expect(exportedEnv({ id: 'x', kind: '?' })).toBe('X_URL');
  });
});

describe('parseRoute', () => {
  it('reads history and hash routes', () => {
    expect(parseRoute('/')).toEqual({ page: 'projects' });
    expect(parseRoute('/p/shop')).toEqual({ page: 'editor', slug: 'shop' });
    expect(parseRoute('/p/shop/')).toEqual({ page: 'editor', slug: 'shop' });
    expect(parseRoute('/', '#/p/demo')).toEqual({ page: 'editor', slug: 'demo' });
    expect(parseRoute('/nope')).toEqual({ page: 'projects' });
  });
});

describe('sentence', () => {
  it('capitalizes a server message to show it alone', () => {
    expect(sentence('wrong name or password')).toBe('Wrong name or password');
    expect(sentence('')).toBe('');
  });
});
