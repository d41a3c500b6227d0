// Client for the Backplane HTTP API (web/API.md). Every call goes with the
// session cookie of this origin; changes carry the session's CSRF token;
// a 401 or a 403 anywhere reaches the app through setApiHooks.
import type { Alert, NewSilence, Silence } from './model/alerts';
import type { StoredCommit } from './model/autodeploy';
import type { Build, PlannedBuild } from './model/builds';
import type { LogLine } from './model/logs';
import type { MetricsRange, MetricsSnapshot } from './model/metrics';
import type { Me, Role, TokenInfo, User } from './model/roles';
import type { KindInfo, Problem, Schema, Status } from './model/types';

export const API_BASE = '/api/v1';

const enc = encodeURIComponent;

export class ApiError extends Error {
  status: number;
  code: string;
  path?: string;
  body: unknown;
  // retryAfter: seconds, from a 429's Retry-After.
  retryAfter?: number;
  constructor(status: number, code: string, message: string, body: unknown, path?: string) {
    super(message);
    this.status = status;
    this.code = code;
    this.body = body;
    this.path = path;
  }
}

export interface Project {
  slug: string;
  name: string;
  created_at?: string;
  updated_at?: string;
  head?: number;
}

export interface SchemaDoc {
  revision: number;
  etag: string;
  yaml?: string;
  schema: Schema;
  problems?: Problem[];
}

export interface ValidateResult {
  valid: boolean;
  problems?: Problem[];
  warnings?: Problem[];
}

export interface RevisionInfo {
  number: number;
  author?: string;
  message?: string;
  created_at?: string;
  digest?: string;
}

export interface Head {
  revision: number;
  etag: string;
  yaml?: string;
  author?: string;
  created_at?: string;
}

export interface PlanItem {
  element: string;
  region: string;
  job_id?: string;
  action: string;
  changes?: unknown;
  unplaced?: unknown;
  warnings?: unknown;
  // What the plan kept from the live job: an autoscaled group's count
  // (the autoscaler's), or that it was clamped into new bounds.
  notes?: string[];
  error?: string;
}

export interface PlanResult {
  revision: number;
  items?: PlanItem[];
  problems?: string[];
  warnings?: unknown[];
  // builds: the elements a deploy builds first.
  builds?: PlannedBuild[];
}

export interface Deployment {
  id: string | number;
  project?: string;
  revision?: number;
  action?: string;
  author?: string;
  status?: string;
  summary?: string;
  created_at?: string;
  updated_at?: string;
  // trigger: what started it ("user", "webhook", "poll"); git_sha the
  // commit a git-triggered deploy (or a redeploy of a commit) built.
  trigger?: string;
  git_sha?: string;
}

// The project's webhook for deploys from git (GET /projects/{p}/hooks).
export interface Hooks {
  url: string;
  secret: string;
}

export interface DeployItem {
  element: string;
  region: string;
  job_id?: string;
  outcome: string;
  error?: string;
}

export interface DeployResult {
  deployment?: Deployment;
  items?: DeployItem[];
}

// One job's outcome of a rollback or a destroy (jobs.OpResult): version is
// the version rolled back to, error what went wrong in that region.
export interface OpResult {
  element: string;
  region: string;
  job_id?: string;
  namespace?: string;
  version?: number;
  eval_id?: string;
  error?: string;
}

export interface RollbackBody {
  element: string;
  version?: number;
}

export interface DestroyBody {
  elements?: string[];
  purge: boolean;
}

export interface Health {
  status: string;
  store?: string;
  cluster?: string;
  version?: string;
}

// ---- the caller: session cookie, CSRF token, and what to do on 401/403 ----

// The session cookie (backplane_session, HttpOnly) goes with every request
// to this origin; the CSRF token of the session comes back from signing in
// and from GET /auth/me, and goes out as X-CSRF-Token with every change.
let csrfToken = '';

export function setCsrfToken(t: string | undefined): void {
  csrfToken = t ?? '';
}

export function csrf(): string {
  return csrfToken;
}

// isUnsafe: the methods that change something and need X-CSRF-Token.
export function isUnsafe(method: string): boolean {
  const m = method.toUpperCase();
  return m !== 'GET' && m !== 'HEAD' && m !== 'OPTIONS';
}

