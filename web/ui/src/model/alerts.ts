// Alerts and silences as the editor shows them (web/API.md, Alerts): the
// firing alerts per element (the badge on its node), the Alerts panel's
// groups and silences, and the silence form's checks. Pure: no React, no
// fetch.
import { ago } from './cluster';

// Alert is one alert of the project, as GET /projects/{p}/alerts and the
// `alert` events of the project's stream carry it. state is "active"
// (firing and notifying) or "suppressed" (a silence holds it: silenced_by
// names the silences).
export interface Alert {
  fingerprint: string;
  alertname: string;
  element: string;
  region?: string;
  severity?: string;
  summary?: string;
  description?: string;
  editor_url?: string;
  starts_at?: string;
  state: string;
  silenced_by?: string[] | null;
}

// Silence is one of the project's silences (GET /projects/{p}/silences):
// it mutes the alerts of one element between starts_at and ends_at.
export interface Silence {
  id: string;
  element: string;
  comment: string;
  created_by: string;
  starts_at?: string;
  ends_at?: string;
  state: string; // active | pending | expired
}

// NewSilence is the body of POST /projects/{p}/silences.
export interface NewSilence {
  element: string;
  duration: string;
  comment: string;
}

// NO_ALERTMANAGER is what the editor says when the server runs without
// Alertmanager (a 503 no_alertmanager answer).
export const NO_ALERTMANAGER = 'Alerts are off: this server has no Alertmanager (BACKPLANE_ALERTMANAGER_URL)';

// firing reports whether an alert is firing and not held by a silence:
// the ones the badge counts.
export function firing(a: Alert): boolean {
  return a.state === 'active' && !(a.silenced_by && a.silenced_by.length > 0);
}

// AlertBadge is what an element's node shows: how many of its alerts
// fire, and their names (the badge's tooltip).
export interface AlertBadge {
  count: number;
  title: string;
}

// alertBadges counts each element's firing alerts (suppressed ones do not
// count); an element with none has no entry. The title lists the
// alertnames, each once, with how many when more than one fires
// ("RestartLoop ×2 (eu, us), ElementDown (eu)").
export function alertBadges(alerts: readonly Alert[] | null | undefined): Record<string, AlertBadge> {
  const by: Record<string, Map<string, string[]>> = {};
  for (const a of alerts ?? []) {
    if (!a.element || !firing(a)) continue;
    const names = (by[a.element] ??= new Map());
    const regions = names.get(a.alertname) ?? [];
    regions.push(a.region ?? '');
    names.set(a.alertname, regions);
  }
  const out: Record<string, AlertBadge> = {};
  for (const [el, names] of Object.entries(by)) {
    let count = 0;
    const parts: string[] = [];
    for (const [name, regions] of [...names.entries()].sort((x, y) => x[0].localeCompare(y[0]))) {
      count += regions.length;
      const rs = [...new Set(regions.filter((r) => r))].sort();
      parts.push(`${name || 'alert'}${regions.length > 1 ? ` ×${regions.length}` : ''}${rs.length ? ` (${rs.join(', ')})` : ''}`);
    }
    out[el] = { count, title: `${count} firing alert${count === 1 ? '' : 's'}: ${parts.join(', ')}` };
  }
  return out;
}

// SEVERITY_ORDER ranks severities, the most urgent first; others after.
const SEVERITY_ORDER = ['critical', 'error', 'warning', 'info'];

function severityRank(s: string | undefined): number {
  const i = SEVERITY_ORDER.indexOf((s ?? '').toLowerCase());
  return i < 0 ? SEVERITY_ORDER.length : i;
}

// severityBadge is the badge class of a severity: critical and error red,
// warning amber, anything else grey.
export function severityBadge(s: string | undefined): string {
  switch ((s ?? '').toLowerCase()) {
    case 'critical':
    case 'error':
      return 'badge-red';
    case 'warning':
      return 'badge-amber';
    default:
      return 'badge-grey';
  }
}

