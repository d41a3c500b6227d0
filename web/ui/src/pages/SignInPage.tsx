import { useState } from 'react';
import { ApiError, auth, errorMessage } from '../api';
import { sentence } from '../model/util';
import type { Theme } from '../theme';
import { ThemeToggle } from '../ui/ThemeToggle';

interface Props {
  theme: Theme;
  toggleTheme: () => void;
  // onSignedIn: the session is made; the app reads /auth/me and goes on.
  onSignedIn: () => Promise<void>;
  // reason: why the user is here (their session ended), if known.
  reason?: string;
}

// SignInPage signs in with a name and a password (POST /auth/login). The
// server's message is shown as it is: the same one for a wrong name or a
// wrong password, and after too many failures (429) how long to wait.
export function SignInPage({ theme, toggleTheme, onSignedIn, reason }: Props) {
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState('');
  const [limited, setLimited] = useState(false);
  const [busy, setBusy] = useState(false);

  async function submit(e: React.FormEvent) {
    e.preventDefault();
    if (!name.trim() || !password) {
      setError('Enter your name and password');
      setLimited(false);
      return;
    }
    setBusy(true);
    setError('');
    setLimited(false);
    try {
      await auth.login(name.trim(), password);
      setPassword('');
      await onSignedIn();
    } catch (err) {
      setLimited(err instanceof ApiError && err.status === 429);
      // The server's message as it is, as a sentence.
      setError(sentence(errorMessage(err)));
      setPassword('');
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="auth-page">
      <div className="auth-corner">
        <ThemeToggle theme={theme} toggle={toggleTheme} />
      </div>
      <form className="card auth-card" onSubmit={submit} noValidate data-testid="sign-in">
        <div className="auth-brand">
          <span className="auth-logo" aria-hidden="true" />
          Backplane
        </div>
        <h1>Sign in</h1>
        {reason && !error && (
          <div className="banner banner-info" data-testid="sign-in-reason">
            {reason}
          </div>
        )}
        <label className="field">
          <span className="field-label">Name</span>
          <input data-testid="sign-in-name" autoComplete="username" autoCapitalize="none" spellCheck={false} value={name} onChange={(e) => setName(e.target.value)} autoFocus />
        </label>
        <label className="field">
          <span className="field-label">Password</span>
          <input data-testid="sign-in-password" type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} />
        </label>
        {error && (
          <div className={`banner ${limited ? 'banner-warn' : 'banner-error'}`} role="alert" data-testid="sign-in-error" data-code={limited ? 'rate_limited' : undefined}>
            {error}
          </div>
        )}
        <button type="submit" className="btn btn-primary btn-block" data-testid="sign-in-submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <p className="muted small">
          No password yet? Ask a server admin for a one-time sign-in link. On a new server, <code>backplane serve</code> prints one for <b>admin</b>.
        </p>
      </form>
    </div>
  );
}