// ApiHooks are how the app hears about authorization failures anywhere:
// unauthorized (401: no session, or it ended) sends the user to sign in;
// forbidden (403: the role is too low) shows the server's message.
export interface ApiHooks {
  unauthorized?: (e: ApiError) => void;
  forbidden?: (e: ApiError) => void;
}

let hooks: ApiHooks = {};

export function setApiHooks(h: ApiHooks): void {
  hooks = h;
}

// SIGN_IN_PATHS answer 401 for a wrong password or an unknown link: that is
// the sign-in page's own error to show, not a reason to go to it.
const SIGN_IN_PATHS = ['/auth/login', '/auth/link'];

export type Failure = 'unauthorized' | 'csrf' | 'forbidden' | 'other';

// failureKind sorts an error answer: a 401 (but from signing in itself)
// sends the user to sign in; a 403 `csrf` means the CSRF token is stale
// (fetch it again and retry once); any other 403 is a role too low.
export function failureKind(status: number, code: string, path: string): Failure {
  const bare = path.split('?')[0];
  if (status === 401) return SIGN_IN_PATHS.includes(bare) ? 'other' : 'unauthorized';
  if (status === 403) return code === 'csrf' ? 'csrf' : 'forbidden';
  return 'other';
}

interface RequestOptions {
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  // quiet: the caller shows a 401 or 403 itself (a form's inline error), so
  // the hooks are not called.
  quiet?: boolean;
}

export interface Response<T> {
  data: T;
  headers: Headers;
  status: number;
}

// toApiError reads an error answer ({"error": {code, message, path}}); a
// 429 keeps its Retry-After (seconds) in retryAfter.
export function toApiError(status: number, statusText: string, data: unknown, headers?: Headers): ApiError {
  const err = (data as { error?: { code?: string; message?: string; path?: string } } | undefined)?.error;
  const message = err?.message || (typeof data === 'string' && data ? data : statusText || `HTTP ${status}`);
  const e = new ApiError(status, err?.code ?? `http_${status}`, message, data, err?.path || undefined);
  const ra = headers?.get('Retry-After');
  if (ra && /^\d+$/.test(ra)) e.retryAfter = Number(ra);
  return e;
}

