import { describe, expect, it } from 'vitest';
import type { Deployment, OpResult } from '../api';
import {
  actionBlocked,
  ago,
  canConfirmDestroy,
  clusterMissing,
  deploymentBadge,
  destroyBody,
  NO_CLUSTER,
  parseVersion,
  resultText,
  rollbackBody,
  savedElementIds,
  scaleSummary,
  scalingEventText,
  sortDeployments,
  summarizeResults,
  upsertDeployment,
} from './cluster';
import type { Element, Status } from './types';

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

describe('ago', () => {
  const now = Date.parse('2025-06-01T12:00:00Z');
  it('says how long ago, as the CLI does', () => {
    expect(ago('2025-06-01T11:59:57Z', now)).toBe('just now');
    expect(ago('2025-06-01T11:59:18Z', now)).toBe('42s ago');
    expect(ago('2025-06-01T11:58:00Z', now)).toBe('2m ago');
    expect(ago('2025-06-01T09:00:00Z', now)).toBe('3h ago');
    expect(ago('2025-05-30T13:00:00Z', now)).toBe('47h ago');
    expect(ago('2025-05-29T12:00:00Z', now)).toBe('3d ago');
  });
  it('reads a time ahead of the browser clock (skew) as just now, and nothing as empty', () => {
    expect(ago('2025-06-01T12:00:30Z', now)).toBe('just now');
    expect(ago(undefined, now)).toBe('');
    expect(ago('yesterday', now)).toBe('');
  });
});

describe('scalingEventText', () => {
  const now = Date.parse('2025-06-01T12:00:00Z');
  const time = '2025-06-01T11:57:59.5Z'; // 120.5 s before now (Nomad's times carry fractions)
  it('reads a count change by the autoscaler with its reason', () => {
    expect(scalingEventText({ time, from: 1, to: 3, by: 'autoscaler', message: 'scaling up because factor is 3.000000' }, now)).toBe(
      'scaled 1 → 3 by the autoscaler · 2m ago — scaling up because factor is 3.000000',
    );
  });
  it('names other callers of the scale API', () => {
    expect(scalingEventText({ time, from: 3, to: 2, by: 'scale API' }, now)).toBe('scaled 3 → 2 by the scale API · 2m ago');
  });
  it('reads errors and notes that changed no count', () => {
    expect(scalingEventText({ time, from: 1, by: 'autoscaler', error: true, message: 'failed to query source: nomad-apm' }, now)).toBe(
      'scaling failed by the autoscaler · 2m ago — failed to query source: nomad-apm',
    );
    expect(scalingEventText({ time, from: 2, to: 5, error: true }, now)).toBe('scaling failed · 2m ago');
    expect(scalingEventText({ time: '', from: 2, by: 'autoscaler', message: 'policy is in cooldown' }, now)).toBe('scaling note by the autoscaler — policy is in cooldown');
  });
});

describe('scaleSummary', () => {
  const el = (scale?: Element['scale']): Element => ({ id: 'api', kind: 'app.command', scale });
  const st = (region: string, desired: number, running: number, scaling = true): Status => ({
    element: 'api',
    region,
    state: 'healthy',
    desired,
    running,
    ...(scaling ? { scaling: { min: 1, max: 3, events: [] } } : {}),
  });
  it('is undefined for an element without autoscaling', () => {
    expect(scaleSummary(el(), [{ name: 'global' }])).toBeUndefined();
    expect(scaleSummary(el({ count: 2 }), [{ name: 'global', status: st('global', 2, 2, false) }])).toBeUndefined();
    expect(scaleSummary(el({ count: 2, max: 0 }), [{ name: 'global' }])).toBeUndefined();
  });
  it('shows the live count and bounds of one region', () => {
    expect(scaleSummary(el({ count: 1, min: 1, max: 3 }), [{ name: 'global', status: st('global', 3, 1) }])).toEqual({
      text: '×3 · 1..3',
      title: 'Autoscaled between 1 and 3 instances: now 3 (1 running)',
      live: true,
    });
  });
  it('takes the bounds from the cluster over an edited schema', () => {
    expect(scaleSummary(el({ count: 1, min: 2, max: 9 }), [{ name: 'global', status: st('global', 3, 3) }])?.text).toBe('×3 · 1..3');
  });
  it('falls back to the schema before the element is deployed with autoscaling', () => {
    expect(scaleSummary(el({ count: 2, min: 1, max: 4 }), [{ name: 'global' }])).toEqual({
      text: '×2 · 1..4',
      title: 'Autoscaled between 1 and 4 instances once deployed; starts with 2',
      live: false,
    });
    expect(scaleSummary(el({ max: 4 }), [{ name: 'eu' }, { name: 'us', status: st('us', 1, 1, false) }])?.text).toBe('×1 · 0..4');
  });
  it('shows one count for regions that agree, and each region when they do not', () => {
    const same = scaleSummary(el({ max: 3 }), [
      { name: 'eu', status: st('eu', 2, 2) },
      { name: 'us', status: st('us', 2, 1) },
    ]);
    expect(same?.text).toBe('×2 · 1..3');
    expect(same?.title).toBe('Autoscaled between 1 and 3 instances in each region: eu: 2 (2 running), us: 2 (1 running)');
    const differ = scaleSummary(el({ max: 3 }), [
      { name: 'eu', status: st('eu', 3, 3) },
      { name: 'us', status: st('us', 1, 1) },
      { name: 'ap' },
    ]);
    expect(differ?.text).toBe('eu ×3 · us ×1 · ap ×– · 1..3');
    expect(differ?.title).toBe('Autoscaled between 1 and 3 instances in each region: eu: 3 (3 running), us: 1 (1 running), ap: not running');
  });
});
