import { useCallback, useEffect, useState } from 'react';
import { api, errorMessage, type Health } from '../api';
import { filtersFromSearch, filtersToSearch, type LogFilters } from '../model/logs';
import { elementRegions } from '../model/types';
import { LogsView } from '../logs/LogsView';
import type { Theme } from '../theme';
import { AppHeader } from '../ui/AppHeader';
import { ProjectCrumb } from '../ui/ProjectCrumb';

interface Props {
  slug: string;
  theme: Theme;
  toggleTheme: () => void;
  health: Health | null;
}

// LogsPage is a project's logs across its elements (/p/<slug>/logs): the
// filters live in the address (?element=api&q=timeout&range=15m), so a
// search can be shared. Reading logs is a viewer's right.
export function LogsPage({ slug, theme, toggleTheme, health }: Props) {
  const [initial] = useState(() => filtersFromSearch(location.search));
  const [elements, setElements] = useState<string[]>([]);
  const [regions, setRegions] = useState<string[]>([]);
  const [schemaError, setSchemaError] = useState('');

  // The schema gives the element and region choices (lines of elements no
  // longer in it add theirs).
  useEffect(() => {
    let alive = true;
    api
      .getSchema(slug)
      .then((doc) => {
        if (!alive) return;
        const els = doc.schema?.elements ?? [];
        setElements(els.map((e) => e.id));
        const rs = new Set(Object.keys(doc.schema?.regions ?? {}));
        for (const e of els) for (const r of elementRegions(doc.schema, e)) rs.add(r);
        setRegions([...rs]);
      })
      .catch((e) => alive && setSchemaError(errorMessage(e)));
    return () => {
      alive = false;
    };
  }, [slug]);

  const onFilters = useCallback(
    (f: LogFilters) => {
      const to = `/p/${encodeURIComponent(slug)}/logs${filtersToSearch(f)}`;
      if (location.pathname + location.search !== to) history.replaceState(null, '', to);
    },
    [slug],
  );

  return (
    <div className="page logs-page">
      <AppHeader section="none" theme={theme} toggleTheme={toggleTheme} health={health}>
        <ProjectCrumb slug={slug} testId="logs-back" />
      </AppHeader>
      <main className="logs-main">
        <div className="projects-head">
          <h1>
            Logs <span className="muted mono h1-sub">{slug}</span>
          </h1>
          <span className="muted small">Every element's stdout and stderr, from Loki. Click a label on a line to filter on it.</span>
        </div>
        {schemaError && <div className="banner banner-error">Cannot read the schema: {schemaError}</div>}
        <LogsView slug={slug} elements={elements} regions={regions} initial={initial} onFilters={onFilters} />
      </main>
    </div>
  );
}
