import { describe, expect, it } from 'vitest';
import type { Deployment, OpResult } from '../api';
import {
  actionBlocked,
  canConfirmDestroy,
  clusterMissing,
  deploymentBadge,
  destroyBody,
  NO_CLUSTER,
  parseVersion,
  resultText,
  rollbackBody,
  savedElementIds,
  sortDeployments,
  summarizeResults,
  upsertDeployment,
} from './cluster';

const dep = (id: number | string, created_at: string, extra: Partial<Deployment> = {}): Deployment => ({ id, created_at, action: 'deploy', status: 'succeeded', ...extra });

describe('clusterMissing', () => {
  it('follows /healthz and the no_cluster answers', () => {
    expect(clusterMissing(null, false)).toBe(false);
    expect(clusterMissing({ status: 'ok', cluster: 'connected' }, false)).toBe(false);
    expect(clusterMissing({ status: 'ok', cluster: 'not configured' }, false)).toBe(true);
    expect(clusterMissing({ status: 'ok', cluster: 'connected' }, true)).toBe(true);
    expect(clusterMissing(null, true)).toBe(true);
  });
  it('does not blame the cluster when the server is unreachable or says nothing', () => {
    expect(clusterMissing({ status: 'unreachable' }, false)).toBe(false);
    expect(clusterMissing({ status: 'ok' }, false)).toBe(false);
  });
});

describe('actionBlocked', () => {
  const saved = new Set(['api', 'db']);
  it('needs a cluster first', () => {
    expect(actionBlocked({ clusterMissing: true, element: 'api', savedIds: saved })).toBe(NO_CLUSTER);
    expect(actionBlocked({ clusterMissing: true })).toBe('No cluster connected');
  });
  it('needs the element in the saved revision', () => {
    expect(actionBlocked({ clusterMissing: false, element: 'api', savedIds: saved })).toBeUndefined();
    expect(actionBlocked({ clusterMissing: false, element: 'new', savedIds: saved })).toMatch(/^Save first: new/);
    expect(actionBlocked({ clusterMissing: false })).toBeUndefined();
  });
});

describe('deploymentBadge', () => {
  it('colours running amber, succeeded green, failed red', () => {
    expect(deploymentBadge('running')).toBe('badge-amber');
    expect(deploymentBadge('succeeded')).toBe('badge-green');
    expect(deploymentBadge('failed')).toBe('badge-red');
    expect(deploymentBadge(undefined)).toBe('badge-grey');
    expect(deploymentBadge('other')).toBe('badge-grey');
  });
});

describe('sortDeployments', () => {
  it('puts the newest first, ties broken by the larger id', () => {
    const list = [dep(1, '2025-01-01T10:00:00Z'), dep(3, '2025-01-02T10:00:00Z'), dep(2, '2025-01-02T10:00:00Z'), dep(10, '2025-01-02T10:00:00Z')];
    expect(sortDeployments(list).map((d) => d.id)).toEqual([10, 3, 2, 1]);
    expect(list.map((d) => d.id)).toEqual([1, 3, 2, 10]); // unchanged
  });
  it('compares numeric string ids as numbers and puts undated ones last', () => {
    expect(sortDeployments([dep('9', ''), dep('10', ''), dep('2', '2024-05-01T00:00:00Z')]).map((d) => d.id)).toEqual(['2', '10', '9']);
    expect(sortDeployments([dep('a', 'x'), dep('b', 'x')]).map((d) => d.id)).toEqual(['b', 'a']);
  });
});

describe('upsertDeployment', () => {
  it('adds a new deployment on top', () => {
    const list = [dep(1, '2025-01-01T10:00:00Z')];
    expect(upsertDeployment(list, dep(2, '2025-01-01T11:00:00Z', { status: 'running' })).map((d) => [d.id, d.status])).toEqual([
      [2, 'running'],
      [1, 'succeeded'],
    ]);
    expect(upsertDeployment(null, dep(5, '2025-01-01T11:00:00Z')).map((d) => d.id)).toEqual([5]);
  });
  it('updates one with the same id, keeping what the event lacks', () => {
    const list = [dep(2, '2025-01-01T11:00:00Z', { status: 'running', author: 'ann', revision: 4 }), dep(1, '2025-01-01T10:00:00Z')];
    const next = upsertDeployment(list, { id: '2', status: 'failed', summary: 'boom' });
    expect(next).toHaveLength(2);
    expect(next[0]).toMatchObject({ id: '2', status: 'failed', summary: 'boom', author: 'ann', revision: 4 });
    expect(list[0].status).toBe('running'); // unchanged
  });
});

