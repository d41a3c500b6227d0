import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { api, ApiError, auth, csrf, failureKind, isUnsafe, members, request, setApiHooks, setCsrfToken, toApiError } from './api';

// A fake server: each call answers with the next of `answers` and is
// recorded with its method, path, headers and body.
interface Call {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
  credentials?: RequestCredentials;
}
type Answer = { status: number; body?: unknown; headers?: Record<string, string> };

let calls: Call[];
let answers: Answer[];

beforeEach(() => {
  calls = [];
  answers = [];
  setCsrfToken('');
  setApiHooks({});
  vi.stubGlobal('fetch', async (url: string, init: RequestInit) => {
    calls.push({ method: init.method ?? 'GET', url, headers: { ...(init.headers as Record<string, string>) }, body: init.body as string | undefined, credentials: init.credentials });
    const a = answers.shift();
    if (!a) throw new TypeError('no answer left');
    const text = a.body === undefined ? '' : typeof a.body === 'string' ? a.body : JSON.stringify(a.body);
    return new Response(a.status === 204 ? null : text, { status: a.status, headers: a.headers });
  });
});

afterEach(() => {
  vi.unstubAllGlobals();
});

const err = (status: number, code: string, message: string) => ({ status, body: { error: { code, message, path: '' } } });

describe('failureKind', () => {
  it('sends a 401 to the sign-in page, but not from signing in itself', () => {
    expect(failureKind(401, 'unauthorized', '/projects')).toBe('unauthorized');
    expect(failureKind(401, 'unauthorized', '/auth/me')).toBe('unauthorized');
    expect(failureKind(401, 'unauthorized', '/auth/login')).toBe('other');
    expect(failureKind(401, 'unauthorized', '/auth/link')).toBe('other');
  });
  it('tells a stale CSRF token from a role too low', () => {
    expect(failureKind(403, 'csrf', '/projects/shop/schema')).toBe('csrf');
    expect(failureKind(403, 'forbidden', '/projects/shop/schema')).toBe('forbidden');
  });
  it('leaves the rest to the caller', () => {
    for (const s of [400, 404, 409, 429, 500, 503]) expect(failureKind(s, 'x', '/projects')).toBe('other');
  });
  it('knows which methods change something', () => {
    expect(['GET', 'HEAD', 'OPTIONS', 'get'].map(isUnsafe)).toEqual([false, false, false, false]);
    expect(['POST', 'PUT', 'PATCH', 'DELETE', 'put'].map(isUnsafe)).toEqual([true, true, true, true, true]);
  });
});

describe('toApiError', () => {
  it('keeps the server message, code and field path', () => {
    const e = toApiError(400, 'Bad Request', { error: { code: 'bad_request', message: 'role must be one of viewer, editor, deployer, admin', path: 'role' } });
    expect(e).toBeInstanceOf(ApiError);
    expect([e.status, e.code, e.message, e.path]).toEqual([400, 'bad_request', 'role must be one of viewer, editor, deployer, admin', 'role']);
  });
  it('reads Retry-After of a 429', () => {
    const e = toApiError(429, 'Too Many Requests', { error: { code: 'rate_limited', message: 'too many failed sign-ins for this account; try again in 14m59s' } }, new Headers({ 'Retry-After': '899' }));
    expect(e.code).toBe('rate_limited');
    expect(e.retryAfter).toBe(899);
    expect(e.message).toBe('too many failed sign-ins for this account; try again in 14m59s');
  });
  it('falls back to the text or the status for a body that is not ours', () => {
    expect(toApiError(502, 'Bad Gateway', 'upstream down').message).toBe('upstream down');
    expect(toApiError(502, 'Bad Gateway', undefined).message).toBe('Bad Gateway');
    expect(toApiError(502, '', undefined).message).toBe('HTTP 502');
    expect(toApiError(502, '', undefined).code).toBe('http_502');
  });
});

