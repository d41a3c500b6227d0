// Pure helpers for the deploy history and the cluster actions (rollback,
// destroy): ordering and badges of deployments, request bodies, whether an
// action may run, and how its per-region results read; and how an
// autoscaled element's count, bounds and scaling events read on its node.
import type { DestroyBody, Deployment, Health, OpResult, RollbackBody } from '../api';
import type { Element, ScalingEvent, Status } from './types';

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

// ---- autoscaling ----

// ago is how long before now (ms since the epoch) an RFC 3339 time was, as
// the CLI says it: "just now", "42s ago", "2m ago", "3h ago", "2d ago".
// An unreadable time gives "".
export function ago(time: string | undefined, now: number): string {
  const t = time ? Date.parse(time) : NaN;
  if (Number.isNaN(t)) return '';
  const s = Math.max(0, Math.floor((now - t) / 1000));
  if (s < 10) return 'just now';
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 48 * 3600) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

// scalingEventText is one scaling event as a line of the status card:
// "scaled 1 → 3 by the autoscaler · 2m ago — scaling up because factor is
// 3.0"; "scaling failed …" for an error, "scaling note …" for an event that
// changed no count.
export function scalingEventText(e: ScalingEvent, now: number): string {
  let what = 'scaling note';
  if (e.error) what = 'scaling failed';
  else if (e.to !== undefined && e.to !== null) what = `scaled ${e.from} → ${e.to}`;
  const by = e.by === 'autoscaler' ? ' by the autoscaler' : e.by ? ` by the ${e.by}` : '';
  const when = ago(e.time, now);
  return `${what}${by}${when ? ` · ${when}` : ''}${e.message ? ` — ${e.message}` : ''}`;
}

// ScaleSummary is what an autoscaled element's node shows: text on the
// node ("×3 · 1..3"), title on hover, live when it comes from the
// cluster's status rather than from the schema (not deployed yet).
export interface ScaleSummary {
  text: string;
  title: string;
  live: boolean;
}

// scaleSummary sums up an element's autoscaling for its node, from the
// status of each region it runs in (the `scaling` the server sends for an
// autoscaled job) or, before any region reports it, from the schema's
// scale.min/max (the initial scale.count). Undefined when the element is
// not autoscaled. One region, or every region at the same count:
// "×3 · 1..3"; regions at different counts: "eu ×3 · us ×1 · 1..3" (a
// region not running it reads "–").
export function scaleSummary(el: Element, regions: readonly { name: string; status?: Status }[]): ScaleSummary | undefined {
  const scaled = regions.find((r) => r.status?.scaling);
  if (!scaled) {
    const sc = el.scale;
    if (!sc || !(typeof sc.max === 'number' && sc.max > 0)) return undefined;
    const min = sc.min ?? 0;
    const count = sc.count ?? 1;
    return {
      text: `×${count} · ${min}..${sc.max}`,
      title: `Autoscaled between ${min} and ${sc.max} instances once deployed; starts with ${count}`,
      live: false,
    };
  }
  const { min, max } = scaled.status!.scaling!;
  const bounds = `${min}..${max}`;
  const counts = regions.map((r) => ({
    name: r.name,
    count: r.status?.scaling ? (r.status.desired ?? 0) : undefined,
    running: r.status?.running ?? 0,
  }));
  const same = counts.every((c) => c.count === counts[0].count);
  const text = same ? `×${counts[0].count} · ${bounds}` : `${counts.map((c) => `${c.name} ×${c.count ?? '–'}`).join(' · ')} · ${bounds}`;
  const each = counts.map((c) => (c.count === undefined ? `${c.name}: not running` : `${c.name}: ${c.count} (${c.running} running)`));
  const title =
    regions.length === 1
      ? `Autoscaled between ${min} and ${max} instances: now ${counts[0].count} (${counts[0].running} running)`
      : `Autoscaled between ${min} and ${max} instances in each region: ${each.join(', ')}`;
  return { text, title, live: true };
}
