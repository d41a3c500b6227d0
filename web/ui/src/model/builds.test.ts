import { describe, expect, it } from 'vitest';
import {
  appendLines,
  buildDuration,
  buildingElements,
  buildWho,
  deployBuilds,
  durationText,
  elementBuilds,
  isBuild,
  mergeBuilds,
  newestId,
  nodeLight,
  plannedBuildText,
  sizeText,
  statusBadge,
  upsertBuild,
  type Build,
} from './builds';

const SHA = 'abc1234def5678abc1234def5678abc1234def56';

function build(id: number, element: string, status: string, extra: Partial<Build> = {}): Build {
  return { id, element, sha: SHA, status, ...extra };
}

describe('builds', () => {
  it('keeps builds newest first, an event replacing the build with its ID', () => {
    let l = upsertBuild(null, build(2, 'api', 'building'));
    l = upsertBuild(l, build(5, 'web', 'building'));
    l = upsertBuild(l, build(2, 'api', 'succeeded'));
    expect(l.map((b) => [b.id, b.status])).toEqual([
      [5, 'building'],
      [2, 'succeeded'],
    ]);
    expect(elementBuilds(l, 'api').map((b) => b.id)).toEqual([2]);
    expect(newestId(l)).toBe(5);
    expect(newestId(null)).toBe(0);
  });

  it('a list read before an end event does not bring the build back to building', () => {
    const l = upsertBuild(null, build(3, 'api', 'failed'));
    const merged = mergeBuilds(l, [build(3, 'api', 'building'), build(1, 'api', 'succeeded')]);
    expect(merged.map((b) => [b.id, b.status])).toEqual([
      [3, 'failed'],
      [1, 'succeeded'],
    ]);
  });

  it('lights an element violet while one of its builds runs', () => {
    const l = [build(4, 'api', 'building'), build(3, 'web', 'succeeded'), build(2, 'api', 'failed')];
    expect([...buildingElements(l)]).toEqual(['api']);
    expect(nodeLight('green', true)).toBe('building');
    expect(nodeLight('red', false)).toBe('red');
    expect(statusBadge('building')).toBe('badge-violet');
    expect(statusBadge('failed')).toBe('badge-red');
  });

  it('tells build events from other data', () => {
    expect(isBuild(build(1, 'api', 'building'))).toBe(true);
    expect(isBuild({ id: '1', element: 'api', status: 'building' })).toBe(false);
    expect(isBuild(null)).toBe(false);
  });

  it('prints durations, sizes and who asked', () => {
    expect(durationText(850)).toBe('850ms');
    expect(durationText(42_000)).toBe('42s');
    expect(durationText(185_000)).toBe('3m 05s');
    expect(durationText(3_720_000)).toBe('1h 02m');
    const start = '2026-12-01T10:00:00Z';
    const t0 = Date.parse(start);
    expect(buildDuration(build(1, 'api', 'succeeded', { started_at: start, finished_at: '2026-12-01T10:00:42Z' }), t0 + 99_000)).toBe('42s');
    expect(buildDuration(build(1, 'api', 'building', { started_at: start, finished_at: '0001-01-01T00:00:00Z' }), t0 + 12_000)).toBe('12s…');
    expect(buildDuration(build(1, 'api', 'building'), t0)).toBe('');
    expect(sizeText(0)).toBe('');
    expect(sizeText(512)).toBe('512 B');
    expect(sizeText(3 << 20)).toBe('3 MiB');
    expect(sizeText(1536)).toBe('1.5 KiB');
    expect(buildWho(build(1, 'api', 'building', { actor: 'dana', trigger: 'user' }))).toBe('dana');
    expect(buildWho(build(1, 'api', 'building', { actor: 'bob', trigger: 'webhook' }))).toBe('bob (git push)');
    expect(buildWho(build(1, 'api', 'building', { trigger: 'poll' }))).toBe('git poll');
  });

  it('keeps the newest log lines within the cap', () => {
    let log = { lines: [] as string[], dropped: 0 };
    log = appendLines(log, ['a', 'b'], 3);
    log = appendLines(log, ['c', 'd'], 3);
    expect(log).toEqual({ lines: ['b', 'c', 'd'], dropped: 1 });
    expect(appendLines(log, [], 3)).toBe(log);
  });

  it("finds a deploy's builds: newer than the deploy's start, of its elements, oldest first", () => {
    const l = [build(9, 'web', 'building'), build(8, 'api', 'building'), build(7, 'worker', 'succeeded'), build(5, 'api', 'succeeded')];
    expect(deployBuilds(l, 6, ['api', 'web']).map((b) => b.id)).toEqual([8, 9]);
    expect(deployBuilds(l, 6, []).map((b) => b.id)).toEqual([7, 8, 9]);
    expect(deployBuilds(l, 9, []).length).toBe(0);
  });

  it('says what a plan builds first', () => {
    expect(plannedBuildText({ element: 'api', sha: SHA })).toBe('api at abc1234');
    expect(plannedBuildText({ element: 'api', sha: '' }, 'release')).toBe('api at the head of release');
    expect(plannedBuildText({ element: 'api', sha: '' })).toBe('api at the head of main');
  });
});
