import { useCallback, useEffect, useId, useRef, useState } from 'react';
import { alerts as alertsApi, ApiError, errorMessage, isNoAlertmanager } from '../api';
import {
  canExpire,
  DURATION_PRESETS,
  endsAt,
  groupAlerts,
  NO_ALERTMANAGER,
  severityBadge,
  silenceBadge,
  silenceBody,
  silenceProblems,
  silenceWhen,
  since,
  sortSilences,
  type Alert,
  type Silence,
  type SilenceProblem,
} from '../model/alerts';
import { formatTime, sentence } from '../model/util';
import { Dialog } from '../ui/Dialog';
import { useToast } from '../ui/toast';

// useNow is the clock relative times ("since 5m ago", "ends in 1h 59m")
// read: it ticks every 30 s while active.
function useNow(active: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return;
    setNow(Date.now());
    const t = setInterval(() => setNow(Date.now()), 30_000);
    return () => clearInterval(t);
  }, [active]);
  return now;
}

// AlertsOff is what the editor shows where alerts would be when the server
// has no Alertmanager.
export function AlertsOff({ detail }: { detail?: string }) {
  // The server's message says the same as ours, mostly: show it only when
  // it says something else.
  const extra = detail && !/^alerts are off/i.test(detail.trim()) ? sentence(detail) : '';
  return (
    <div className="banner banner-info" role="status" data-testid="alerts-off">
      <div>
        <b>{NO_ALERTMANAGER}.</b>
        <div className="small">
          Start <code>backplane serve</code> with <code>BACKPLANE_ALERTMANAGER_URL</code> set to Alertmanager&apos;s address to see firing alerts here and silence
          them.
        </div>
        {extra && <div className="muted small">{extra}</div>}
      </div>
    </div>
  );
}

interface Props {
  slug: string;
  // alerts: the project's alerts, live (null: not loaded yet).
  alerts: Alert[] | null;
  // off: the server has no Alertmanager (its message); nothing is asked.
  off: string | null;
  // error: reading the alerts failed (something else than off).
  error: string;
  // elements: the schema's element IDs (an alert of another one says so).
  elements: ReadonlySet<string>;
  // canSilence: the user may silence and expire (deployer and up).
  canSilence: boolean;
  // silencesKey changes when a silence was made elsewhere in the editor:
  // the list reloads.
  silencesKey: number;
  // silences: the list last read (kept by the editor across tab changes;
  // null: not read yet), and where a new read goes.
  silences: Silence[] | null;
  onSilences: (list: Silence[]) => void;
  onRefresh: () => void;
  onOff: (message: string) => void;
  onSilence: (element: string) => void;
  onSelect: (element: string) => void;
  // onChanged: a silence was expired (the alerts change).
  onChanged: () => void;
}

