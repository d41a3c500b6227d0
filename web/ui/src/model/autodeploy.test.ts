import { describe, expect, it } from 'vitest';
import type { Deployment } from '../api';
import { commitsByElement, maskSecret, mergeCommits, parseCommitSummary, parsePaths, redeployTarget, triggerOf } from './autodeploy';
import { normalizeValue, setField } from './form';
import type { Element } from './types';

const SHA1 = '1a2b3c4d5e6f708192a3b4c5d6e7f80912345678';
const SHA2 = 'ffeeddccbbaa99887766554433221100ffeeddcc';
const OK = '1 registered, 0 unchanged, 0 removed, 0 failed, 0 conflicts';

function dep(id: number, over: Partial<Deployment>): Deployment {
  return { id, action: 'deploy', status: 'succeeded', created_at: `2026-12-01T07:0${id}:00Z`, ...over };
}

describe('parseCommitSummary', () => {
  it('reads the element, short sha and message', () => {
    expect(parseCommitSummary(`api at 1a2b3c4 (Fix the thing): ${OK}`, SHA1)).toEqual({ element: 'api', short: '1a2b3c4', message: 'Fix the thing' });
    expect(parseCommitSummary(`api at 1a2b3c4 (Fix the thing): ${OK}`)).toEqual({ element: 'api', short: '1a2b3c4', message: 'Fix the thing' });
  });
  it('keeps parentheses and "): " inside the message', () => {
    expect(parseCommitSummary(`web-ui at 1a2b3c4 (fix(ui): a (small) thing): ${OK}`, SHA1)?.message).toBe('fix(ui): a (small) thing');
  });
  it('takes an empty message', () => {
    expect(parseCommitSummary(`api at 1a2b3c4 (): ${OK}`, SHA1)).toEqual({ element: 'api', short: '1a2b3c4', message: '' });
  });
  it('refuses other summaries', () => {
    expect(parseCommitSummary(OK, SHA1)).toBeNull();
    expect(parseCommitSummary('', SHA1)).toBeNull();
    expect(parseCommitSummary(undefined)).toBeNull();
    expect(parseCommitSummary(`api at 9999999 (x): ${OK}`, SHA1)).toBeNull();
    expect(parseCommitSummary(`two words at 1a2b3c4 (x): ${OK}`, SHA1)).toBeNull();
  });
});

describe('commitsByElement', () => {
  it('takes the newest succeeded git deploy of each element', () => {
    const list: Deployment[] = [
      dep(1, { git_sha: SHA2, trigger: 'poll', author: 'poll:poll', summary: `api at ffeeddc (Old): ${OK}` }),
      dep(2, { git_sha: SHA1, trigger: 'webhook', author: 'webhook:alice', summary: `api at 1a2b3c4 (New one): ${OK}` }),
      dep(3, { git_sha: SHA2, trigger: 'webhook', author: 'webhook:bob', status: 'failed', summary: `api at ffeeddc (Broken): boom` }),
      dep(4, { git_sha: SHA2, trigger: 'webhook', author: 'webhook:bob', status: 'running', summary: '' }),
      dep(5, { trigger: 'user', author: 'carol', summary: OK }),
      dep(6, { git_sha: SHA2, trigger: 'user', author: 'user:dave', summary: `worker at ffeeddc (Worker: faster): ${OK}` }),
    ];
    const m = commitsByElement(list);
    expect(Object.keys(m).sort()).toEqual(['api', 'worker']);
    expect(m.api).toMatchObject({ sha: SHA1, short: '1a2b3c4', message: 'New one', author: 'webhook:alice', deployment: '2' });
    expect(m.worker).toMatchObject({ sha: SHA2, short: 'ffeeddc', message: 'Worker: faster', author: 'user:dave' });
  });
  it('is empty without deployments', () => {
    expect(commitsByElement(null)).toEqual({});
    expect(commitsByElement([])).toEqual({});
  });
});

