import { useState } from 'react';
import { auth, errorMessage } from '../api';
import { PASSWORD_MIN, passwordProblem } from '../model/roles';
import { Dialog } from './Dialog';
import { useToast } from './toast';

// PasswordDialog changes the signed-in user's password (PUT /auth/password).
// The server ends the user's other sessions; this browser stays signed in.
export function PasswordDialog({ hasPassword, onClose }: { hasPassword: boolean; onClose: () => void }) {
  const toast = useToast();
  const [current, setCurrent] = useState('');
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

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
      await auth.setPassword(password, hasPassword ? current : undefined);
      toast('Password changed; your other sessions were signed out', 'success');
      onClose();
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Dialog title="Change password" testId="password-dialog" onClose={onClose}>
      <form className="form-stack" onSubmit={submit} noValidate>
        {hasPassword && (
          <label className="field">
            <span className="field-label">Current password</span>
            <input type="password" autoComplete="current-password" data-testid="password-current" value={current} onChange={(e) => setCurrent(e.target.value)} autoFocus />
          </label>
        )}
        <label className="field">
          <span className="field-label">New password</span>
          <input type="password" autoComplete="new-password" data-testid="password-new" value={password} onChange={(e) => setPassword(e.target.value)} autoFocus={!hasPassword} />
          <span className="field-help">At least {PASSWORD_MIN} characters.</span>
        </label>
        <label className="field">
          <span className="field-label">Repeat it</span>
          <input type="password" autoComplete="new-password" data-testid="password-confirm" value={confirm} onChange={(e) => setConfirm(e.target.value)} />
        </label>
        {error && (
          <div className="error-text" role="alert" data-testid="password-error">
            {error}
          </div>
        )}
        <div className="row end">
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary" data-testid="password-save" disabled={busy}>
            {busy ? 'Saving…' : 'Change password'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
