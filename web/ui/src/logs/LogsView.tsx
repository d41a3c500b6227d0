// LogsView searches and live-tails a project's logs (web/API.md, Logs): an
// element's Logs tab (element fixed, compact) and the project's Logs page
// (every element). The filters, queries, highlighting and line keeping are
// the pure functions of model/logs.ts.
import { memo, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { api, ApiError, errorMessage, logs } from '../api';
import {
  appendOlder,
  clip,
  countLabel,
  dateToLocalInput,
  DEFAULT_FILTERS,
  firstPage,
  formatLogTime,
  formatShortTime,
  highlightRanges,
  lastDeployAt,
  MAX_LINES,
  mergeTail,
  NO_LOKI,
  PAGE_SIZE,
  RANGES,
  rangeLabel,
  searchQuery,
  segments,
  shortAlloc,
  STREAMS,
  tailQuery,
  toJsRegExp,
  type LogFilters,
  type LogLine,
  type ShownLine,
} from '../model/logs';
import { sentence } from '../model/util';
import { Icon } from '../ui/icons';

interface Props {
  slug: string;
  // element: whose logs these are (an element's Logs tab): the element
  // filter is fixed to it. Undefined on the project's Logs page.
  element?: string;
  // The choices of the element and region filters (lines seen add theirs).
  elements?: string[];
  regions?: string[];
  // compact: the narrow layout of the editor's side panel.
  compact?: boolean;
  initial?: LogFilters;
  // onFilters hears the filters each time a search starts (the page keeps
  // them in its address).
  onFilters?: (f: LogFilters) => void;
  // onOpenPage: the tab's link to the project's Logs page, with its filters.
  onOpenPage?: (f: LogFilters) => void;
}

interface Failure {
  code: string;
  message: string;
  path?: string;
}

type Phase = 'loading' | 'ready' | 'error' | 'waiting';
type TailState = 'off' | 'connecting' | 'live' | 'retrying' | 'paused' | 'failed';

const STREAM_LABEL: Record<string, string> = { '': 'All streams', stdout: 'stdout', stderr: 'stderr' };

function failureOf(e: unknown): Failure {
  if (e instanceof ApiError) return { code: e.code, message: sentence(e.message), path: e.path };
  return { code: 'error', message: errorMessage(e) };
}

function parseData<T>(ev: Event): T | undefined {
  try {
    return JSON.parse((ev as MessageEvent).data as string) as T;
  } catch {
    return undefined;
  }
}

// Highlight is how rows mark the search in their text.
interface Highlight {
  text: string;
  regex: boolean;
  re: RegExp | null;
}

export function LogsView({ slug, element, elements = [], regions = [], compact, initial, onFilters, onOpenPage }: Props) {
  const [f, setF] = useState<LogFilters>(() => ({ ...(initial ?? DEFAULT_FILTERS), ...(element !== undefined ? { element } : {}) }));
  // applied: the filters searched for (typing waits a moment).
  const [applied, setApplied] = useState<LogFilters>(f);
  const [refresh, setRefresh] = useState(0);
  const [lastDeploy, setLastDeploy] = useState<string | null | undefined>(undefined);
  const [deployError, setDeployError] = useState('');

  const [lines, setLinesState] = useState<ShownLine[]>([]);
  const linesRef = useRef<ShownLine[]>([]);
  const setLines = useCallback((l: ShownLine[]) => {
    linesRef.current = l;
    setLinesState(l);
  }, []);
  const [next, setNext] = useState('');
  const [capped, setCapped] = useState(false);
  const [phase, setPhase] = useState<Phase>('loading');
  const [failure, setFailure] = useState<Failure | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const [moreError, setMoreError] = useState('');
  const searchedAt = useRef('');
  // readyKey names the search whose first page is shown ('' while one
  // runs): the live tail opens for it, after it, and closes when it goes.
  const [readyKey, setReadyKey] = useState('');
  const readyRef = useRef('');
  readyRef.current = readyKey;

  const [tail, setTail] = useState(false);
  const [tailState, setTailState] = useState<TailState>('off');
  const [tailError, setTailError] = useState('');
  const [notice, setNotice] = useState('');

  // The tab's element follows the selection.
  useEffect(() => {
    if (element === undefined) return;
    setF((cur) => (cur.element === element ? cur : { ...cur, element, alloc: '' }));
  }, [element]);

  // Typing waits 400 ms; a choice applies at once.
  useEffect(() => {
    if (f === applied) return;
    const typing = f.text !== applied.text || f.alloc !== applied.alloc || f.from !== applied.from || f.to !== applied.to;
    const t = setTimeout(() => setApplied(f), typing ? 400 : 0);
    return () => clearTimeout(t);
  }, [f, applied]);

  // "Since the last deploy": the newest succeeded deploy of the project.
  useEffect(() => {
    let alive = true;
    api
      .deployments(slug)
      .then((list) => alive && setLastDeploy(lastDeployAt(list)))
      .catch((e) => {
        if (!alive) return;
        setLastDeploy(null);
        setDeployError(errorMessage(e));
      });
    return () => {
      alive = false;
    };
  }, [slug]);

  const built = useMemo(() => searchQuery(applied, { lastDeploy }), [applied, lastDeploy]);
  const builtKey = built.ok ? built.query : `!${built.path}:${built.error}`;

  useEffect(() => {
    onFilters?.(applied);
  }, [applied, onFilters]);

  // ---- search: the first page, again whenever the filters change ----
  useEffect(() => {
    setMoreError('');
    setNotice('');
    setReadyKey('');
    if (!built.ok) {
      setLines([]);
      setNext('');
      setCapped(false);
      setPhase(built.pending ? 'loading' : 'waiting');
      setFailure(built.pending ? null : { code: 'bad_request', message: built.error, path: built.path });
      return;
    }
    const ctl = new AbortController();
    setPhase('loading');
    searchedAt.current = new Date().toISOString();
    logs
      .search(slug, built.query, ctl.signal)
      .then((page) => {
        if (ctl.signal.aborted) return;
        const r = firstPage(page.lines);
        setLines(r.lines);
        setCapped(r.capped);
        setNext(r.capped ? '' : page.next);
        setFailure(null);
        setPhase('ready');
        setReadyKey(`${builtKey}#${refresh}`);
      })
      .catch((e) => {
        if (ctl.signal.aborted) return;
        setLines([]);
        setNext('');
        setFailure(failureOf(e));
        setPhase('error');
      });
    return () => ctl.abort();
    // builtKey stands for built; refresh searches again.
  }, [slug, builtKey, refresh, setLines]);

  const loadOlder = useCallback(async () => {
    if (!next || loadingMore) return;
    const q = searchQuery(applied, { lastDeploy, cursor: next });
    if (!q.ok) return;
    setLoadingMore(true);
    setMoreError('');
    const of = readyRef.current;
    try {
      const page = await logs.search(slug, q.query);
      if (readyRef.current !== of) return; // another search took its place
      const r = appendOlder(linesRef.current, page, MAX_LINES);
      setLines(r.lines);
      if (r.capped) setCapped(true);
      setNext(r.next);
    } catch (e) {
      setMoreError(failureOf(e).message);
    } finally {
      setLoadingMore(false);
    }
  }, [next, loadingMore, applied, lastDeploy, slug, setLines]);

  // ---- live tail: an EventSource with the same filters, from the newest
  // line shown; closed when the filters change (a new search starts), the
  // tail is turned off or the view closes ----
  const appliedRef = useRef(applied);
  appliedRef.current = applied;
  const lastDeployRef = useRef(lastDeploy);
  lastDeployRef.current = lastDeploy;
  useEffect(() => {
    if (!tail) {
      setTailState('off');
      return;
    }
    if (!readyKey || typeof EventSource === 'undefined') {
      // Waiting for the search (or for one that can run).
      setTailState(phase === 'loading' ? 'connecting' : 'paused');
      return;
    }
    let closed = false;
    let es: EventSource | null = null;
    let retry: ReturnType<typeof setTimeout> | undefined;
    let flushTimer: ReturnType<typeof setTimeout> | undefined;
    let pending: LogLine[] = [];
    let attempt = 0;
    const flush = () => {
      flushTimer = undefined;
      if (closed || pending.length === 0) return;
      const batch = pending;
      pending = [];
      const r = mergeTail(linesRef.current, batch, MAX_LINES);
      if (r.added === 0) return;
      setLines(r.lines);
      if (r.capped) {
        // The oldest lines went: "Load older" would leave a gap.
        setCapped(true);
        setNext('');
      }
    };
    const open = () => {
      if (closed) return;
      const from = linesRef.current[0]?.ts || searchedAt.current;
      const src = new EventSource(logs.tailUrl(slug, tailQuery(appliedRef.current, { from })));
      es = src;
      let opened = false;
      setTailState(attempt ? 'retrying' : 'connecting');
      src.onopen = () => {
        opened = true;
        attempt = 0;
        setTailState('live');
        setTailError('');
      };
      src.addEventListener('line', (ev) => {
        const l = parseData<LogLine>(ev);
        if (!l) return;
        pending.push(l);
        flushTimer ??= setTimeout(flush, 120);
      });
      src.addEventListener('notice', (ev) => {
        const n = parseData<{ message?: string }>(ev);
        if (n?.message) setNotice(sentence(n.message));
      });
      src.addEventListener('error', (ev) => {
        src.close();
        if (closed) return;
        const data = ev instanceof MessageEvent && typeof ev.data === 'string' && ev.data ? parseData<{ code?: string; message?: string }>(ev) : undefined;
        if (data) {
          // Loki refused the tail for good.
          setTailState('failed');
          setTailError(sentence(data.message ?? 'the live tail failed'));
          return;
        }
        attempt++;
        const again = () => {
          setTailState('retrying');
          retry = setTimeout(open, Math.min(30_000, 1000 * 2 ** Math.min(attempt - 1, 5)));
        };
        if (opened) {
          again(); // it dropped: reopen from the newest line
          return;
        }
        // It never opened: ask the search endpoint why (the same filters;
        // a 401 there sends the user to sign in).
        const q = searchQuery(appliedRef.current, { limit: 1, lastDeploy: lastDeployRef.current });
        if (!q.ok) {
          again();
          return;
        }
        logs
          .search(slug, q.query)
          .then(() => {
            if (closed) return;
            if (attempt >= 5) {
              setTailState('failed');
              setTailError('The server did not open the live tail.');
            } else again();
          })
          .catch((e) => {
            if (closed) return;
            setTailState('failed');
            setTailError(failureOf(e).message);
          });
      });
    };
    open();
    return () => {
      closed = true;
      es?.close();
      clearTimeout(retry);
      clearTimeout(flushTimer);
    };
  }, [tail, readyKey, phase, slug, setLines]);

  // ---- what to offer ----
  const elementChoices = useMemo(() => [...new Set([...elements, ...lines.map((l) => l.element), f.element].filter(Boolean))].sort(), [elements, lines, f.element]);
  const regionChoices = useMemo(() => [...new Set([...regions, ...lines.map((l) => l.region), f.region].filter(Boolean))].sort(), [regions, lines, f.region]);
  const allocChoices = useMemo(() => [...new Set(lines.map((l) => shortAlloc(l.alloc)).filter(Boolean))].sort().slice(0, 50), [lines]);

  const hl: Highlight = useMemo(
    () => ({ text: applied.text, regex: applied.regex, re: applied.regex ? toJsRegExp(applied.text) : null }),
    [applied.text, applied.regex],
  );

  const set = (change: Partial<LogFilters>) => setF((cur) => ({ ...cur, ...change }));
  const pick = useCallback((change: Partial<LogFilters>) => setF((cur) => ({ ...cur, ...change })), []);
  const setRange = (range: LogFilters['range']) => {
    if (range === 'custom' && !f.from) {
      const now = new Date();
      set({ range, from: dateToLocalInput(new Date(now.getTime() - 3600_000)), to: '' });
    } else set({ range });
  };

  const noLoki = failure?.code === 'no_loki';
  const fieldError = failure && failure.code === 'bad_request' && failure.path ? failure : null;
  const invalid = (path: string) => (fieldError?.path === path ? true : undefined);
  const searchPath = f.regex ? 'regex' : 'q';
  const scope = element !== undefined ? 'element' : 'project';
  const lastDeployLabel = lastDeploy ? ` (${formatShortTime(lastDeploy)})` : lastDeploy === null ? ' (none yet)' : '';

  return (
    <div className={`logs${compact ? ' logs-compact' : ''}`} data-testid="logs-view" data-scope={scope} data-element={element} data-phase={phase} data-count={lines.length} data-query={built.ok ? built.query : ''}>
      <div className="logs-filters">
        <div className={`logs-search${invalid(searchPath) ? ' invalid' : ''}`}>
          <Icon name="search" size={15} />
          <input
            data-testid="logs-search"
            value={f.text}
            placeholder={f.regex ? 'RE2 regex, e.g. user=\\d+ or (?i)timeout' : 'Search lines (case-sensitive)'}
            aria-label={f.regex ? 'Regular expression' : 'Search text'}
            aria-invalid={invalid(searchPath)}
            spellCheck={false}
            onChange={(e) => set({ text: e.target.value })}
            onKeyDown={(e) => {
              if (e.key === 'Enter') {
                setApplied(f);
                if (f === applied) setRefresh((n) => n + 1);
              }
            }}
          />
          <button
            type="button"
            className="logs-regex"
            data-testid="logs-regex"
            aria-pressed={f.regex}
            title={f.regex ? 'Regex on (RE2 syntax, checked by the server); click for plain text' : 'Plain text; click to search with a regular expression (RE2)'}
            onClick={() => set({ regex: !f.regex })}
          >
            .*
          </button>
        </div>
        <div className="logs-filter-group">
          <select className="logs-select" data-testid="logs-range" value={f.range} aria-label="Time range" onChange={(e) => setRange(e.target.value as LogFilters['range'])}>
            {RANGES.map((r) => (
              <option
                key={r.key}
                value={r.key}
                disabled={r.key === 'deploy' && lastDeploy === null && f.range !== 'deploy'}
                title={r.key === 'deploy' ? 'From the newest succeeded deploy of the project (deploys do not record which elements they changed)' : undefined}
              >
                {r.label}
                {r.key === 'deploy' ? lastDeployLabel : ''}
              </option>
            ))}
          </select>
          {f.range === 'custom' && (
            <div className="logs-custom">
              <label className="logs-when">
                <span className="muted small">From</span>
                <input type="datetime-local" data-testid="logs-from" value={f.from} aria-invalid={invalid('from')} onChange={(e) => set({ from: e.target.value })} />
              </label>
              <label className="logs-when">
                <span className="muted small">To</span>
                <input type="datetime-local" data-testid="logs-to" value={f.to} aria-invalid={invalid('to')} title="Empty: up to now" onChange={(e) => set({ to: e.target.value })} />
              </label>
            </div>
          )}
          {element === undefined && (
            <select className="logs-select" data-testid="logs-element" value={f.element} aria-label="Element" aria-invalid={invalid('element')} onChange={(e) => set({ element: e.target.value })}>
              <option value="">All elements</option>
              {elementChoices.map((el) => (
                <option key={el} value={el}>
                  {el}
                </option>
              ))}
            </select>
          )}
          <select className="logs-select" data-testid="logs-region" value={f.region} aria-label="Region" aria-invalid={invalid('region')} onChange={(e) => set({ region: e.target.value })}>
            <option value="">All regions</option>
            {regionChoices.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
          <input
            className="logs-alloc mono"
            data-testid="logs-alloc"
            value={f.alloc}
            placeholder="Alloc ID"
            aria-label="Allocation ID (or its first characters)"
            aria-invalid={invalid('alloc')}
            list={`logs-allocs-${scope}`}
            spellCheck={false}
            onChange={(e) => set({ alloc: e.target.value })}
          />
          <datalist id={`logs-allocs-${scope}`}>
            {allocChoices.map((a) => (
              <option key={a} value={a} />
            ))}
          </datalist>
          <select className="logs-select" data-testid="logs-stream" value={f.stream} aria-label="Stream" onChange={(e) => set({ stream: e.target.value as LogFilters['stream'] })}>
            {STREAMS.map((s) => (
              <option key={s} value={s}>
                {STREAM_LABEL[s]}
              </option>
            ))}
          </select>
        </div>
        <div className="logs-tail-group">
          <button
            type="button"
            className={`btn btn-small logs-tail tail-${tailState}`}
            data-testid="logs-tail"
            data-state={tailState}
            aria-pressed={tail}
            disabled={noLoki}
            title={tail ? 'Live: new lines appear at the top as they come. Click to stop.' : 'Follow new lines as they come (live tail)'}
            onClick={() => {
              setTailError('');
              setTail((t) => !t);
            }}
          >
            <span className="tail-dot" aria-hidden="true" />
            {tailState === 'live' ? 'Live' : tailState === 'connecting' ? 'Connecting…' : tailState === 'retrying' ? 'Reconnecting…' : tailState === 'paused' ? 'Live (paused)' : 'Live tail'}
          </button>
          <button type="button" className="btn btn-small logs-refresh" data-testid="logs-refresh" title="Search again" aria-label="Search again" onClick={() => setRefresh((n) => n + 1)}>
            <Icon name="refresh" size={14} />
          </button>
        </div>
      </div>

      {fieldError && (
        <div className="field-error logs-field-error" role="alert" data-testid="logs-error" data-path={fieldError.path} data-code={fieldError.code}>
          {fieldError.message}
        </div>
      )}
      {f.range === 'deploy' && deployError && <div className="field-error">Cannot read the deploy history: {deployError}</div>}

      {noLoki ? (
        <div className="banner banner-warn logs-no-loki" role="alert" data-testid="logs-no-loki">
          <div>
            <b>{NO_LOKI}</b>
            <div className="small muted">{failure?.message}</div>
          </div>
        </div>
      ) : (
        failure &&
        !fieldError && (
          <div className="banner banner-error" role="alert" data-testid="logs-error" data-code={failure.code} data-path={failure.path ?? ''}>
            Cannot read the logs: {failure.message}
          </div>
        )
      )}
      {tailError && (
        <div className="banner banner-error small" role="alert" data-testid="logs-tail-error">
          Live tail stopped: {tailError}
        </div>
      )}
      {notice && tail && (
        <div className="banner banner-info small" role="status" data-testid="logs-notice">
          {notice}
        </div>
      )}

      {!noLoki && (
        <>
          <div className="logs-status small muted" data-testid="logs-status">
            {phase === 'loading' ? (
              <span>Searching…</span>
            ) : phase === 'ready' ? (
              <span data-testid="logs-count">
                {countLabel(lines.length, capped, rangeLabel(applied))}
              </span>
            ) : null}
            <div className="spacer" />
            {onOpenPage && (
              <a
                href="#"
                className="nowrap"
                data-testid="logs-open-page"
                title="Open these logs on the project's Logs page"
                onClick={(e) => {
                  e.preventDefault();
                  onOpenPage(applied);
                }}
              >
                Open in Logs page ↗
              </a>
            )}
          </div>
          <div className="logs-list" data-testid="logs-list" role="log" aria-label="Log lines, newest first">
            {phase === 'ready' && lines.length === 0 && (
              <div className="empty small" data-testid="logs-empty">
                No lines {rangeLabel(applied)}
                {applied.text ? ` matching ${applied.regex ? 'the regex' : `"${applied.text}"`}` : ''}.{tail ? ' New lines will appear here.' : ''}
              </div>
            )}
            {lines.map((l) => (
              <LogRow key={l.key} line={l} hl={hl} onPick={pick} />
            ))}
            {phase === 'ready' && lines.length > 0 && (
              <div className="logs-foot">
                {next ? (
                  <button type="button" className="btn btn-small" data-testid="logs-more" disabled={loadingMore} onClick={() => void loadOlder()}>
                    {loadingMore ? 'Loading…' : `Load older (${PAGE_SIZE} more)`}
                  </button>
                ) : capped ? (
                  <span className="muted small" data-testid="logs-cap">
                    At most {MAX_LINES.toLocaleString('en-US')} lines are kept in memory: narrow the search or the time range to see older ones.
                  </span>
                ) : (
                  <span className="muted small" data-testid="logs-end">
                    No older lines {rangeLabel(applied)}.
                  </span>
                )}
                {moreError && <span className="error-text small">{moreError}</span>}
              </div>
            )}
          </div>
        </>
      )}
    </div>
  );
}

// LogRow is one line: time, element, region, alloc (short), stream, then
// the text with the search marked. Clicking a label filters on it.
const LogRow = memo(function LogRow({ line, hl, onPick }: { line: ShownLine; hl: Highlight; onPick: (c: Partial<LogFilters>) => void }) {
  const [open, setOpen] = useState(false);
  const shown = open ? { text: line.line, hidden: 0 } : clip(line.line);
  const parts = segments(shown.text, highlightRanges(shown.text, hl, hl.re));
  return (
    <div
      className={`log-line${line.level ? ` level-${line.level}` : ''}${line.live ? ' live' : ''}`}
      data-testid="log-line"
      data-level={line.level || 'info'}
      data-element={line.element}
      data-region={line.region}
      data-stream={line.stream}
      data-alloc={line.alloc}
      data-ts={line.ts}
    >
      <span className="log-time mono" data-testid="log-time" title={line.ts}>
        {formatLogTime(line.ts)}
      </span>
      <button type="button" className="log-label log-element" data-testid="log-element" title={`Only ${line.element}`} onClick={() => onPick({ element: line.element })}>
        {line.element}
      </button>
      <button type="button" className="log-label log-region" data-testid="log-region" title={`Only region ${line.region}`} onClick={() => onPick({ region: line.region })}>
        {line.region}
      </button>
      <button type="button" className="log-label log-alloc mono" data-testid="log-alloc" title={`Only allocation ${line.alloc}${line.task ? ` (task ${line.task})` : ''}`} onClick={() => onPick({ alloc: shortAlloc(line.alloc) })}>
        {shortAlloc(line.alloc)}
      </button>
      <button type="button" className={`log-label log-stream stream-${line.stream}`} data-testid="log-stream" title={`Only ${line.stream}`} onClick={() => onPick({ stream: line.stream === 'stderr' ? 'stderr' : 'stdout' })}>
        {line.stream}
      </button>
      <span className="log-text mono" data-testid="log-text">
        {parts.map((p, i) => (p.mark ? <mark key={i}>{p.text}</mark> : p.text))}
        {shown.hidden > 0 && (
          <button type="button" className="log-more" onClick={() => setOpen(true)}>
            … {shown.hidden.toLocaleString('en-US')} more characters
          </button>
        )}
      </span>
    </div>
  );
});