describe('triggerOf and redeployTarget', () => {
  it('reads the trigger, or the author prefix of older events', () => {
    expect(triggerOf({ trigger: 'webhook' })).toBe('webhook');
    expect(triggerOf({ trigger: 'poll' })).toBe('poll');
    expect(triggerOf({ author: 'webhook:alice' })).toBe('webhook');
    expect(triggerOf({ author: 'poll:poll' })).toBe('poll');
    expect(triggerOf({ author: 'alice' })).toBe('user');
    expect(triggerOf({})).toBe('user');
  });
  it('offers a redeploy only for a git deploy naming its element', () => {
    expect(redeployTarget(dep(1, { git_sha: SHA1, summary: `api at 1a2b3c4 (x): ${OK}` }))).toEqual({ element: 'api', sha: SHA1 });
    expect(redeployTarget(dep(1, { git_sha: SHA1, status: 'failed', summary: `api at 1a2b3c4 (x): boom` }))).toEqual({ element: 'api', sha: SHA1 });
    expect(redeployTarget(dep(1, { summary: OK }))).toBeNull();
    expect(redeployTarget(dep(1, { git_sha: '1a2b3c4', summary: `api at 1a2b3c4 (x): ${OK}` }))).toBeNull();
    expect(redeployTarget(dep(1, { git_sha: SHA1, summary: '' }))).toBeNull();
  });
});

describe('parsePaths', () => {
  it('splits on commas and lines and tidies each folder', () => {
    expect(parsePaths('services/api, libs/shared')).toEqual(['services/api', 'libs/shared']);
    expect(parsePaths('services/api\n./libs/shared/\n\n  docs//  \nservices/api')).toEqual(['services/api', 'libs/shared', 'docs']);
    expect(parsePaths('')).toEqual([]);
    expect(parsePaths(' , ./ ,\n')).toEqual([]);
  });
  it('is how the inspector stores source.paths', () => {
    expect(normalizeValue('source.paths', 'a/, ./b\nc')).toEqual(['a', 'b', 'c']);
    expect(normalizeValue('source.paths', '')).toBeUndefined();
    const el: Element = { id: 'api', kind: 'node', source: { repo: 'https://x/y.git', autodeploy: true } };
    expect(setField(el, 'source.paths', 'services/api\nlibs').source).toEqual({ repo: 'https://x/y.git', autodeploy: true, paths: ['services/api', 'libs'] });
    expect(setField({ ...el, source: { ...el.source, paths: ['a'] } }, 'source.paths', '').source).toEqual({ repo: 'https://x/y.git', autodeploy: true });
  });
});

describe('maskSecret', () => {
  it('shows only the last four characters', () => {
    expect(maskSecret('abcdef0123456789')).toBe('••••••••••••6789');
    expect(maskSecret('abc')).toBe('•••');
  });
});

describe('mergeCommits', () => {
  const sha = 'a'.repeat(40);
  const fromDeploys = {
    api: { element: 'api', sha, short: 'aaaaaaa', message: 'Fix', author: 'webhook:pat', deployment: '7' },
    web: { element: 'web', sha: 'c'.repeat(40), short: 'ccccccc', message: 'Old', author: 'bob', deployment: '5' },
  };
  it('takes the stored commit with its author, keeping the deployer of the same commit', () => {
    const m = mergeCommits(fromDeploys, [{ element: 'api', sha, author: 'Ann Author', message: 'Fix the thing\n\nbody' }]);
    expect(m.api).toMatchObject({ sha, by: 'Ann Author', author: 'webhook:pat', message: 'Fix the thing', deployment: '7' });
    expect(m.web).toEqual(fromDeploys.web);
  });
  it('shows a commit pinned by a deploy by hand, which no deployment names', () => {
    const m = mergeCommits({}, [{ element: 'worker', sha: 'b'.repeat(40), author: 'Cy', message: 'Start' }]);
    expect(m.worker).toMatchObject({ short: 'bbbbbbb', by: 'Cy', message: 'Start', author: '' });
  });
  it('prefers the stored commit when the deployments name an older one', () => {
    const m = mergeCommits(fromDeploys, [{ element: 'web', sha: 'd'.repeat(40), author: 'Dee', message: 'New' }]);
    expect(m.web).toMatchObject({ short: 'ddddddd', by: 'Dee', message: 'New', author: '' });
  });
  it('is the deployments view without stored commits', () => {
    expect(mergeCommits(fromDeploys, null)).toEqual(fromDeploys);
  });
});
