import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import { api, ApiError, auth, errorMessage, setApiHooks, type Health } from './api';
import { AuthContext, type AuthState } from './auth';
import { EditorPage } from './editor/EditorPage';
import type { Me } from './model/roles';
import { sentence } from './model/util';
import { AuditPage } from './pages/AuditPage';
import { LinkPage } from './pages/LinkPage';
import { LogsPage } from './pages/LogsPage';
import { ProjectsPage } from './pages/ProjectsPage';
import { SignInPage } from './pages/SignInPage';
import { TokensPage } from './pages/TokensPage';
import { UsersPage } from './pages/UsersPage';
import { here, isSignInPage, navigate, signInPath, useRoute } from './router';
import { useTheme } from './theme';
import { ToastProvider, useToast } from './ui/toast';

export function App() {
  return (
    <ToastProvider>
      <Shell />
    </ToastProvider>
  );
}

function Shell() {
  const route = useRoute();
  const toast = useToast();
  const [theme, toggleTheme] = useTheme();
  const [health, setHealth] = useState<Health | null>(null);
  // me: undefined while the first GET /auth/me runs, null when signed out.
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const [meError, setMeError] = useState('');
  const [reason, setReason] = useState('');
  const meRef = useRef(me);
  meRef.current = me;
  const routeRef = useRef(route);
  routeRef.current = route;

  useEffect(() => {
    let alive = true;
    const load = () =>
      api
        .health()
        .then((h) => alive && setHealth(h))
        .catch(() => alive && setHealth({ status: 'unreachable' }));
    load();
    const t = setInterval(load, 30000);
    return () => {
      alive = false;
      clearInterval(t);
    };
  }, []);

  const loadMe = useCallback(async () => {
    try {
      const m = await auth.me();
      setMe(m);
      setMeError('');
      setReason('');
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) setMe(null);
      else setMeError(errorMessage(e));
    }
  }, []);
  useEffect(() => {
    void loadMe();
  }, [loadMe]);

  // Any 401 (the session ended, was signed out elsewhere, the user was
  // disabled) sends the user to sign in, to come back here after; any 403
  // shows the server's message, and reads the user's roles again (they may
  // have changed since the page showed what it offers).
  useEffect(() => {
    setApiHooks({
      unauthorized: (e) => {
        if (meRef.current) setReason(sentence(e.message));
        setMe(null);
        if (!isSignInPage(routeRef.current)) navigate(signInPath(here()), { replace: true });
      },
      forbidden: (e) => {
        toast(e.message, 'error');
        if (meRef.current) void loadMe();
      },
    });
    return () => setApiHooks({});
  }, [toast, loadMe]);

  // Signed out on a page that needs a user: the sign-in page, remembering
  // where they were. Signed in on the sign-in page: where they wanted to go.
  // A layout effect, so the address changes with the page shown (no moment
  // shows the sign-in form at the old address).
  useLayoutEffect(() => {
    if (me === null && !isSignInPage(route)) navigate(signInPath(here()), { replace: true });
    if (me && route.page === 'sign-in') navigate(route.next, { replace: true });
  }, [me, route]);

  const signOut = useCallback(async () => {
    try {
      await auth.logout();
    } catch (e) {
      // A 401: the session had already ended, which is what was wanted.
      if (!(e instanceof ApiError && e.status === 401)) toast(`Sign-out failed on the server: ${errorMessage(e)}`, 'error');
    }
    setReason('');
    setMe(null);
    navigate('/sign-in');
  }, [toast]);

  const state: AuthState | null = useMemo(() => (me ? { me, refresh: loadMe, signOut } : null), [me, loadMe, signOut]);

  if (route.page === 'link') return <LinkPage theme={theme} toggleTheme={toggleTheme} onSession={loadMe} />;
  if (me === undefined) {
    return (
      <div className="center-msg">
        {meError ? (
          <>
            <div className="banner banner-error" role="alert">
              Cannot reach the Backplane server: {meError}
            </div>
            <button className="btn" onClick={() => void loadMe()}>
              Try again
            </button>
          </>
        ) : (
          <span className="muted">Loading…</span>
        )}
      </div>
    );
  }
  if (me === null || !state) return <SignInPage theme={theme} toggleTheme={toggleTheme} onSignedIn={loadMe} reason={reason} />;

  const common = { theme, toggleTheme, health };
  let page;
  switch (route.page) {
    case 'editor':
      page = <EditorPage key={route.slug} slug={route.slug} element={route.element} {...common} />;
      break;
    case 'audit':
      page = <AuditPage key={route.slug} slug={route.slug} {...common} />;
      break;
    case 'logs':
      page = <LogsPage key={route.slug} slug={route.slug} {...common} />;
      break;
    case 'tokens':
      page = <TokensPage {...common} />;
      break;
    case 'users':
      page = <UsersPage {...common} />;
      break;
    case 'sign-in':
      page = <div className="center-msg muted">Signed in; opening…</div>;
      break;
    default:
      page = <ProjectsPage {...common} />;
  }
  return <AuthContext.Provider value={state}>{page}</AuthContext.Provider>;
}
