// Pure helpers for the deploy history and the cluster actions (rollback,
// destroy): ordering and badges of deployments, request bodies, whether an
// action may run, and how its per-region results read.
import type { DestroyBody, Deployment, Health, OpResult, RollbackBody } from '../api';

export const NO_CLUSTER = 'No cluster connected';

// clusterMissing: the server has no Nomad cluster, from /healthz ("not
// configured") or from a 503 no_cluster answer (noCluster). An unreachable
// server or a health not loaded yet does not count: the actions then fail
// with their own error.
export function clusterMissing(health: Health | null, noCluster: boolean): boolean {
  if (noCluster) return true;
  return health !== null && health.status !== 'unreachable' && health.cluster !== undefined && health.cluster !== 'connected';
}

// actionBlocked says why a cluster action on an element cannot run now, or
// undefined when it can: it needs a cluster, and it acts on the saved
// revision's jobs, so the element must be in it.
export function actionBlocked(opts: { clusterMissing: boolean; element?: string; savedIds?: ReadonlySet<string> }): string | undefined {
  if (opts.clusterMissing) return NO_CLUSTER;
  if (opts.element !== undefined && opts.savedIds && !opts.savedIds.has(opts.element)) return `Save first: ${opts.element} is not in the saved revision`;
  return undefined;
}

// deploymentBadge is the badge class of a deployment status: running amber,
// succeeded green, failed red, anything else grey.
export function deploymentBadge(status: string | undefined): string {
  switch (status) {
    case 'running':
      return 'badge-amber';
    case 'succeeded':
      return 'badge-green';
    case 'failed':
      return 'badge-red';
    default:
      return 'badge-grey';
  }
}

function timeOf(d: Deployment): number {
  const t = d.created_at ? Date.parse(d.created_at) : NaN;
  return Number.isNaN(t) ? -Infinity : t;
}

// compareIds orders ids newest first: numerically when both are numbers (or
// numeric strings), else as strings.
function compareIds(a: string | number, b: string | number): number {
  const na = Number(a);
  const nb = Number(b);
  if (a !== '' && b !== '' && Number.isFinite(na) && Number.isFinite(nb)) return nb - na;
  return String(b).localeCompare(String(a));
}

// sortDeployments returns the deployments newest first: by created_at, then
// by id (the store's ids grow), without changing the list given.
export function sortDeployments(list: readonly Deployment[]): Deployment[] {
  return [...list].sort((a, b) => timeOf(b) - timeOf(a) || compareIds(a.id, b.id));
}

// upsertDeployment merges a deployment (from an SSE `deployment` event) into
// a list: it replaces the one with the same id (keeping fields the event
// lacks) or adds it, and the result is sorted newest first.
export function upsertDeployment(list: readonly Deployment[] | null, d: Deployment): Deployment[] {
  const cur = list ?? [];
  const i = cur.findIndex((x) => String(x.id) === String(d.id));
  if (i < 0) return sortDeployments([...cur, d]);
  const next = [...cur];
  next[i] = { ...cur[i], ...d };
  return sortDeployments(next);
}

export type VersionInput = { ok: true; version?: number } | { ok: false; error: string };

// parseVersion reads the rollback version input: empty means the last
// stable version (undefined), else a whole number >= 0.
export function parseVersion(text: string): VersionInput {
  const t = text.trim();
  if (!t) return { ok: true };
  if (!/^\d+$/.test(t)) return { ok: false, error: 'A job version is a whole number (0, 1, 2…); leave empty for the last stable one' };
  const n = Number(t);
  if (!Number.isSafeInteger(n)) return { ok: false, error: 'Version is too large' };
  return { ok: true, version: n };
}

// rollbackBody is the body of POST /projects/{p}/rollback.
export function rollbackBody(element: string, version?: number): RollbackBody {
  return version === undefined ? { element } : { element, version };
}

// destroyBody is the body of POST /projects/{p}/destroy: the whole project
// when element is undefined (no `elements`: the server destroys every job),
// else only that element's jobs.
export function destroyBody(purge: boolean, element?: string): DestroyBody {
  return element === undefined ? { purge } : { elements: [element], purge };
}

// canConfirmDestroy: the project slug was typed to confirm.
export function canConfirmDestroy(typed: string, slug: string): boolean {
  return slug !== '' && typed.trim() === slug;
}

export type OpAction = 'rollback' | 'destroy';

// resultText is how one job's result reads in the results table.
export function resultText(r: OpResult, action: OpAction, purge = false): string {
  if (r.error) return r.error;
  if (action === 'rollback') return r.version !== undefined ? `rolled back to version ${r.version}` : 'rolled back';
  return purge ? 'stopped and purged' : 'stopped';
}

// summarizeResults is the toast after a rollback or a destroy.
export function summarizeResults(results: readonly OpResult[], action: OpAction, target: string): { text: string; kind: 'success' | 'error' | 'info' } {
  const what = `${action === 'rollback' ? 'Rollback' : 'Destroy'} of ${target}`;
  if (results.length === 0) return { text: `${what}: no jobs to act on`, kind: 'info' };
  const failed = results.filter((r) => r.error);
  const n = results.length;
  const jobs = `${n} job${n === 1 ? '' : 's'}`;
  if (failed.length === 0) return { text: `${what}: ${jobs} done`, kind: 'success' };
  const first = failed[0];
  return {
    text: `${what}: ${failed.length} of ${jobs} failed (${first.element}/${first.region}: ${first.error}${failed.length > 1 ? ', …' : ''})`,
    kind: 'error',
  };
}

// savedElementIds reads the element ids of the saved schema (the editor's
// JSON of it).
export function savedElementIds(savedJson: string): Set<string> {
  try {
    const s = JSON.parse(savedJson) as { elements?: { id?: unknown }[] } | null;
    return new Set((s?.elements ?? []).map((e) => e?.id).filter((id): id is string => typeof id === 'string'));
  } catch {
    return new Set();
  }
}
