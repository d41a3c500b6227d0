// Deploys from git as the editor shows them: which commit each element
// runs (from the deployments), a deployment's trigger, and the source's
// monorepo paths. Pure: no React, no fetch.
import type { Deployment } from '../api';
import { sortDeployments } from './cluster';

export { parsePaths } from './form';

export type Trigger = 'user' | 'webhook' | 'poll';

// ElementCommit is the commit an element runs, as its newest succeeded
// git deploy recorded it.
export interface ElementCommit {
  element: string;
  sha: string;
  short: string;
  // message: the first line of the commit's message ('' when unknown).
  message: string;
  // author: who or what deployed it ("webhook:alice", "poll:poll", "bob").
  author: string;
  // by: the commit's author, as the push or git recorded it ('' when unknown).
  by?: string;
  deployment: string;
  at?: string;
}

// parseCommitSummary reads the leading "<element> at <sha7> (<message>): "
// of a git deploy's summary. The message is up to the last "): " (a
// succeeded deploy's tail, "1 registered, 0 unchanged, …", has none);
// with the sha given, the element is what precedes " at <sha7> (".
export function parseCommitSummary(summary: string | undefined, sha?: string): { element: string; short: string; message: string } | null {
  if (!summary) return null;
  let element: string;
  let short: string;
  let rest: string;
  if (sha) {
    short = sha.slice(0, 7).toLowerCase();
    const marker = ` at ${short} (`;
    const i = summary.indexOf(marker);
    if (i <= 0) return null;
    element = summary.slice(0, i);
    rest = summary.slice(i + marker.length);
  } else {
    const m = /^(\S+) at ([0-9a-f]{7,64}) \(/.exec(summary);
    if (!m) return null;
    element = m[1];
    short = m[2];
    rest = summary.slice(m[0].length);
  }
  if (/\s/.test(element)) return null;
  const end = rest.lastIndexOf('): ');
  const message = end >= 0 ? rest.slice(0, end) : rest.endsWith(')') ? rest.slice(0, -1) : rest;
  return { element, short, message: message.split('\n')[0] };
}

// commitsByElement maps each element to the commit it runs: the newest
// succeeded deployment with a git_sha whose summary names the element.
export function commitsByElement(list: readonly Deployment[] | null | undefined): Record<string, ElementCommit> {
  const out: Record<string, ElementCommit> = {};
  for (const d of sortDeployments(list ?? [])) {
    if (d.status !== 'succeeded' || !d.git_sha) continue;
    const p = parseCommitSummary(d.summary, d.git_sha);
    if (!p || out[p.element]) continue;
    out[p.element] = {
      element: p.element,
      sha: d.git_sha,
      short: d.git_sha.slice(0, 7),
      message: p.message,
      author: d.author ?? '',
      deployment: String(d.id),
      at: d.created_at,
    };
  }
  return out;
}

// StoredCommit is an element's commit as the server records it
// (GET /projects/{p}/commits): what the element runs now, pinned by its
// first deploy or moved by deploys from git.
export interface StoredCommit {
  element: string;
  sha: string;
  author: string;
  message: string;
  updated_at?: string;
}

// mergeCommits gives each element the commit the server records (with the
// commit's author), keeping who deployed it from the deployments when they
// name the same commit; elements the server has no commit for keep the
// deployments' view.
export function mergeCommits(
  fromDeploys: Record<string, ElementCommit>,
  stored: readonly StoredCommit[] | null | undefined,
): Record<string, ElementCommit> {
  const out: Record<string, ElementCommit> = { ...fromDeploys };
  for (const c of stored ?? []) {
    if (!c.sha) continue;
    const d = fromDeploys[c.element];
    const same = d && d.sha === c.sha;
    out[c.element] = {
      element: c.element,
      sha: c.sha,
      short: c.sha.slice(0, 7),
      message: (c.message || (same ? d.message : '')).split('\n')[0],
      author: same ? d.author : '',
      by: c.author,
      deployment: same ? d.deployment : '',
      at: c.updated_at ?? (same ? d.at : undefined),
    };
  }
  return out;
}

// triggerOf is a deployment's trigger: its own field, or its author's
// "webhook:" / "poll:" prefix, else the user.
export function triggerOf(d: Pick<Deployment, 'trigger' | 'author'>): Trigger {
  if (d.trigger === 'webhook' || d.trigger === 'poll' || d.trigger === 'user') return d.trigger;
  if (d.author?.startsWith('webhook:')) return 'webhook';
  if (d.author?.startsWith('poll:')) return 'poll';
  return 'user';
}

export const TRIGGER_LABEL: Record<Trigger, string> = { user: 'by hand', webhook: 'webhook', poll: 'poll' };

// redeployTarget is what "Redeploy this commit" sends for a git deploy
// ({element, sha}), or null when the deployment is not one (no commit or
// no element in its summary).
export function redeployTarget(d: Deployment): { element: string; sha: string } | null {
  if (!d.git_sha || !/^[0-9a-f]{40}([0-9a-f]{24})?$/i.test(d.git_sha)) return null;
  const p = parseCommitSummary(d.summary, d.git_sha);
  return p ? { element: p.element, sha: d.git_sha } : null;
}

// maskSecret hides all of a secret but its last four characters.
export function maskSecret(s: string): string {
  if (s.length <= 4) return '•'.repeat(s.length);
  return '•'.repeat(Math.min(s.length - 4, 20)) + s.slice(-4);
}
