// Client for the Backplane HTTP API (web/API.md).
import type { KindInfo, Problem, Schema, Status } from './model/types';

export const API_BASE = '/api/v1';

export class ApiError extends Error {
  status: number;
  code: string;
  path?: string;
  body: unknown;
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

export function author(): string {
  try {
    return localStorage.getItem('backplane.author') ?? '';
  } catch {
    return '';
  }
}

export function setAuthor(name: string): void {
  try {
    if (name.trim()) localStorage.setItem('backplane.author', name.trim());
    else localStorage.removeItem('backplane.author');
  } catch {
    // storage unavailable: the header is just not sent
  }
}

interface RequestOptions {
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export interface Response<T> {
  data: T;
  headers: Headers;
  status: number;
}

export async function request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<Response<T>> {
  const headers: Record<string, string> = { Accept: 'application/json', ...(opts.headers ?? {}) };
  let body: BodyInit | undefined;
  if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  if (method !== 'GET' && author()) headers['X-Backplane-Author'] = author();
  let res: globalThis.Response;
  try {
    res = await fetch(API_BASE + path, { method, headers, body, signal: opts.signal });
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
  if (!res.ok) {
    const err = (data as { error?: { code?: string; message?: string; path?: string } } | undefined)?.error;
    throw new ApiError(res.status, err?.code ?? `http_${res.status}`, err?.message ?? (typeof data === 'string' && data ? data : res.statusText || `HTTP ${res.status}`), data, err?.path);
  }
  return { data: data as T, headers: res.headers, status: res.status };
}

const enc = encodeURIComponent;

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
  deployments: (p: string) =>
    request<{ deployments: Deployment[] }>('GET', `/projects/${enc(p)}/deployments`).then((r) => r.data.deployments ?? []),
  status: (p: string) => request<{ statuses: Status[] }>('GET', `/projects/${enc(p)}/status`).then((r) => r.data.statuses ?? []),
  eventsUrl: (p: string) => `${API_BASE}/projects/${enc(p)}/events`,
};

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
