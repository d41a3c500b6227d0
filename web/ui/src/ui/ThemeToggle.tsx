import type { Theme } from '../theme';
import { Icon } from './icons';

export function ThemeToggle({ theme, toggle }: { theme: Theme; toggle: () => void }) {
  const next = theme === 'dark' ? 'light' : 'dark';
  return (
    <button className="icon-btn" data-testid="theme-toggle" onClick={toggle} title={`Switch to ${next} theme`} aria-label={`Switch to ${next} theme`}>
      <Icon name={theme === 'dark' ? 'sun' : 'moon'} />
    </button>
  );
}