function startTime(a: Alert): number {
  const t = a.starts_at ? Date.parse(a.starts_at) : NaN;
  return Number.isNaN(t) ? Infinity : t;
}

// AlertGroup is one element's alerts in the Alerts panel.
export interface AlertGroup {
  element: string;
  // firing: how many of them fire (not silenced).
  firing: number;
  alerts: Alert[];
}

// groupAlerts groups alerts by element for the Alerts panel: elements with
// firing alerts first (the most first), then those whose alerts are all
// silenced, each by name; within a group firing before silenced, then by
// severity (critical first), then the oldest first, then region.
export function groupAlerts(alerts: readonly Alert[] | null | undefined): AlertGroup[] {
  const by = new Map<string, Alert[]>();
  for (const a of alerts ?? []) {
    const el = a.element || '';
    const list = by.get(el) ?? [];
    list.push(a);
    by.set(el, list);
  }
  const groups: AlertGroup[] = [...by.entries()].map(([element, list]) => ({
    element,
    firing: list.filter(firing).length,
    alerts: [...list].sort(
      (x, y) =>
        Number(firing(y)) - Number(firing(x)) ||
        severityRank(x.severity) - severityRank(y.severity) ||
        startTime(x) - startTime(y) ||
        (x.alertname ?? '').localeCompare(y.alertname ?? '') ||
        (x.region ?? '').localeCompare(y.region ?? '') ||
        x.fingerprint.localeCompare(y.fingerprint),
    ),
  }));
  return groups.sort((x, y) => Number(y.firing > 0) - Number(x.firing > 0) || y.firing - x.firing || x.element.localeCompare(y.element));
}

// countFiring is how many alerts of the list fire (the Alerts tab's count).
export function countFiring(alerts: readonly Alert[] | null | undefined): number {
  return (alerts ?? []).filter(firing).length;
}

// since is when an alert started firing, as the panel says it ("5m ago",
// "just now"), or '' without a readable start.
export function since(a: Alert, now: number): string {
  return ago(a.starts_at, now);
}

// ---- silences ----

const SILENCE_STATE_ORDER = ['active', 'pending', 'expired'];

// sortSilences puts the silences in the panel's order: active, then
// pending, then expired; within each the newest (latest start) first, as
// the server sends them.
export function sortSilences(list: readonly Silence[] | null | undefined): Silence[] {
  const rank = (s: Silence) => {
    const i = SILENCE_STATE_ORDER.indexOf(s.state);
    return i < 0 ? SILENCE_STATE_ORDER.length : i;
  };
  const t = (s: Silence) => {
    const v = s.starts_at ? Date.parse(s.starts_at) : NaN;
    return Number.isNaN(v) ? -Infinity : v;
  };
  return [...(list ?? [])].map((s, i) => ({ s, i })).sort((a, b) => rank(a.s) - rank(b.s) || t(b.s) - t(a.s) || a.i - b.i).map((x) => x.s);
}

// silenceBadge is the badge class of a silence's state: active amber (it
// mutes alerts now), pending grey, expired grey.
export function silenceBadge(state: string): string {
  return state === 'active' ? 'badge-amber' : 'badge-grey';
}

// canExpire: an active or pending silence can be expired; an expired one
// cannot.
export function canExpire(s: Silence): boolean {
  return s.state === 'active' || s.state === 'pending';
}

// span says a duration in ms the short way: "45s", "12m", "1h 59m",
// "3d 4h".
export function span(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return m % 60 ? `${h}h ${m % 60}m` : `${h}h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d}d ${h % 24}h` : `${d}d`;
}

