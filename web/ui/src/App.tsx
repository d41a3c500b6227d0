import { useEffect, useState } from 'react';
import { api, type Health } from './api';
import { EditorPage } from './editor/EditorPage';
import { ProjectsPage } from './pages/ProjectsPage';
import { useRoute } from './router';
import { useTheme } from './theme';
import { ToastProvider } from './ui/toast';

export function App() {
  const route = useRoute();
  const [theme, toggleTheme] = useTheme();
  const [health, setHealth] = useState<Health | null>(null);

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

  return (
    <ToastProvider>
      {route.page === 'editor' ? (
        <EditorPage key={route.slug} slug={route.slug} theme={theme} toggleTheme={toggleTheme} health={health} />
      ) : (
        <ProjectsPage theme={theme} toggleTheme={toggleTheme} health={health} />
      )}
    </ToastProvider>
  );
}
