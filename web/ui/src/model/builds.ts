// Builds of elements built from source (web/API.md, Builds): serve builds
// each element with a build step once per commit, in a Nomad batch job,
// before a deploy applies. The project's events stream carries a `build`
// event when one starts (status "building") and when it ends; each build's
// log is a stream of its own (`line` events, then one `end`).
import type { Light } from './types';

export type BuildStatus = 'building' | 'succeeded' | 'failed';

// Build is store.Build as the API returns it.
export interface Build {
  id: number;
  project?: string;
  element: string;
  sha: string;
  region?: string;
  job_id?: string;
  status: BuildStatus | string;
  trigger?: string;
  actor?: string;
  started_at?: string;
  finished_at?: string;
  digest?: string;
  size?: number;
  log_tail?: string;
  error?: string;
  pruned?: boolean;
}

// BUILDS_KEPT bounds the builds the editor keeps in memory.
export const BUILDS_KEPT = 200;

// LOG_LINES_KEPT bounds the log lines a build's log view keeps (the
// newest ones).
export const LOG_LINES_KEPT = 5000;

// isBuild tells a build event's data from anything else.
export function isBuild(v: unknown): v is Build {
  if (!v || typeof v !== 'object') return false;
  const b = v as Partial<Build>;
  return typeof b.id === 'number' && typeof b.element === 'string' && typeof b.status === 'string';
}

// upsertBuild puts b in list (replacing the build with its ID), newest
// (highest ID) first, at most BUILDS_KEPT.
export function upsertBuild(list: Build[] | null, b: Build): Build[] {
  const out = (list ?? []).filter((x) => x.id !== b.id);
  out.push(b);
  out.sort((x, y) => y.id - x.id);
  return out.slice(0, BUILDS_KEPT);
}

// mergeBuilds upserts each of more into list; a build list answered by a
// GET never replaces a newer state of the same build from an event (an
// ended build stays ended).
export function mergeBuilds(list: Build[] | null, more: Build[]): Build[] {
  let out = list ?? [];
  for (const b of more) {
    const cur = out.find((x) => x.id === b.id);
    if (cur && cur.status !== 'building' && b.status === 'building') continue;
    out = upsertBuild(out, b);
  }
  return out;
}

// elementBuilds are one element's builds, newest first.
export function elementBuilds(list: Build[] | null, element: string): Build[] {
  return (list ?? []).filter((b) => b.element === element);
}

// buildingElements are the elements with a build running now.
export function buildingElements(list: Build[] | null): Set<string> {
  const out = new Set<string>();
  for (const b of list ?? []) if (b.status === 'building') out.add(b.element);
  return out;
}

// NodeLight is an element's light: its jobs' (types.Light), or "building"
// while a build of it runs, which wins over every other colour (nothing
// new runs until it ends).
export type NodeLight = Light | 'building';

export function nodeLight(light: Light, building: boolean): NodeLight {
  return building ? 'building' : light;
}

// LIGHT_LEGEND says what each light means (the lamp's tooltip).
export const LIGHT_LEGEND: Record<NodeLight, string> = {
  grey: 'not deployed',
  amber: 'deploying',
  green: 'healthy',
  red: 'failed',
  building: 'building',
};

// shortSha is a commit's first 7 characters.
export function shortSha(sha: string | undefined): string {
  return (sha ?? '').slice(0, 7);
}

function parseTime(s: string | undefined): number | undefined {
  if (!s || s.startsWith('0001-')) return undefined;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : t;
}

// durationText prints a duration: 850ms, 42s, 3m 05s, 1h 02m.
export function durationText(ms: number): string {
  if (ms < 0) ms = 0;
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}

// buildDuration is how long a build took, or has run so far (now), with
// "…" while it runs; '' without a start.
export function buildDuration(b: Build, now: number): string {
  const start = parseTime(b.started_at);
  if (start === undefined) return '';
  const running = b.status === 'building';
  const end = running ? now : (parseTime(b.finished_at) ?? now);
  return durationText(end - start) + (running ? '…' : '');
}

// sizeText prints a size in binary units: 512 B, 3.2 MiB.
export function sizeText(n: number | undefined): string {
  if (!n || n <= 0) return '';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  if (i === 0) return `${n} B`;
  return `${v.toFixed(1).replace(/\.0$/, '')} ${units[i]}`;
}

// buildWho says who or what asked for a build: "dana", "dana (git push)",
// "git push", or ''.
export function buildWho(b: Build): string {
  const trigger = b.trigger && b.trigger !== 'user' ? TRIGGER_TEXT[b.trigger] ?? b.trigger : '';
  if (b.actor && trigger) return `${b.actor} (${trigger})`;
  return b.actor || trigger;
}

const TRIGGER_TEXT: Record<string, string> = { webhook: 'git push', poll: 'git poll', redeploy: 'redeploy' };

// statusBadge is the badge class of a build's status.
export function statusBadge(status: string): string {
  switch (status) {
    case 'succeeded':
      return 'badge-green';
    case 'failed':
      return 'badge-red';
    case 'building':
      return 'badge-violet';
  }
  return 'badge-grey';
}

// appendLines adds lines to a log, keeping the newest LOG_LINES_KEPT
// (dropped counts what was cut from the start).
export function appendLines(log: { lines: string[]; dropped: number }, more: string[], cap = LOG_LINES_KEPT): { lines: string[]; dropped: number } {
  if (more.length === 0) return log;
  const lines = [...log.lines, ...more];
  const cut = Math.max(0, lines.length - cap);
  return { lines: cut ? lines.slice(cut) : lines, dropped: log.dropped + cut };
}

// newestId is the highest build ID in list (0 for none): builds with a
// higher ID started after it was read (IDs only grow).
export function newestId(list: Build[] | null): number {
  return (list ?? []).reduce((m, b) => Math.max(m, b.id), 0);
}

// deployBuilds are the builds a deploy started: those newer than after
// (newestId when the deploy began), of the elements it builds (any, when
// elements is empty), oldest first.
export function deployBuilds(list: Build[] | null, after: number, elements: string[]): Build[] {
  return (list ?? []).filter((b) => b.id > after && (elements.length === 0 || elements.includes(b.element))).sort((x, y) => x.id - y.id);
}

// PlannedBuild is an element a deploy builds first (POST /plan's
// `builds`); sha is '' when the deploy pins it to its branch's head.
export interface PlannedBuild {
  element: string;
  sha: string;
}

// plannedBuildText: "api at abc1234", "api at the head of main".
export function plannedBuildText(p: PlannedBuild, branch?: string): string {
  return p.sha ? `${p.element} at ${shortSha(p.sha)}` : `${p.element} at the head of ${branch || 'main'}`;
}
