import { useEffect, useState } from 'react';
import { auth, errorMessage, type SignedIn } from '../api';
import { PASSWORD_MIN, passwordProblem } from '../model/roles';
import { sentence } from '../model/util';
import { navigate } from '../router';
import type { Theme } from '../theme';
import { ThemeToggle } from '../ui/ThemeToggle';

interface Props {
  theme: Theme;
  toggleTheme: () => void;
  // onSession: a session was made (the link was good, or the password was
  // set); the app reads /auth/me again.
  onSession: () => Promise<void>;
}

// A code works once: remember the exchange per code, so that rendering the
// page twice (React's development double effects, a re-mount) does not
// spend it twice and then report it as used.
const exchanges = new Map<string, Promise<SignedIn>>();

function exchange(code: string): Promise<SignedIn> {
  let p = exchanges.get(code);
  if (!p) {
    p = auth.link(code);
    exchanges.set(code, p);
  }
  return p;
}

// codeFromHash reads the code of /sign-in/link#<code>; the fragment never
// reaches a server's logs.
export function codeFromHash(hash: string): string {
  return decodeURIComponent(hash.replace(/^#/, '')).trim();
}

type State = { step: 'exchanging' } | { step: 'password'; who: SignedIn['user'] } | { step: 'error'; message: string };

// LinkPage is the one-time sign-in link (/sign-in/link#<code>): it exchanges
// the code for a session (POST /auth/link), then asks for a password (PUT
// /auth/password) and goes to the projects.
export function LinkPage({ theme, toggleTheme, onSession }: Props) {
  const [code] = useState(() => codeFromHash(location.hash));
  const [state, setState] = useState<State>(() => (code ? { step: 'exchanging' } : { step: 'error', message: 'This link has no code. Copy the whole link, with the part after “#”.' }));
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (!code) return;
    // The code is spent: take it out of the address bar and the history.
    if (location.hash) history.replaceState(null, '', location.pathname);
    let alive = true;
    exchange(code)
      .then(async (r) => {
        if (!alive) return;
        await onSession();
        if (!alive) return;
        if (r.user.has_password) {
          navigate('/', { replace: true });
          return;
        }
        setState({ step: 'password', who: r.user });
      })
      .catch((e) => alive && setState({ step: 'error', message: sentence(errorMessage(e)) }));
    return () => {
      alive = false;
    };
    // onSession is the app's and stable enough; the exchange runs once per code.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [code]);

  async function submit(e: React.FormEvent) {
    e.preventDefault();
    const p = passwordProblem(password, confirm);
    if (p) {
      setError(p);
      return;
    }
    setBusy(true);
    setError('');
    try {
      await auth.setPassword(password);
      await onSession();
      navigate('/', { replace: true });
    } catch (err) {
      setError(sentence(errorMessage(err)));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="auth-page">
      <div className="auth-corner">
        <ThemeToggle theme={theme} toggle={toggleTheme} />
      </div>
      <div className="card auth-card" data-testid="link-page">
        <div className="auth-brand">
          <span className="auth-logo" aria-hidden="true" />
          Backplane
        </div>
        {state.step === 'exchanging' && <div className="muted" data-testid="link-working">Signing you in…</div>}
        {state.step === 'error' && (
          <>
            <h1>This sign-in link does not work</h1>
            <div className="banner banner-error" role="alert" data-testid="link-error">
              {state.message}
            </div>
            <a
              href="/sign-in"
              className="btn btn-block"
              data-testid="link-to-sign-in"
              onClick={(e) => {
                e.preventDefault();
                navigate('/sign-in');
              }}
            >
              Go to sign-in
            </a>
          </>
        )}
        {state.step === 'password' && (
          <form className="form-stack" onSubmit={submit} noValidate data-testid="link-password-form">
            <h1>Set your password</h1>
            <p className="muted" data-testid="link-who">
              You are signed in as <b>{state.who.name}</b>. Choose a password to sign in with from now on; this link will not work again.
            </p>
            <label className="field">
              <span className="field-label">New password</span>
              <input type="password" autoComplete="new-password" data-testid="link-password" value={password} onChange={(e) => setPassword(e.target.value)} autoFocus />
              <span className="field-help">At least {PASSWORD_MIN} characters.</span>
            </label>
            <label className="field">
              <span className="field-label">Repeat it</span>
              <input type="password" autoComplete="new-password" data-testid="link-password-confirm" value={confirm} onChange={(e) => setConfirm(e.target.value)} />
            </label>
            {error && (
              <div className="banner banner-error" role="alert" data-testid="link-password-error">
                {error}
              </div>
            )}
            <button type="submit" className="btn btn-primary btn-block" data-testid="link-set-password" disabled={busy}>
              {busy ? 'Saving…' : 'Set password and continue'}
            </button>
          </form>
        )}
      </div>
    </div>
  );
}
