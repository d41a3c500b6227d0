import { describe, expect, it } from 'vitest';
import {
  alertBadges,
  canExpire,
  countFiring,
  durationProblem,
  endsAt,
  firing,
  groupAlerts,
  parseGoDuration,
  severityBadge,
  silenceBody,
  silenceProblems,
  silenceWhen,
  since,
  sortSilences,
  span,
  type Alert,
  type Silence,
} from './alerts';

const NOW = Date.parse('2026-05-01T12:00:00Z');

const alert = (fingerprint: string, element: string, alertname: string, extra: Partial<Alert> = {}): Alert => ({
  fingerprint,
  element,
  alertname,
  region: 'eu',
  severity: 'critical',
  starts_at: '2026-05-01T11:55:00Z',
  state: 'active',
  silenced_by: [],
  ...extra,
});

const silence = (id: string, state: string, starts_at: string, extra: Partial<Silence> = {}): Silence => ({
  id,
  element: 'api',
  comment: 'deploying a fix',
  created_by: 'erin',
  starts_at,
  ends_at: '2026-05-01T14:00:00Z',
  state,
  ...extra,
});

describe('firing', () => {
  it('counts active alerts no silence holds', () => {
    expect(firing(alert('1', 'api', 'RestartLoop'))).toBe(true);
    expect(firing(alert('1', 'api', 'RestartLoop', { state: 'suppressed', silenced_by: ['s1'] }))).toBe(false);
    expect(firing(alert('1', 'api', 'RestartLoop', { state: 'suppressed', silenced_by: [] }))).toBe(false); // inhibited
    expect(firing(alert('1', 'api', 'RestartLoop', { silenced_by: ['s1'] }))).toBe(false);
    expect(firing(alert('1', 'api', 'RestartLoop', { silenced_by: null }))).toBe(true);
  });
});

describe('alertBadges', () => {
  it('counts firing alerts per element and names them', () => {
    const b = alertBadges([
      alert('1', 'api', 'RestartLoop', { region: 'eu' }),
      alert('2', 'api', 'RestartLoop', { region: 'us' }),
      alert('3', 'api', 'ElementDown', { region: 'eu' }),
      alert('4', 'db', 'CheckCritical', { state: 'suppressed', silenced_by: ['s1'] }),
      alert('5', 'worker', 'HighMemory', { region: '' }),
    ]);
    expect(Object.keys(b).sort()).toEqual(['api', 'worker']);
    expect(b.api.count).toBe(3);
    expect(b.api.title).toBe('3 firing alerts: ElementDown (eu), RestartLoop ×2 (eu, us)');
    expect(b.worker).toEqual({ count: 1, title: '1 firing alert: HighMemory' });
  });
  it('is empty for no alerts, null or only silenced ones', () => {
    expect(alertBadges(null)).toEqual({});
    expect(alertBadges([])).toEqual({});
    expect(alertBadges([alert('1', 'api', 'X', { state: 'suppressed', silenced_by: ['s'] })])).toEqual({});
  });
  it('skips alerts of no element', () => {
    expect(alertBadges([alert('1', '', 'Watchdog')])).toEqual({});
  });
});

describe('countFiring', () => {
  it('counts the firing ones', () => {
    expect(countFiring(undefined)).toBe(0);
    expect(countFiring([alert('1', 'api', 'A'), alert('2', 'db', 'B', { state: 'suppressed', silenced_by: ['s'] }), alert('3', 'db', 'C')])).toBe(2);
  });
});

describe('groupAlerts', () => {
  it('groups by element, firing groups first (the most first), then by name', () => {
    const g = groupAlerts([
      alert('1', 'db', 'A'),
      alert('2', 'api', 'B'),
      alert('3', 'api', 'C'),
      alert('4', 'cache', 'D', { state: 'suppressed', silenced_by: ['s'] }),
      alert('5', 'web', 'E'),
    ]);
    expect(g.map((x) => [x.element, x.firing, x.alerts.length])).toEqual([
      ['api', 2, 2],
      ['db', 1, 1],
      ['web', 1, 1],
      ['cache', 0, 1],
    ]);
  });
  it('orders a group: firing first, then severity, then the oldest', () => {
    const g = groupAlerts([
      alert('a', 'api', 'Later', { starts_at: '2026-05-01T11:59:00Z' }),
      alert('b', 'api', 'Muted', { state: 'suppressed', silenced_by: ['s'], starts_at: '2026-05-01T10:00:00Z' }),
      alert('c', 'api', 'Warn', { severity: 'warning', starts_at: '2026-05-01T09:00:00Z' }),
      alert('d', 'api', 'Earlier', { starts_at: '2026-05-01T11:00:00Z' }),
      alert('e', 'api', 'Odd', { severity: 'page-me', starts_at: '2026-05-01T08:00:00Z' }),
    ]);
    expect(g[0].alerts.map((a) => a.fingerprint)).toEqual(['d', 'a', 'c', 'e', 'b']);
  });
  it('does not change the list given', () => {
    const list = [alert('2', 'b', 'X'), alert('1', 'a', 'Y')];
    groupAlerts(list);
    expect(list.map((a) => a.fingerprint)).toEqual(['2', '1']);
  });
});

describe('severityBadge', () => {
  it('maps severities to badges', () => {
    expect(severityBadge('critical')).toBe('badge-red');
    expect(severityBadge('ERROR')).toBe('badge-red');
    expect(severityBadge('warning')).toBe('badge-amber');
    expect(severityBadge('info')).toBe('badge-grey');
    expect(severityBadge(undefined)).toBe('badge-grey');
  });
});

