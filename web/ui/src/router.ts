// A tiny router: `/` is the project list, `/p/<slug>` the editor (with
// `?element=<id>`: that element selected, as alerts link to it),
// `/p/<slug>/audit` a project's audit log, `/p/<slug>/logs` its logs
// (filters in the query), `/sign-in` (with `?next=<path>`)
// the sign-in page, `/sign-in/link#<code>` a one-time sign-in link, `/tokens`
// the user's API tokens and `/users` the server admins' user list. The hash
// form `#/p/<slug>` is accepted too, for servers without a fallback route.
import { useEffect, useState } from 'react';

export type Route =
  | { page: 'projects' }
  | { page: 'editor'; slug: string; element?: string }
  | { page: 'audit'; slug: string }
  | { page: 'logs'; slug: string }
  | { page: 'sign-in'; next: string }
  | { page: 'link' }
  | { page: 'tokens' }
  | { page: 'users' };

const SIGN_IN = '/sign-in';

export function parseRoute(pathname: string, hash = '', search = ''): Route {
  const path = pathname.replace(/\/+$/, '') || '/';
  if (path === SIGN_IN) return { page: 'sign-in', next: safeNext(new URLSearchParams(search).get('next')) };
  if (path === `${SIGN_IN}/link`) return { page: 'link' };
  if (path === '/tokens') return { page: 'tokens' };
  if (path === '/users') return { page: 'users' };
  const h = hash.replace(/^#/, '');
  const a = /^\/p\/([^/?#]+)\/audit\/?$/.exec(pathname) ?? /^\/p\/([^/?#]+)\/audit\/?$/.exec(h);
  if (a) return { page: 'audit', slug: decodeURIComponent(a[1]) };
  const l = /^\/p\/([^/?#]+)\/logs\/?$/.exec(pathname) ?? /^\/p\/([^/?#]+)\/logs\/?$/.exec(h);
  if (l) return { page: 'logs', slug: decodeURIComponent(l[1]) };
  const m = /^\/p\/([^/?#]+)\/?$/.exec(pathname) ?? /^\/p\/([^/?#]+)\/?$/.exec(h);
  if (m) {
    const element = new URLSearchParams(search).get('element') || undefined;
    return element ? { page: 'editor', slug: decodeURIComponent(m[1]), element } : { page: 'editor', slug: decodeURIComponent(m[1]) };
  }
  return { page: 'projects' };
}

// safeNext is where to go after signing in: a path of this site (never
// another origin, `//host` or `/\host`, and never the sign-in pages
// themselves), else `/`.
export function safeNext(next: string | null | undefined): string {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return '/';
  if (/[\u0000-\u001f]/.test(next)) return '/';
  const path = next.split(/[?#]/)[0].replace(/\/+$/, '');
  if (path === SIGN_IN || path.startsWith(`${SIGN_IN}/`)) return '/';
  return next;
}

// signInPath is the sign-in page that comes back to `from` (a path with its
// query) after signing in.
export function signInPath(from: string): string {
  const next = safeNext(from);
  return next === '/' ? SIGN_IN : `${SIGN_IN}?next=${encodeURIComponent(next)}`;
}

// isSignInPage: the pages a signed-out user may see.
export function isSignInPage(r: Route): boolean {
  return r.page === 'sign-in' || r.page === 'link';
}

const listeners = new Set<() => void>();

export function navigate(path: string, opts: { replace?: boolean } = {}): void {
  if (location.pathname + location.search + location.hash !== path) {
    if (opts.replace) history.replaceState(null, '', path);
    else history.pushState(null, '', path);
  }
  listeners.forEach((l) => l());
}

// here is the current path with its query, to come back to.
export function here(): string {
  return location.pathname + location.search;
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.pathname, location.hash, location.search));
  useEffect(() => {
    const update = () => setRoute(parseRoute(location.pathname, location.hash, location.search));
    listeners.add(update);
    window.addEventListener('popstate', update);
    window.addEventListener('hashchange', update);
    return () => {
      listeners.delete(update);
      window.removeEventListener('popstate', update);
      window.removeEventListener('hashchange', update);
    };
  }, []);
  return route;
}
