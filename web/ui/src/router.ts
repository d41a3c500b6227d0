// A tiny router: `/` is the project list, `/p/<slug>` the editor. The hash
// form `#/p/<slug>` is accepted too, for servers without a fallback route.
import { useEffect, useState } from 'react';

export type Route = { page: 'projects' } | { page: 'editor'; slug: string };

export function parseRoute(pathname: string, hash = ''): Route {
  const h = hash.replace(/^#/, '');
  const m = /^\/p\/([^/?#]+)\/?$/.exec(pathname) ?? /^\/p\/([^/?#]+)\/?$/.exec(h);
  if (m) return { page: 'editor', slug: decodeURIComponent(m[1]) };
  return { page: 'projects' };
}

const listeners = new Set<() => void>();

export function navigate(path: string): void {
  if (location.pathname + location.hash !== path) history.pushState(null, '', path);
  listeners.forEach((l) => l());
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.pathname, location.hash));
  useEffect(() => {
    const update = () => setRoute(parseRoute(location.pathname, location.hash));
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