describe('since and span', () => {
  it('says how long an alert has fired', () => {
    expect(since(alert('1', 'api', 'A'), NOW)).toBe('5m ago');
    expect(since(alert('1', 'api', 'A', { starts_at: '2026-05-01T11:59:58Z' }), NOW)).toBe('just now');
    expect(since(alert('1', 'api', 'A', { starts_at: undefined }), NOW)).toBe('');
    expect(since(alert('1', 'api', 'A', { starts_at: 'garbage' }), NOW)).toBe('');
  });
  it('says durations the short way', () => {
    expect(span(45_000)).toBe('45s');
    expect(span(12 * 60_000)).toBe('12m');
    expect(span(2 * 3_600_000)).toBe('2h');
    expect(span(119 * 60_000)).toBe('1h 59m');
    expect(span(76 * 3_600_000)).toBe('3d 4h');
    expect(span(72 * 3_600_000)).toBe('3d');
    expect(span(-5)).toBe('0s');
  });
});

describe('silences', () => {
  it('sorts active, then pending, then expired, newest first in each', () => {
    const list = [
      silence('e1', 'expired', '2026-05-01T08:00:00Z'),
      silence('a1', 'active', '2026-05-01T10:00:00Z'),
      silence('p1', 'pending', '2026-05-01T13:00:00Z'),
      silence('a2', 'active', '2026-05-01T11:00:00Z'),
      silence('e2', 'expired', '2026-05-01T09:00:00Z'),
    ];
    expect(sortSilences(list).map((s) => s.id)).toEqual(['a2', 'a1', 'p1', 'e2', 'e1']);
    expect(sortSilences(null)).toEqual([]);
  });
  it('says when a silence ends or ended', () => {
    expect(silenceWhen(silence('a', 'active', '2026-05-01T11:59:00Z', { ends_at: '2026-05-01T13:59:00Z' }), NOW)).toBe('ends in 1h 59m');
    expect(silenceWhen(silence('e', 'expired', '2026-05-01T10:00:00Z', { ends_at: '2026-05-01T11:57:00Z' }), NOW)).toBe('ended 3m ago');
    expect(silenceWhen(silence('p', 'pending', '2026-05-01T12:05:00Z'), NOW)).toBe('starts in 5m');
    expect(silenceWhen(silence('x', 'active', '2026-05-01T11:00:00Z', { ends_at: undefined }), NOW)).toBe('');
  });
  it('expires only active and pending silences', () => {
    expect(canExpire(silence('a', 'active', ''))).toBe(true);
    expect(canExpire(silence('p', 'pending', ''))).toBe(true);
    expect(canExpire(silence('e', 'expired', ''))).toBe(false);
  });
});

describe('parseGoDuration', () => {
  it.each([
    ['2h', 7_200_000],
    ['1h30m', 5_400_000],
    ['90m', 5_400_000],
    ['1.5h', 5_400_000],
    ['.5h', 1_800_000],
    ['45s', 45_000],
    ['300ms', 300],
    ['0', 0],
    [' 24h ', 86_400_000],
    ['-1h', -3_600_000],
  ])('reads %s', (text, ms) => {
    expect(parseGoDuration(text)).toBe(ms);
  });
  it.each(['', '2', 'h', '2d', '1 h', '1h 30m', 'two hours', '1h-30m', '-', '1.h.'])('refuses %j as Go does', (text) => {
    expect(parseGoDuration(text)).toBeUndefined();
  });
});

describe('durationProblem', () => {
  it('takes a minute to 90 days', () => {
    expect(durationProblem('2h')).toBeUndefined();
    expect(durationProblem('1m')).toBeUndefined();
    expect(durationProblem('2160h')).toBeUndefined();
    expect(durationProblem('')).toMatch(/required/);
    expect(durationProblem('2d')).toMatch(/not a duration/);
    expect(durationProblem('30s')).toMatch(/at least a minute/i);
    expect(durationProblem('-2h')).toMatch(/at least a minute/i);
    expect(durationProblem('2161h')).toMatch(/at most 90 days/i);
  });
});

describe('silenceProblems and silenceBody', () => {
  it('wants an element, a duration and a comment', () => {
    expect(silenceProblems({ element: 'api', duration: '2h', comment: 'deploying a fix' })).toEqual([]);
    expect(silenceProblems({ element: ' ', duration: 'soon', comment: '  ' }).map((p) => p.path)).toEqual(['element', 'duration', 'comment']);
  });
  it('limits the comment to 1,000 characters', () => {
    expect(silenceProblems({ element: 'api', duration: '2h', comment: 'é'.repeat(1000) })).toEqual([]);
    expect(silenceProblems({ element: 'api', duration: '2h', comment: 'x'.repeat(1001) })[0].path).toBe('comment');
  });
  it('trims what it sends', () => {
    expect(silenceBody({ element: ' api ', duration: ' 2h ', comment: ' why \n' })).toEqual({ element: 'api', duration: '2h', comment: 'why' });
  });
  it('says when a silence made now would end', () => {
    expect(endsAt('2h', NOW)?.toISOString()).toBe('2026-05-01T14:00:00.000Z');
    expect(endsAt('nope', NOW)).toBeUndefined();
    expect(endsAt('0', NOW)).toBeUndefined();
  });
});
