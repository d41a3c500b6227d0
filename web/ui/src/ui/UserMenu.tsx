import { useState } from 'react';
import { useAuth } from '../auth';
import { navigate } from '../router';
import { useDismiss } from './Menu';
import { PasswordDialog } from './PasswordDialog';

// UserMenu is the signed-in user in the top bar: their name, and a menu
// with their API tokens, the users page (server admins), a new password and
// sign-out.
export function UserMenu() {
  const { me, signOut } = useAuth();
  const [open, setOpen] = useState(false);
  const [password, setPassword] = useState(false);
  const ref = useDismiss(open, () => setOpen(false));
  const u = me.user;
  const shown = u.display_name || u.name;
  const go = (path: string) => {
    setOpen(false);
    navigate(path);
  };
  return (
    <div className="menu-anchor" ref={ref}>
      <button
        className="user-chip"
        data-testid="user-menu"
        aria-haspopup="menu"
        aria-expanded={open}
        title={`Signed in as ${u.name}${u.server_admin ? ' (server admin)' : ''}`}
        onClick={() => setOpen((o) => !o)}
      >
        <span className="avatar" aria-hidden="true">
          {shown.slice(0, 1).toUpperCase()}
        </span>
        <span className="user-chip-name" data-testid="user-name">
          {u.name}
        </span>
      </button>
      {open && (
        <div className="menu" role="menu" data-testid="user-menu-list">
          <div className="menu-head" data-testid="signed-in-as">
            Signed in as <b>{u.name}</b>
            {u.display_name && u.display_name !== u.name && <div className="muted small">{u.display_name}</div>}
            {u.server_admin && <div className="muted small">Server admin</div>}
          </div>
          <button role="menuitem" className="menu-item" data-testid="nav-projects" onClick={() => go('/')}>
            Projects
          </button>
          <button role="menuitem" className="menu-item" data-testid="nav-tokens" onClick={() => go('/tokens')}>
            API tokens
          </button>
          {u.server_admin && (
            <button role="menuitem" className="menu-item" data-testid="nav-users" onClick={() => go('/users')}>
              Users
            </button>
          )}
          <button
            role="menuitem"
            className="menu-item"
            data-testid="nav-password"
            onClick={() => {
              setOpen(false);
              setPassword(true);
            }}
          >
            Change password…
          </button>
          <div className="menu-sep" />
          <button
            role="menuitem"
            className="menu-item"
            data-testid="sign-out"
            onClick={() => {
              setOpen(false);
              void signOut();
            }}
          >
            Sign out
          </button>
        </div>
      )}
      {password && <PasswordDialog hasPassword={u.has_password !== false} onClose={() => setPassword(false)} />}
    </div>
  );
}
