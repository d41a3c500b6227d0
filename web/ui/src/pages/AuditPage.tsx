import { useCallback, useEffect, useState } from 'react';
import { audit, errorMessage, type AuditEvent, type Health } from '../api';
import { useAuth } from '../auth';
import { permissions, roleIn } from '../model/roles';
import { formatTime } from '../model/util';
import type { Theme } from '../theme';
import { AppHeader } from '../ui/AppHeader';
import { ProjectCrumb } from '../ui/ProjectCrumb';
import { Icon } from '../ui/icons';

interface Props {
  slug: string;
  theme: Theme;
  toggleTheme: () => void;
  health: Health | null;
}

const LIMITS = [100, 500];

// actionClass colours an audit action: failures red, removals amber.
function actionClass(action: string): string {
  if (action.endsWith('_failed')) return 'badge-red';
  if (/(delete|remove|revoke|destroy|purge)$/.test(action)) return 'badge-amber';
  return 'badge-grey';
}

// AuditPage is a project's audit trail for its admins (GET
// /projects/{p}/audit), newest first, with its JSON Lines export.
export function AuditPage({ slug, theme, toggleTheme, health }: Props) {
  const { me } = useAuth();
  const can = permissions(roleIn(me, slug));
  const [limit, setLimit] = useState(LIMITS[0]);
  const [events, setEvents] = useState<AuditEvent[] | null>(null);
  const [error, setError] = useState('');

  const load = useCallback(() => {
    audit
      .list(slug, limit)
      .then((e) => {
        setEvents(e);
        setError('');
      })
      .catch((e) => setError(errorMessage(e)));
  }, [slug, limit]);
  useEffect(() => {
    if (can.audit) load();
  }, [can.audit, load]);

  return (
    <div className="page">
      <AppHeader section="none" theme={theme} toggleTheme={toggleTheme} health={health}>
        <ProjectCrumb slug={slug} testId="audit-back" />
      </AppHeader>
      <main className="projects wide">
        <div className="projects-head">
          <h1>
            Audit log <span className="muted mono h1-sub">{slug}</span>
          </h1>
          {can.audit && (
            <div className="row">
              <label className="row small muted">
                Show
                <select className="inline-select" data-testid="audit-limit" value={limit} onChange={(e) => setLimit(Number(e.target.value))}>
                  {LIMITS.map((l) => (
                    <option key={l} value={l}>
                      {l} newest
                    </option>
                  ))}
                </select>
              </label>
              <button className="btn btn-small" data-testid="audit-refresh" onClick={load}>
                Refresh
              </button>
              <a className="btn btn-small" data-testid="audit-export" href={audit.exportUrl(slug)} download={`${slug}-audit.jsonl`} title="The last 500 entries as JSON Lines">
                <Icon name="download" size={14} /> Export JSON Lines
              </a>
            </div>
          )}
        </div>
        {!can.audit ? (
          <div className="banner banner-warn" role="alert" data-testid="audit-forbidden">
            Only admins of {slug} can read its audit log.
          </div>
        ) : (
          <>
            <p className="muted lead">Every change to the project, who made it and from where. The log is append-only: nothing here can be edited or deleted.</p>
            {error && (
              <div className="banner banner-error" role="alert">
                Cannot load the audit log: {error}
              </div>
            )}
            {events === null && !error && <div className="muted">Loading…</div>}
            {events && events.length === 0 && <div className="empty">No entries yet.</div>}
            {events && events.length > 0 && (
              <div className="table-card">
                <table className="table" data-testid="audit-list">
                  <thead>
                    <tr>
                      <th>When</th>
                      <th>Who</th>
                      <th>From</th>
                      <th>Action</th>
                      <th>Detail</th>
                    </tr>
                  </thead>
                  <tbody>
                    {events.map((ev) => (
                      <tr key={ev.id} data-testid={`audit-${ev.id}`} data-action={ev.action}>
                        <td className="muted nowrap">{formatTime(ev.created_at)}</td>
                        <td className="strong">{ev.actor || <span className="muted">—</span>}</td>
                        <td className="mono muted">{ev.address || '—'}</td>
                        <td>
                          <span className={`badge ${actionClass(ev.action)} mono`}>{ev.action}</span>
                        </td>
                        <td className="detail">{ev.detail}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </>
        )}
      </main>
    </div>
  );
}