describe('parseVersion', () => {
  it('reads empty as the last stable version', () => {
    expect(parseVersion('')).toEqual({ ok: true });
    expect(parseVersion('   ')).toEqual({ ok: true });
  });
  it('reads whole numbers', () => {
    expect(parseVersion('0')).toEqual({ ok: true, version: 0 });
    expect(parseVersion(' 12 ')).toEqual({ ok: true, version: 12 });
  });
  it('refuses the rest', () => {
    for (const t of ['-1', '1.5', 'v2', '1e3', '99999999999999999999']) expect(parseVersion(t).ok).toBe(false);
  });
});

describe('request bodies', () => {
  it('rollback: element, and a version only when given', () => {
    expect(rollbackBody('api')).toEqual({ element: 'api' });
    expect(JSON.stringify(rollbackBody('api'))).toBe('{"element":"api"}');
    expect(rollbackBody('api', 0)).toEqual({ element: 'api', version: 0 });
    expect(rollbackBody('api', 3)).toEqual({ element: 'api', version: 3 });
  });
  it('destroy: the whole project has no elements, one element names it', () => {
    expect(destroyBody(false)).toEqual({ purge: false });
    expect(JSON.stringify(destroyBody(true))).toBe('{"purge":true}');
    expect(destroyBody(false, 'api')).toEqual({ elements: ['api'], purge: false });
    expect(destroyBody(true, 'api')).toEqual({ elements: ['api'], purge: true });
  });
  it('destroy is confirmed by typing the slug', () => {
    expect(canConfirmDestroy('shop', 'shop')).toBe(true);
    expect(canConfirmDestroy(' shop ', 'shop')).toBe(true);
    expect(canConfirmDestroy('Shop', 'shop')).toBe(false);
    expect(canConfirmDestroy('sho', 'shop')).toBe(false);
    expect(canConfirmDestroy('', '')).toBe(false);
  });
});

describe('results', () => {
  const ok: OpResult = { element: 'api', region: 'eu', job_id: 'shop-api', version: 3 };
  const bad: OpResult = { element: 'api', region: 'us', job_id: 'shop-api', error: 'no earlier stable version' };
  it('reads each job', () => {
    expect(resultText(ok, 'rollback')).toBe('rolled back to version 3');
    expect(resultText({ ...ok, version: undefined }, 'rollback')).toBe('rolled back');
    expect(resultText(bad, 'rollback')).toBe('no earlier stable version');
    expect(resultText(ok, 'destroy')).toBe('stopped');
    expect(resultText(ok, 'destroy', true)).toBe('stopped and purged');
  });
  it('sums them up for a toast', () => {
    expect(summarizeResults([ok], 'rollback', 'api')).toEqual({ text: 'Rollback of api: 1 job done', kind: 'success' });
    expect(summarizeResults([ok, ok], 'destroy', 'shop')).toEqual({ text: 'Destroy of shop: 2 jobs done', kind: 'success' });
    expect(summarizeResults([], 'destroy', 'shop').kind).toBe('info');
    const s = summarizeResults([ok, bad], 'rollback', 'api');
    expect(s.kind).toBe('error');
    expect(s.text).toBe('Rollback of api: 1 of 2 jobs failed (api/us: no earlier stable version)');
    expect(summarizeResults([bad, bad], 'rollback', 'api').text).toMatch(/2 of 2 jobs failed .*, …\)$/);
  });
});

describe('savedElementIds', () => {
  it('reads the ids of the saved schema', () => {
    expect([...savedElementIds(JSON.stringify({ elements: [{ id: 'api' }, { id: 'db' }] }))]).toEqual(['api', 'db']);
    expect(savedElementIds('').size).toBe(0);
    expect(savedElementIds('null').size).toBe(0);
    expect(savedElementIds('{"elements":null}').size).toBe(0);
  });
});