async function send<T>(method: string, path: string, opts: RequestOptions): Promise<Response<T>> {
  const headers: Record<string, string> = { Accept: 'application/json', ...(opts.headers ?? {}) };
  let body: BodyInit | undefined;
  if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  if (isUnsafe(method) && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  let res: globalThis.Response;
  try {
    res = await fetch(API_BASE + path, { method, headers, body, signal: opts.signal, credentials: 'same-origin' });
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network', `cannot reach the server: ${e instanceof Error ? e.message : String(e)}`, undefined);
  }
  const text = await res.text();
  let data: unknown = undefined;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (!res.ok) throw toApiError(res.status, res.statusText, data, res.headers);
  return { data: data as T, headers: res.headers, status: res.status };
}

// refreshCsrf reads the session's CSRF token again from GET /auth/me.
async function refreshCsrf(): Promise<void> {
  const r = await send<Me>('GET', '/auth/me', {});
  setCsrfToken(r.data.csrf_token);
}

export async function request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<Response<T>> {
  try {
    return await send<T>(method, path, opts);
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    let err = e;
    if (failureKind(err.status, err.code, path) === 'csrf') {
      // The session's CSRF token changed (signed in again, or a password
      // set in another tab): fetch it again and try once more.
      try {
        await refreshCsrf();
        return await send<T>(method, path, opts);
      } catch (e2) {
        if (!(e2 instanceof ApiError)) throw e2;
        err = e2;
      }
    }
    const kind = failureKind(err.status, err.code, path);
    if (!opts.quiet) {
      if (kind === 'unauthorized') hooks.unauthorized?.(err);
      else if (kind === 'forbidden' || kind === 'csrf') hooks.forbidden?.(err);
    }
    throw err;
  }
}

// ---- authentication, users, tokens, members, audit (web/API.md) ----

export interface SignedIn {
  user: User;
  csrf_token: string;
}

export interface Member {
  project: string;
  user_id: number;
  user_name: string;
  role: Role;
  added_at?: string;
}

export interface AuditEvent {
  id: number;
  project: string;
  actor: string;
  address?: string;
  action: string;
  detail: string;
  created_at: string;
}

export interface NewUser {
  name: string;
  display_name?: string;
  server_admin: boolean;
  password?: string;
}

export interface NewToken {
  name: string;
  project?: string;
  role: Role;
  expires_in?: string;
}

export const auth = {
  // me is the signed-in user, or a 401 (not signed in) that does not send
  // anyone anywhere: the app decides.
  me: async (): Promise<Me> => {
    const r = await request<Me>('GET', '/auth/me', { quiet: true });
    setCsrfToken(r.data.csrf_token);
    return { ...r.data, projects: r.data.projects ?? [] };
  },
  login: async (name: string, password: string): Promise<SignedIn> => {
    const r = await request<SignedIn>('POST', '/auth/login', { body: { name, password }, quiet: true });
    setCsrfToken(r.data.csrf_token);
    return r.data;
  },
  // link exchanges a one-time sign-in link's code for a session.
  link: async (code: string): Promise<SignedIn> => {
    const r = await request<SignedIn>('POST', '/auth/link', { body: { code }, quiet: true });
    setCsrfToken(r.data.csrf_token);
    return r.data;
  },
  logout: async (): Promise<void> => {
    try {
      await request<unknown>('POST', '/auth/logout', { quiet: true });
    } finally {
      setCsrfToken('');
    }
  },
  // setPassword sets the caller's password (current is needed when they
  // have one). The server ends the user's other sessions and starts a new
  // one for this browser, whose CSRF token comes back.
  setPassword: async (password: string, current?: string): Promise<void> => {
    const body: Record<string, string> = { password };
    if (current !== undefined) body.current_password = current;
    const r = await request<{ csrf_token?: string } | undefined>('PUT', '/auth/password', { body, quiet: true });
    if (r.data?.csrf_token) setCsrfToken(r.data.csrf_token);
  },
};

export const users = {
  list: () => request<{ users: User[] }>('GET', '/users').then((r) => r.data.users ?? []),
  create: (u: NewUser) => request<{ user: User; link?: string }>('POST', '/users', { body: u, quiet: true }).then((r) => r.data),
  update: (id: number, change: { server_admin?: boolean; disabled?: boolean }) =>
    request<User>('PATCH', `/users/${id}`, { body: change }).then((r) => r.data),
};

export const tokens = {
  list: () => request<{ tokens: TokenInfo[] }>('GET', '/tokens').then((r) => r.data.tokens ?? []),
  create: (t: NewToken) => request<{ token: string; info: TokenInfo }>('POST', '/tokens', { body: t, quiet: true }).then((r) => r.data),
  revoke: (id: number) => request<unknown>('DELETE', `/tokens/${id}`).then(() => undefined),
};

export const members = {
  list: (p: string) => request<{ members: Member[] }>('GET', `/projects/${enc(p)}/members`).then((r) => r.data.members ?? []),
  set: (p: string, name: string, role: Role) =>
    request<Member>('PUT', `/projects/${enc(p)}/members/${enc(name.trim().toLowerCase())}`, { body: { role } }).then((r) => r.data),
  remove: (p: string, name: string) => request<unknown>('DELETE', `/projects/${enc(p)}/members/${enc(name)}`).then(() => undefined),
};

export const audit = {
  list: (p: string, limit = 100) =>
    request<{ events: AuditEvent[] }>('GET', `/projects/${enc(p)}/audit?limit=${limit}`).then((r) => r.data.events ?? []),
  // exportUrl is the project's audit log as JSON Lines (a plain GET: the
  // session cookie goes with it).
  exportUrl: (p: string, limit = 500) => `${API_BASE}/projects/${enc(p)}/audit?format=jsonl&limit=${limit}`,
};

export const api = {
  health: () => request<Health>('GET', '/healthz').then((r) => r.data),
  kinds: () => request<{ kinds: KindInfo[] }>('GET', '/kinds').then((r) => r.data.kinds ?? []),
  projects: () => request<{ projects: Project[] }>('GET', '/projects').then((r) => r.data.projects ?? []),
  createProject: (slug: string, name: string) => request<Project>('POST', '/projects', { body: { slug, name } }).then((r) => r.data),
  project: (p: string) => request<Project>('GET', `/projects/${enc(p)}`).then((r) => r.data),
  renameProject: (p: string, name: string) => request<Project>('PATCH', `/projects/${enc(p)}`, { body: { name } }).then((r) => r.data),
  deleteProject: (p: string) => request<unknown>('DELETE', `/projects/${enc(p)}`),
  getSchema: async (p: string): Promise<SchemaDoc> => {
    const r = await request<SchemaDoc>('GET', `/projects/${enc(p)}/schema`);
    return { ...r.data, etag: r.headers.get('ETag') ?? r.data.etag };
  },
  putSchema: async (p: string, schema: Schema, ifMatch: string, message?: string): Promise<SchemaDoc> => {
    const headers: Record<string, string> = { 'If-Match': ifMatch };
    if (message && message.trim()) headers['X-Backplane-Message'] = message.trim();
    const r = await request<SchemaDoc>('PUT', `/projects/${enc(p)}/schema`, { body: schema, headers });
    return { ...r.data, etag: r.headers.get('ETag') ?? r.data.etag };
  },
  revisions: (p: string, limit = 50) =>
    request<{ revisions: RevisionInfo[] }>('GET', `/projects/${enc(p)}/revisions?limit=${limit}`).then((r) => r.data.revisions ?? []),
  revision: (p: string, n: number) => request<RevisionInfo & { yaml: string }>('GET', `/projects/${enc(p)}/revisions/${n}`).then((r) => r.data),
  diff: (p: string, n: number, against?: number) =>
    request<{ from: number; to: number; diff: string }>(
      'GET',
      `/projects/${enc(p)}/revisions/${n}/diff${against !== undefined ? `?against=${against}` : ''}`,
    ).then((r) => r.data),
  validate: (p: string, schema: Schema, signal?: AbortSignal) =>
    request<ValidateResult>('POST', `/projects/${enc(p)}/validate`, { body: schema, signal }).then((r) => r.data),
  render: (p: string, schema: Schema | undefined, element?: string, signal?: AbortSignal) =>
    request<{ files: Record<string, string>; warnings?: unknown[] }>(
      'POST',
      `/projects/${enc(p)}/render${element ? `?element=${enc(element)}` : ''}`,
      { body: schema, signal },
    ).then((r) => r.data),
  plan: (p: string, body: { revision?: number; elements?: string[] } = {}) =>
    request<PlanResult>('POST', `/projects/${enc(p)}/plan`, { body }).then((r) => r.data),
  deploy: (p: string, body: { revision?: number; elements?: string[]; prune?: boolean } = {}) =>
    request<DeployResult>('POST', `/projects/${enc(p)}/deploy`, { body }).then((r) => r.data),
  rollback: (p: string, body: RollbackBody) =>
    request<{ results: OpResult[] }>('POST', `/projects/${enc(p)}/rollback`, { body }).then((r) => r.data.results ?? []),
  destroy: (p: string, body: DestroyBody) =>
    request<{ results: OpResult[] }>('POST', `/projects/${enc(p)}/destroy`, { body }).then((r) => r.data.results ?? []),
  // redeployCommit queues a deploy of one element at a commit it ran
  // before (202: {queued, sha}).
  redeployCommit: (p: string, element: string, sha: string) =>
    request<{ queued?: string[]; sha?: string }>('POST', `/projects/${enc(p)}/deploy`, { body: { element, sha } }).then((r) => r.data),
  hooks: (p: string) => request<Hooks>('GET', `/projects/${enc(p)}/hooks`).then((r) => r.data),
  rotateHooks: (p: string) => request<Hooks>('POST', `/projects/${enc(p)}/hooks/rotate`).then((r) => r.data),
  deployments: (p: string) =>
    request<{ deployments: Deployment[] }>('GET', `/projects/${enc(p)}/deployments`).then((r) => r.data.deployments ?? []),
  commits: (p: string) =>
    request<{ commits: StoredCommit[] }>('GET', `/projects/${enc(p)}/commits`).then((r) => r.data.commits ?? []),
  status: (p: string) => request<{ statuses: Status[] }>('GET', `/projects/${enc(p)}/status`).then((r) => r.data.statuses ?? []),
  eventsUrl: (p: string) => `${API_BASE}/projects/${enc(p)}/events`,
};

// ---- logs (web/API.md, Logs): always within the project of the path ----

export interface LogPage {
  lines: LogLine[];
  // next: pass it back as cursor (same filters) for the following page;
  // '' when there is nothing more.
  next: string;
}

export const logs = {
  // search is one page of GET /projects/{p}/logs; query is model/logs.ts's
  // searchQuery. 503 no_loki without Loki; 400 with the parameter at fault
  // in `path` (a bad regex: `regex`).
  search: (p: string, query: string, signal?: AbortSignal) =>
    request<Partial<LogPage>>('GET', `/projects/${enc(p)}/logs?${query}`, { signal }).then((r) => ({ lines: r.data?.lines ?? [], next: r.data?.next ?? '' })),
  // tailUrl is the live tail (Server-Sent Events: line, notice, error);
  // query is model/logs.ts's tailQuery.
  tailUrl: (p: string, query: string) => `${API_BASE}/projects/${enc(p)}/logs/tail${query ? `?${query}` : ''}`,
};

// ---- alerts and silences (web/API.md, Alerts): the project's, from its
// Alertmanager. Without one configured every call answers 503
// no_alertmanager. ----

export const alerts = {
  // list is the project's alerts (every element's, or one element's).
  list: (p: string, element?: string, signal?: AbortSignal) =>
    request<{ alerts: Alert[] | null }>('GET', `/projects/${enc(p)}/alerts${element ? `?element=${enc(element)}` : ''}`, { signal }).then((r) => r.data?.alerts ?? []),
  // silences lists the project's silences, expired ones too, newest first.
  silences: (p: string, signal?: AbortSignal) =>
    request<{ silences: Silence[] | null }>('GET', `/projects/${enc(p)}/silences`, { signal }).then((r) => r.data?.silences ?? []),
  // silence mutes an element's alerts for a while (a deployer's right); a
  // bad field answers 400 with its name in `path`. quiet: the form shows
  // a refusal itself.
  silence: (p: string, body: NewSilence) =>
    request<{ silence: Silence }>('POST', `/projects/${enc(p)}/silences`, { body, quiet: true }).then((r) => r.data.silence),
  // expire ends a silence now.
  expire: (p: string, id: string) => request<unknown>('DELETE', `/projects/${enc(p)}/silences/${enc(id)}`).then(() => undefined),
};

// ---- metrics (web/API.md, Metrics): the project's instances' CPU, memory
// and restarts. Without a cluster (and without Prometheus) every call
// answers 503 no_cluster; without Prometheus a range beyond 15m answers
// 400 with path `range`. ----

export const metrics = {
  // range is GET /projects/{p}/metrics; query is model/metrics.ts's
  // metricsQuery.
  range: (p: string, query: string, signal?: AbortSignal) =>
    request<MetricsRange>('GET', `/projects/${enc(p)}/metrics?${query}`, { signal }).then((r) => ({ ...r.data, series: r.data?.series ?? [] })),
  // now is every instance of the project (or of one element) now, as the
  // `metrics` events of the project's stream carry it.
  now: (p: string, element?: string, signal?: AbortSignal) =>
    request<MetricsSnapshot>('GET', `/projects/${enc(p)}/metrics/now${element ? `?element=${enc(element)}` : ''}`, { signal }).then((r) => ({
      ...r.data,
      instances: r.data?.instances ?? [],
    })),
};

// ---- builds (web/API.md, Builds): elements built from source, built once
// per commit by serve before a deploy applies. ----

export const builds = {
  // list is the project's recent builds (or one element's), newest first;
  // enabled says whether the server builds at all.
  list: (p: string, element?: string, limit = 20, signal?: AbortSignal) =>
    request<{ builds: Build[] | null; enabled?: boolean }>(
      'GET',
      `/projects/${enc(p)}/builds?limit=${limit}${element ? `&element=${enc(element)}` : ''}`,
      { signal },
    ).then((r) => ({ builds: r.data?.builds ?? [], enabled: r.data?.enabled !== false })),
  // logUrl is a build's log (Server-Sent Events: line, then one end with
  // the build as it ended).
  logUrl: (p: string, id: number) => `${API_BASE}/projects/${enc(p)}/builds/${id}/log`,
};

// isNoAlertmanager: the server has no Alertmanager configured.
export function isNoAutodeploy(e: unknown): boolean {
  return e instanceof ApiError && e.code === 'no_autodeploy';
}

export function isNoAlertmanager(e: unknown): boolean {
  return e instanceof ApiError && e.code === 'no_alertmanager';
}

export function problemsOf(e: unknown): Problem[] {
  if (e instanceof ApiError) {
    const b = e.body as { problems?: Problem[] } | undefined;
    if (b && Array.isArray(b.problems)) return b.problems;
  }
  return [];
}

export function errorMessage(e: unknown): string {
  if (e instanceof ApiError) return e.message;
  if (e instanceof Error) return e.message;
  return String(e);
}
