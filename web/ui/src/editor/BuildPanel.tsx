import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import { builds as buildsApi, errorMessage } from '../api';
import {
  appendLines,
  buildDuration,
  buildWho,
  elementBuilds,
  isBuild,
  mergeBuilds,
  shortSha,
  sizeText,
  statusBadge,
  upsertBuild,
  type Build,
} from '../model/builds';

// useTick is a clock that ticks every second while active (a build runs).
function useTick(active: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return;
    setNow(Date.now());
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [active]);
  return now;
}

interface LogProps {
  slug: string;
  build: Build;
  // onEnd gets the build as it ended (the stream's `end` event).
  onEnd?: (b: Build) => void;
  // prefix labels each line (the deploy dialog: "api build | ").
  prefix?: string;
  testid?: string;
}

// BuildLog shows a build's log from its start, live while it runs: the
// server replays what the build printed so far, then follows it, then
// sends one `end` event. A stream that breaks before its end is opened
// again (and replayed from the start).
export function BuildLog({ slug, build, onEnd, prefix, testid = 'build-log' }: LogProps) {
  const [log, setLog] = useState<{ lines: string[]; dropped: number }>({ lines: [], dropped: 0 });
  const [state, setState] = useState<'connecting' | 'live' | 'ended' | 'failed'>('connecting');
  const [error, setError] = useState('');
  const onEndRef = useRef(onEnd);
  onEndRef.current = onEnd;
  const box = useRef<HTMLPreElement>(null);
  const stick = useRef(true);

  useEffect(() => {
    if (typeof EventSource === 'undefined') return;
    let closed = false;
    let es: EventSource | null = null;
    let retry: ReturnType<typeof setTimeout> | undefined;
    let attempt = 0;
    let pending: string[] = [];
    let flushTimer: ReturnType<typeof setTimeout> | undefined;
    const flush = () => {
      flushTimer = undefined;
      if (closed || pending.length === 0) return;
      const batch = pending;
      pending = [];
      setLog((l) => appendLines(l, batch));
    };
    const open = () => {
      if (closed) return;
      setLog({ lines: [], dropped: 0 });
      pending = [];
      setState('connecting');
      const src = new EventSource(buildsApi.logUrl(slug, build.id));
      es = src;
      src.onopen = () => setState('live');
      src.addEventListener('line', (ev) => {
        try {
          const d = JSON.parse((ev as MessageEvent).data as string) as { line?: unknown };
          pending.push(typeof d.line === 'string' ? d.line : '');
        } catch {
          return;
        }
        flushTimer ??= setTimeout(flush, 80);
      });
      src.addEventListener('end', (ev) => {
        src.close();
        clearTimeout(flushTimer);
        flush();
        setState('ended');
        try {
          const b = JSON.parse((ev as MessageEvent).data as string) as unknown;
          if (isBuild(b)) onEndRef.current?.(b);
        } catch {
          // the log is whole; the build's record comes with the events
        }
      });
      src.addEventListener('error', () => {
        src.close();
        if (closed) return;
        attempt++;
        if (attempt > 5) {
          setState('failed');
          setError('The log stream keeps breaking.');
          return;
        }
        retry = setTimeout(open, Math.min(1000 * attempt, 5000));
      });
    };
    open();
    return () => {
      closed = true;
      clearTimeout(retry);
      clearTimeout(flushTimer);
      es?.close();
    };
  }, [slug, build.id]);

  // Keep the newest line in view unless the user scrolled up.
  useLayoutEffect(() => {
    const el = box.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [log]);

  return (
    <div className="build-log-wrap">
      <pre
        ref={box}
        className="code build-log"
        data-testid={testid}
        data-build={build.id}
        data-state={state}
        onScroll={(e) => {
          const el = e.currentTarget;
          stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
        }}
      >
        {log.dropped > 0 && <div className="muted">… {log.dropped} earlier lines not shown</div>}
        {log.lines.map((l, i) => (
          <div key={i + log.dropped} className="build-log-line">
            {prefix && <span className="muted">{prefix}</span>}
            {l}
          </div>
        ))}
        {state === 'connecting' && log.lines.length === 0 && <div className="muted">Waiting for the build&apos;s log…</div>}
        {state === 'ended' && log.lines.length === 0 && <div className="muted">The build printed nothing.</div>}
      </pre>
      {error && <div className="error-text small">{error}</div>}
    </div>
  );
}

interface PanelProps {
  slug: string;
  element: string;
  // live: the project's builds as the events keep them (every element's).
  live: Build[] | null;
  // buildable: the element is built from source with a build step.
  buildable: boolean;
}

// BuildPanel is an element's Build tab: its recent builds (commit, status,
// duration, size, who) and the selected build's log (the newest by
// default), live while it runs.
export function BuildPanel({ slug, element, live, buildable }: PanelProps) {
  const [list, setList] = useState<Build[] | null>(null);
  const [enabled, setEnabled] = useState(true);
  const [error, setError] = useState('');
  const [selected, setSelected] = useState<number | null>(null);

  useEffect(() => {
    const ctl = new AbortController();
    setList(null);
    setSelected(null);
    setError('');
    buildsApi
      .list(slug, element, 20, ctl.signal)
      .then((r) => {
        setList((cur) => mergeBuilds(cur, r.builds));
        setEnabled(r.enabled);
      })
      .catch((e) => {
        if (!ctl.signal.aborted) setError(errorMessage(e));
      });
    return () => ctl.abort();
  }, [slug, element]);

  const shown = useMemo(() => elementBuilds(mergeBuilds(list, elementBuilds(live, element)), element), [list, live, element]);
  const running = shown.some((b) => b.status === 'building');
  const now = useTick(running);
  const current = shown.find((b) => b.id === selected) ?? shown[0];

  return (
    <div className="inspector-body build-panel" data-testid="build-tab">
      <div className="insp-title">Builds of {element}</div>
      {!enabled && (
        <div className="banner banner-info small" data-testid="builds-off">
          Builds are off on this server (it needs an artifact store, its key and BACKPLANE_PUBLIC_URL): each instance builds for itself.
        </div>
      )}
      {error && (
        <div className="banner banner-error small" role="alert">
          {error}
        </div>
      )}
      {list === null && !error && <div className="muted small">Loading the builds…</div>}
      {list !== null && shown.length === 0 && (
        <p className="muted small" data-testid="builds-empty">
          {buildable
            ? `No builds of ${element} yet. A deploy builds it once per commit, before its instances start from the result.`
            : `${element} has no build step: only elements built from source with a build command are built.`}
        </p>
      )}
      {shown.length > 0 && (
        <table className="table build-table" data-testid="build-list">
          <thead>
            <tr>
              <th>Commit</th>
              <th>Status</th>
              <th>Took</th>
              <th>Size</th>
              <th>By</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((b) => (
              <tr
                key={b.id}
                data-testid={`build-row-${b.id}`}
                data-status={b.status}
                className={`clickable${current?.id === b.id ? ' selected' : ''}`}
                onClick={() => setSelected(b.id)}
                title={`Build ${b.id}: show its log`}
              >
                <td className="mono" title={b.sha}>
                  {shortSha(b.sha) || '-'}
                </td>
                <td>
                  <span className={`badge ${statusBadge(b.status)}`}>{b.status}</span>
                </td>
                <td>{buildDuration(b, now)}</td>
                <td>{sizeText(b.size)}</td>
                <td className="small">{buildWho(b)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {current && (
        <div className="build-detail">
          <div className="build-detail-head" data-testid="build-status" data-status={current.status}>
            Build {current.id} at <span className="mono">{shortSha(current.sha)}</span>:{' '}
            <span className={`badge ${statusBadge(current.status)}`}>{current.status}</span>
            {current.region && <span className="muted small"> · {current.region}</span>}
          </div>
          {current.error && <div className="error-text small" data-testid="build-error">{current.error}</div>}
          <BuildLog key={current.id} slug={slug} build={current} onEnd={(b) => setList((l) => upsertBuild(l, b))} />
        </div>
      )}
    </div>
  );
}