// silenceWhen is when a silence ends, relative to now: "ends in 1h 59m",
// "starts in 5m" (pending), "ended 3m ago"; '' without a readable end.
export function silenceWhen(s: Silence, now: number): string {
  const end = s.ends_at ? Date.parse(s.ends_at) : NaN;
  if (s.state === 'pending') {
    const start = s.starts_at ? Date.parse(s.starts_at) : NaN;
    if (!Number.isNaN(start) && start > now) return `starts in ${span(start - now)}`;
  }
  if (Number.isNaN(end)) return '';
  if (s.state === 'expired' || end <= now) return `ended ${ago(s.ends_at, now)}`;
  return `ends in ${span(end - now)}`;
}

// ---- the silence form ----

// DURATION_PRESETS are the silence lengths the form offers as one click.
export const DURATION_PRESETS = ['1h', '2h', '8h', '24h'] as const;

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

// parseGoDuration reads a duration as Go's time.ParseDuration does ("2h",
// "1h30m", "90m", "1.5h", "0"), in milliseconds; undefined when Go would
// refuse it (no unit, an unknown unit such as "d", blanks inside).
export function parseGoDuration(text: string): number | undefined {
  let s = text.trim();
  if (s === '') return undefined;
  let sign = 1;
  if (s[0] === '-' || s[0] === '+') {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') return undefined;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;
  let total = 0;
  let i = 0;
  while (i < s.length) {
    re.lastIndex = i;
    const m = re.exec(s);
    if (!m) return undefined;
    total += Number(m[1]) * UNIT_MS[m[2]];
    i = re.lastIndex;
  }
  return sign * total;
}

// The server's bounds of a silence (web/alerts.go): from a minute to 90
// days, with a comment of at most 1,000 characters.
export const MIN_SILENCE_MS = 60_000;
export const MAX_SILENCE_MS = 90 * 24 * 3_600_000;
export const MAX_COMMENT = 1000;

// durationProblem says what is wrong with a silence's duration, or
// undefined when it will do: a Go duration (2h, 90m, 1h30m) from a minute
// to 90 days (2160h).
export function durationProblem(text: string): string | undefined {
  if (!text.trim()) return 'A duration is required, e.g. 2h';
  const ms = parseGoDuration(text);
  if (ms === undefined) return `“${text.trim()}” is not a duration: use a number and a unit, such as 30m, 2h or 1h30m (h is the largest unit)`;
  if (ms < MIN_SILENCE_MS) return 'At least a minute (1m)';
  if (ms > MAX_SILENCE_MS) return 'At most 90 days (2160h)';
  return undefined;
}

// SilenceProblem is a silence form's problem: the field at fault (as the
// server's error path names it) and what is wrong.
export interface SilenceProblem {
  path: 'duration' | 'comment' | 'element';
  message: string;
}

// silenceProblems checks a silence before it is sent: a duration (see
// durationProblem) and a comment (what and why: it shows to everyone who
// sees the muted alerts).
export function silenceProblems(s: NewSilence): SilenceProblem[] {
  const out: SilenceProblem[] = [];
  if (!s.element.trim()) out.push({ path: 'element', message: 'Which element?' });
  const d = durationProblem(s.duration);
  if (d) out.push({ path: 'duration', message: d });
  const comment = s.comment.trim();
  if (!comment) out.push({ path: 'comment', message: 'Say why (it shows to everyone who sees the silenced alerts)' });
  else if ([...comment].length > MAX_COMMENT) out.push({ path: 'comment', message: `At most ${MAX_COMMENT} characters (${[...comment].length} now)` });
  return out;
}

// silenceBody is the POST body for a silence form, trimmed.
export function silenceBody(s: NewSilence): NewSilence {
  return { element: s.element.trim(), duration: s.duration.trim(), comment: s.comment.trim() };
}

// endsAt is when a silence made now for duration would end, for the form's
// hint ("until 14:05"); undefined for a bad duration.
export function endsAt(duration: string, now: number): Date | undefined {
  const ms = parseGoDuration(duration);
  return ms === undefined || ms <= 0 ? undefined : new Date(now + ms);
}