describe('request', () => {
  it('sends the cookie of this origin and the CSRF token with changes only', async () => {
    setCsrfToken('tok-1');
    answers.push({ status: 200, body: { projects: [] } }, { status: 200, body: { project: 'shop', user_name: 'vera', role: 'viewer' } });
    await api.projects();
    await members.set('shop', ' Vera ', 'viewer');
    expect(calls[0].credentials).toBe('same-origin');
    expect(calls[0].headers['X-CSRF-Token']).toBeUndefined();
    expect(calls[1]).toMatchObject({ method: 'PUT', url: '/api/v1/projects/shop/members/vera', credentials: 'same-origin' });
    expect(calls[1].headers['X-CSRF-Token']).toBe('tok-1');
    expect(JSON.parse(calls[1].body!)).toEqual({ role: 'viewer' });
    expect(calls.every((c) => !('X-Backplane-Author' in c.headers))).toBe(true);
  });

  it('keeps the CSRF token from sign-in and from /auth/me, and drops it on sign-out', async () => {
    answers.push({ status: 200, body: { user: { id: 1, name: 'vera' }, csrf_token: 'from-login' } });
    await auth.login('vera', 'pw');
    expect(csrf()).toBe('from-login');
    expect(JSON.parse(calls[0].body!)).toEqual({ name: 'vera', password: 'pw' });
    answers.push({ status: 200, body: { user: { id: 1, name: 'vera' }, auth: 'session', csrf_token: 'from-me', projects: null } });
    const me = await auth.me();
    expect(csrf()).toBe('from-me');
    expect(me.projects).toEqual([]);
    answers.push({ status: 204 });
    await auth.logout();
    expect(calls[2].headers['X-CSRF-Token']).toBe('from-me');
    expect(csrf()).toBe('');
  });

  it('takes the new CSRF token after setting a password (the server starts a new session)', async () => {
    setCsrfToken('old');
    answers.push({ status: 200, body: { csrf_token: 'new' } });
    await auth.setPassword('a long password');
    expect(JSON.parse(calls[0].body!)).toEqual({ password: 'a long password' });
    expect(calls[0].headers['X-CSRF-Token']).toBe('old');
    expect(csrf()).toBe('new');
    answers.push({ status: 204 });
    await auth.setPassword('another long one', 'a long password');
    expect(JSON.parse(calls[1].body!)).toEqual({ password: 'another long one', current_password: 'a long password' });
    expect(csrf()).toBe('new');
  });

  it('calls the unauthorized hook on a 401 and still rejects', async () => {
    const unauthorized = vi.fn();
    const forbidden = vi.fn();
    setApiHooks({ unauthorized, forbidden });
    answers.push(err(401, 'unauthorized', 'your session has ended: sign in again'));
    await expect(api.projects()).rejects.toMatchObject({ status: 401, message: 'your session has ended: sign in again' });
    expect(unauthorized).toHaveBeenCalledTimes(1);
    expect(unauthorized.mock.calls[0][0]).toBeInstanceOf(ApiError);
    expect(forbidden).not.toHaveBeenCalled();
  });

  it('does not send anyone to sign in for a wrong password, and shows the message', async () => {
    const unauthorized = vi.fn();
    setApiHooks({ unauthorized });
    answers.push(err(401, 'unauthorized', 'wrong name or password'));
    await expect(auth.login('vera', 'nope')).rejects.toMatchObject({ status: 401, message: 'wrong name or password' });
    answers.push({ ...err(429, 'rate_limited', 'too many failed sign-ins for this account; try again in 15m0s'), headers: { 'Retry-After': '900' } });
    await expect(auth.login('vera', 'nope')).rejects.toMatchObject({ status: 429, code: 'rate_limited', retryAfter: 900 });
    answers.push({ status: 410, body: { error: { code: 'gone', message: 'this sign-in link was already used or has expired; ask an admin for a new one' } } });
    await expect(auth.link('abc')).rejects.toMatchObject({ status: 410, code: 'gone' });
    expect(unauthorized).not.toHaveBeenCalled();
    expect(csrf()).toBe('');
  });

  it('does not redirect for the first /auth/me either: the app decides', async () => {
    const unauthorized = vi.fn();
    setApiHooks({ unauthorized });
    answers.push(err(401, 'unauthorized', 'not signed in'));
    await expect(auth.me()).rejects.toMatchObject({ status: 401 });
    expect(unauthorized).not.toHaveBeenCalled();
  });

  it("shows the server's message on a 403", async () => {
    const forbidden = vi.fn();
    setApiHooks({ forbidden });
    setCsrfToken('tok');
    answers.push(err(403, 'forbidden', 'your role in shop is viewer; this needs editor'));
    await expect(request('PUT', '/projects/shop/schema', { body: {} })).rejects.toMatchObject({ status: 403, code: 'forbidden' });
    expect(forbidden).toHaveBeenCalledTimes(1);
    expect(forbidden.mock.calls[0][0].message).toBe('your role in shop is viewer; this needs editor');
    // one try only: a role too low is not retried
    expect(calls).toHaveLength(1);
  });

  it('keeps quiet when the caller shows the error itself', async () => {
    const forbidden = vi.fn();
    const unauthorized = vi.fn();
    setApiHooks({ forbidden, unauthorized });
    answers.push(err(403, 'forbidden', 'the current password is wrong'), err(401, 'unauthorized', 'x'));
    await expect(request('PUT', '/auth/password', { body: {}, quiet: true })).rejects.toMatchObject({ status: 403 });
    await expect(request('GET', '/projects', { quiet: true })).rejects.toMatchObject({ status: 401 });
    expect(forbidden).not.toHaveBeenCalled();
    expect(unauthorized).not.toHaveBeenCalled();
  });

  it('fetches a new CSRF token once on a csrf 403 and retries', async () => {
    const forbidden = vi.fn();
    setApiHooks({ forbidden });
    setCsrfToken('stale');
    answers.push(err(403, 'csrf', 'missing or wrong X-CSRF-Token'), { status: 200, body: { user: { id: 1, name: 'vera' }, csrf_token: 'fresh', projects: [] } }, { status: 204 });
    await members.remove('shop', 'walt');
    expect(calls.map((c) => `${c.method} ${c.url}`)).toEqual(['DELETE /api/v1/projects/shop/members/walt', 'GET /api/v1/auth/me', 'DELETE /api/v1/projects/shop/members/walt']);
    expect(calls[0].headers['X-CSRF-Token']).toBe('stale');
    expect(calls[2].headers['X-CSRF-Token']).toBe('fresh');
    expect(csrf()).toBe('fresh');
    expect(forbidden).not.toHaveBeenCalled();
  });

  it('gives up after one retry and reports the 403', async () => {
    const forbidden = vi.fn();
    setApiHooks({ forbidden });
    setCsrfToken('stale');
    answers.push(err(403, 'csrf', 'missing or wrong X-CSRF-Token'), { status: 200, body: { user: { id: 1 }, csrf_token: 'fresh', projects: [] } }, err(403, 'csrf', 'missing or wrong X-CSRF-Token'));
    await expect(members.remove('shop', 'walt')).rejects.toMatchObject({ code: 'csrf' });
    expect(calls).toHaveLength(3);
    expect(forbidden).toHaveBeenCalledTimes(1);
  });

  it('sends to sign in when the retry finds the session gone', async () => {
    const unauthorized = vi.fn();
    setApiHooks({ unauthorized });
    setCsrfToken('stale');
    answers.push(err(403, 'csrf', 'missing or wrong X-CSRF-Token'), err(401, 'unauthorized', 'your session has ended: sign in again'));
    await expect(members.remove('shop', 'walt')).rejects.toMatchObject({ status: 401 });
    expect(unauthorized).toHaveBeenCalledTimes(1);
  });

  it('names an unreachable server', async () => {
    await expect(api.projects()).rejects.toMatchObject({ status: 0, code: 'network' });
  });
});