// AlertsPanel lists the project's alerts by element, with a "Silence…"
// per element for deployers, and the project's silences with "Expire".
export function AlertsPanel({ slug, alerts, off, error, elements, canSilence, silencesKey, silences, onSilences, onRefresh, onOff, onSilence, onSelect, onChanged }: Props) {
  const toast = useToast();
  const [silencesError, setSilencesError] = useState('');
  const [expiring, setExpiring] = useState<string | null>(null);
  const now = useNow(!off);
  const groups = groupAlerts(alerts);

  const loadSilences = useCallback(
    (signal?: AbortSignal) => {
      if (off) return;
      alertsApi
        .silences(slug, signal)
        .then((list) => {
          onSilences(sortSilences(list));
          setSilencesError('');
        })
        .catch((e) => {
          if (signal?.aborted) return;
          if (isNoAlertmanager(e)) onOff(errorMessage(e));
          else setSilencesError(errorMessage(e));
        });
    },
    [slug, off, onOff, onSilences],
  );

  // Load on open, when told, and (a moment after) when the alerts change:
  // a silence made or expired elsewhere changes which alerts it holds.
  const first = useRef(true);
  useEffect(() => {
    const ctl = new AbortController();
    const t = setTimeout(() => loadSilences(ctl.signal), first.current ? 0 : 400);
    first.current = false;
    return () => {
      clearTimeout(t);
      ctl.abort();
    };
  }, [loadSilences, silencesKey, alerts]);

  async function expire(s: Silence) {
    setExpiring(s.id);
    try {
      await alertsApi.expire(slug, s.id);
      toast(`Expired the silence of ${s.element}`, 'success');
      loadSilences();
      onChanged();
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 403)) toast(`Could not expire the silence: ${errorMessage(e)}`, 'error');
    } finally {
      setExpiring(null);
    }
  }

  const state = off ? 'off' : alerts === null ? (error ? 'error' : 'loading') : 'ready';
  const live = (silences ?? []).filter((s) => s.state !== 'expired');
  const expired = (silences ?? []).filter((s) => s.state === 'expired');
  const silenceById = new Map((silences ?? []).map((s) => [s.id, s]));

  return (
    <div className="inspector-body alerts-panel" data-testid="alerts-panel" data-state={state}>
      <div className="row">
        <div className="insp-title">Alerts</div>
        <div className="spacer" />
        {!off && (
          <button
            className="btn btn-small"
            data-testid="alerts-refresh"
            onClick={() => {
              onRefresh();
              loadSilences();
            }}
          >
            Refresh
          </button>
        )}
      </div>
      {off ? (
        <AlertsOff detail={off} />
      ) : (
        <>
          {error && (
            <div className="banner banner-error" data-testid="alerts-error">
              {error}
            </div>
          )}
          {alerts === null && !error && <div className="muted small">Loading…</div>}
          {alerts !== null && groups.length === 0 && (
            <div className="empty small" data-testid="alerts-empty">
              No alerts firing in {slug}.
            </div>
          )}
          {groups.map((g) => (
            <section key={g.element} className="alert-group" data-testid={`alert-group-${g.element}`} data-firing={g.firing}>
              <div className="alert-group-head">
                <button className="link-btn mono strong" title={`Select ${g.element} on the canvas`} onClick={() => onSelect(g.element)}>
                  {g.element || '(no element)'}
                </button>
                {g.firing > 0 ? (
                  <span className="badge badge-red">{g.firing} firing</span>
                ) : (
                  <span className="badge badge-grey">silenced</span>
                )}
                {!elements.has(g.element) && <span className="muted small">not in the schema</span>}
                <div className="spacer" />
                {canSilence && g.element && (
                  <button className="btn btn-small" data-testid={`silence-open-${g.element}`} title={`Mute the alerts of ${g.element} for a while`} onClick={() => onSilence(g.element)}>
                    Silence…
                  </button>
                )}
              </div>
              <ul className="alert-list">
                {g.alerts.map((a) => {
                  const held = (a.silenced_by ?? []).map((id) => silenceById.get(id)).filter((s): s is Silence => !!s);
                  const suppressed = a.state !== 'active' || (a.silenced_by?.length ?? 0) > 0;
                  return (
                    <li
                      key={a.fingerprint}
                      className={`alert-item${suppressed ? ' suppressed' : ''}`}
                      data-testid={`alert-${a.fingerprint}`}
                      data-alertname={a.alertname}
                      data-element={a.element}
                      data-state={suppressed ? 'suppressed' : 'active'}
                    >
                      <div className="alert-head">
                        <span className={`dot ${suppressed ? 'lamp-grey' : 'lamp-red'}`} />
                        <span className="strong">{a.alertname || 'alert'}</span>
                        {a.severity && <span className={`badge ${severityBadge(a.severity)}`}>{a.severity}</span>}
                        {a.region && <span className="region-badge">{a.region}</span>}
                        <div className="spacer" />
                        <span className="muted small alert-since" title={a.starts_at ? `Firing since ${formatTime(a.starts_at)}` : undefined}>
                          {since(a, now)}
                        </span>
                      </div>
                      {a.summary && <div className="alert-summary small">{a.summary}</div>}
                      {a.description && a.description !== a.summary && <div className="muted small alert-desc">{a.description}</div>}
                      {suppressed && (
                        <div className="alert-silenced small" data-testid={`alert-silenced-${a.fingerprint}`}>
                          {silencedText(held, now)}
                        </div>
                      )}
                    </li>
                  );
                })}
              </ul>
            </section>
          ))}

          <section className="insp-group" data-testid="silences">
            <h4>Silences</h4>
            {silencesError && (
              <div className="banner banner-error" data-testid="silences-error">
                {silencesError}
              </div>
            )}
            {silences === null && !silencesError && <div className="muted small">Loading…</div>}
            {silences !== null && live.length === 0 && (
              <div className="muted small" data-testid="silences-empty">
                No active silences.{canSilence ? ' Silence an element here or from its inspector to mute its alerts while you fix it.' : ''}
              </div>
            )}
            {live.length > 0 && (
              <ul className="silence-list">
                {live.map((s) => (
                  <SilenceRow key={s.id} s={s} now={now} canExpire={canSilence} busy={expiring === s.id} onExpire={() => void expire(s)} />
                ))}
              </ul>
            )}
            {expired.length > 0 && (
              <details className="silences-expired" data-testid="silences-expired">
                <summary className="muted small">Expired ({expired.length})</summary>
                <ul className="silence-list">
                  {expired.map((s) => (
                    <SilenceRow key={s.id} s={s} now={now} canExpire={false} busy={false} onExpire={() => {}} />
                  ))}
                </ul>
              </details>
            )}
            {!canSilence && <p className="muted small">Deployers and admins of {slug} silence alerts.</p>}
          </section>
        </>
      )}
    </div>
  );
}

