import type { ReactNode } from 'react';
import type { Health } from '../api';
import { useAuth } from '../auth';
import { navigate } from '../router';
import type { Theme } from '../theme';
import { ClusterBadge } from './ClusterBadge';
import { ThemeToggle } from './ThemeToggle';
import { UserMenu } from './UserMenu';

export type Section = 'projects' | 'tokens' | 'users' | 'none';

// AppHeader is the top bar of the pages around the editor: the sections
// the user may open, the cluster, who is signed in, the theme.
export function AppHeader({ section, theme, toggleTheme, health, children }: { section: Section; theme: Theme; toggleTheme: () => void; health: Health | null; children?: ReactNode }) {
  const { me } = useAuth();
  const link = (to: string, s: Section, label: string, testid: string) => (
    <a
      href={to}
      className={`nav-link${section === s ? ' active' : ''}`}
      aria-current={section === s ? 'page' : undefined}
      data-testid={testid}
      onClick={(e) => {
        e.preventDefault();
        navigate(to);
      }}
    >
      {label}
    </a>
  );
  return (
    <header className="topbar">
      <div className="brand">Backplane</div>
      <nav className="nav" aria-label="Sections">
        {link('/', 'projects', 'Projects', 'section-projects')}
        {link('/tokens', 'tokens', 'API tokens', 'section-tokens')}
        {me.user.server_admin && link('/users', 'users', 'Users', 'section-users')}
      </nav>
      {children}
      <div className="spacer" />
      <ClusterBadge health={health} />
      <UserMenu />
      <ThemeToggle theme={theme} toggle={toggleTheme} />
    </header>
  );
}