// silencedText is the marker of an alert a silence holds: "silenced by
// erin · “deploying a fix” · ends in 1h 59m" (the first silence's comment
// and end), or just "silenced" before the silences are loaded.
function silencedText(held: Silence[], now: number): string {
  if (!held.length) return 'silenced';
  const who = [...new Set(held.map((s) => s.created_by || 'someone'))].join(', ');
  const parts = [`silenced by ${who}`];
  if (held[0].comment) parts.push(`“${held[0].comment}”`);
  const when = silenceWhen(held[0], now);
  if (when) parts.push(when);
  return parts.join(' · ');
}

function SilenceRow({ s, now, canExpire: may, busy, onExpire }: { s: Silence; now: number; canExpire: boolean; busy: boolean; onExpire: () => void }) {
  return (
    <li className={`silence${s.state === 'expired' ? ' expired' : ''}`} data-testid={`silence-row-${s.id}`} data-state={s.state} data-element={s.element}>
      <div className="silence-head">
        <span className={`badge ${silenceBadge(s.state)}`} data-testid={`silence-state-${s.id}`}>
          {s.state}
        </span>
        <span className="mono strong">{s.element}</span>
        <div className="spacer" />
        {may && canExpire(s) && (
          <button className="btn btn-small" data-testid={`silence-expire-${s.id}`} disabled={busy} title="End this silence now: its alerts notify again" onClick={onExpire}>
            {busy ? 'Expiring…' : 'Expire'}
          </button>
        )}
      </div>
      {s.comment && <div className="silence-comment small">{s.comment}</div>}
      <div className="muted small">
        {s.created_by || 'someone'} · <span title={`${formatTime(s.starts_at)} → ${formatTime(s.ends_at)}`}>{silenceWhen(s, now) || formatTime(s.ends_at)}</span>
      </div>
    </li>
  );
}

interface DialogProps {
  slug: string;
  element: string;
  onClose: () => void;
  onDone: (s: Silence, duration: string) => void;
  onOff: (message: string) => void;
}

// SilenceDialog asks how long and why, then silences the element's alerts
// (POST /projects/{p}/silences). The server's 400 names the field at fault.
export function SilenceDialog({ slug, element, onClose, onDone, onOff }: DialogProps) {
  const formId = useId();
  const [duration, setDuration] = useState<string>('2h');
  const [comment, setComment] = useState('');
  const [problems, setProblems] = useState<SilenceProblem[]>([]);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const [tried, setTried] = useState(false);
  const until = endsAt(duration, Date.now());
  const shown = tried ? silenceProblems({ element, duration, comment }) : problems;
  const fieldError = (path: SilenceProblem['path']) => shown.filter((p) => p.path === path).map((p) => p.message);

  async function submit(e: React.FormEvent) {
    e.preventDefault();
    setTried(true);
    const body = silenceBody({ element, duration, comment });
    const local = silenceProblems(body);
    if (local.length) return;
    setBusy(true);
    setError('');
    try {
      const s = await alertsApi.silence(slug, body);
      onDone(s, body.duration);
    } catch (err) {
      if (isNoAlertmanager(err)) {
        onOff(errorMessage(err));
        setError(NO_ALERTMANAGER);
      } else if (err instanceof ApiError && err.status === 400 && (err.path === 'duration' || err.path === 'comment' || err.path === 'element')) {
        setTried(false);
        setProblems([{ path: err.path, message: sentence(err.message) }]);
      } else {
        setError(errorMessage(err));
      }
    } finally {
      setBusy(false);
    }
  }

  const durErr = fieldError('duration');
  const comErr = fieldError('comment');
  const elErr = fieldError('element');
  return (
    <Dialog
      title={`Silence ${element}`}
      onClose={onClose}
      testId="silence-dialog"
      footer={
        <>
          <button type="button" className="btn" data-testid="silence-cancel" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" form={formId} className="btn btn-primary" data-testid="silence-submit" disabled={busy}>
            {busy ? 'Silencing…' : 'Silence'}
          </button>
        </>
      }
    >
      <form id={formId} className="form-stack" data-testid="silence-form" onSubmit={(e) => void submit(e)} noValidate>
        <p>
          Mute the alerts of <b className="mono">{element}</b> in every region: they keep firing and show here as silenced, but reach no receiver until the
          silence ends.
        </p>
        {elErr.map((m, i) => (
          <div key={i} className="banner banner-error" data-testid="silence-error-element">
            {m}
          </div>
        ))}
        <div className="field">
          <span className="field-label">For</span>
          <div className="row nowrap silence-presets" role="group" aria-label="Duration presets">
            {DURATION_PRESETS.map((d) => (
              <button
                key={d}
                type="button"
                className={`chip${duration.trim() === d ? ' active' : ''}`}
                data-testid={`silence-preset-${d}`}
                aria-pressed={duration.trim() === d}
                onClick={() => {
                  setDuration(d);
                  setProblems((p) => p.filter((x) => x.path !== 'duration'));
                }}
              >
                {d}
              </button>
            ))}
            <input
              data-testid="silence-duration"
              className="silence-duration"
              value={duration}
              aria-label="Duration (a Go duration such as 90m or 1h30m)"
              aria-invalid={durErr.length ? true : undefined}
              spellCheck={false}
              autoComplete="off"
              onChange={(e) => {
                setDuration(e.target.value);
                setProblems((p) => p.filter((x) => x.path !== 'duration'));
              }}
            />
          </div>
          {durErr.length ? (
            durErr.map((m, i) => (
              <span key={i} className="field-error" role="alert" data-testid="silence-error-duration">
                {m}
              </span>
            ))
          ) : (
            <span className="field-help" data-testid="silence-until">
              {until ? `Until ${formatTime(until.toISOString())}` : 'A Go duration: 30m, 2h, 1h30m (up to 2160h, 90 days)'}
            </span>
          )}
        </div>
        <label className="field">
          <span className="field-label">
            Why<span className="req"> *</span>
          </span>
          <textarea
            data-testid="silence-comment"
            rows={3}
            value={comment}
            placeholder="deploying a fix for the restart loop"
            aria-invalid={comErr.length ? true : undefined}
            onChange={(e) => {
              setComment(e.target.value);
              setProblems((p) => p.filter((x) => x.path !== 'comment'));
            }}
          />
          {comErr.map((m, i) => (
            <span key={i} className="field-error" role="alert" data-testid="silence-error-comment">
              {m}
            </span>
          ))}
          {!comErr.length && <span className="field-help">Everyone who sees the silenced alerts reads this, with your name.</span>}
        </label>
        {error && (
          <div className="banner banner-error" role="alert" data-testid="silence-error">
            {error}
          </div>
        )}
      </form>
    </Dialog>
  );
}
