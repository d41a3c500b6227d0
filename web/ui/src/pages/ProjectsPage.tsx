import { useCallback, useEffect, useRef, useState } from 'react';
import { api, errorMessage, problemsOf, request, type Health, type Project } from '../api';
import { useAuth } from '../auth';
import { composeBody, defaultSlug, sortPicked, warningText, type ComposeWarning, type PickedFile } from '../model/composeImport';
import type { Problem } from '../model/types';
import { canAdminServer, permissions, roleIn, visibleProjects } from '../model/roles';
import { formatTime, slugError } from '../model/util';
import { navigate } from '../router';
import type { Theme } from '../theme';
import { AppHeader } from '../ui/AppHeader';
import { Dialog } from '../ui/Dialog';
import { useToast } from '../ui/toast';

interface Props {
  theme: Theme;
  toggleTheme: () => void;
  health: Health | null;
}

export function ProjectsPage({ theme, toggleTheme, health }: Props) {
  const toast = useToast();
  const { me, refresh } = useAuth();
  const serverAdmin = canAdminServer(me);
  const [projects, setProjects] = useState<Project[] | null>(null);
  const [loadError, setLoadError] = useState<string>('');
  const [creating, setCreating] = useState(false);
  const [slug, setSlug] = useState('');
  const [name, setName] = useState('');
  const [slugTouched, setSlugTouched] = useState(false);
  const [createError, setCreateError] = useState('');
  const [busy, setBusy] = useState(false);
  const [renaming, setRenaming] = useState<string | null>(null);
  const [renameValue, setRenameValue] = useState('');
  const [deleting, setDeleting] = useState<Project | null>(null);
  const [importing, setImporting] = useState(false);
  const [imported, setImported] = useState<ImportResult | null>(null);

  const load = useCallback(() => {
    api
      .projects()
      .then((p) => {
        setProjects(p);
        setLoadError('');
      })
      .catch((e) => setLoadError(errorMessage(e)));
  }, []);
  useEffect(load, [load]);
  // Roles change while signed in (an admin adds this user to a project).
  useEffect(() => {
    void refresh();
  }, [refresh]);
  // Only the projects the user has a role in: the others answer 404.
  const shown = projects === null ? null : visibleProjects(me, projects);

  const localSlugError = slugTouched || slug ? slugError(slug) : undefined;

  async function create(e: React.FormEvent) {
    e.preventDefault();
    setSlugTouched(true);
    const err = slugError(slug);
    if (err) {
      setCreateError(err);
      return;
    }
    setBusy(true);
    setCreateError('');
    try {
      const p = await api.createProject(slug, name.trim() || slug);
      toast(`Created project ${p.slug}`, 'success');
      setSlug('');
      setName('');
      setSlugTouched(false);
      setCreating(false);
      load();
    } catch (e) {
      setCreateError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  }

  async function rename(p: Project) {
    const n = renameValue.trim();
    if (!n || n === p.name) {
      setRenaming(null);
      return;
    }
    try {
      await api.renameProject(p.slug, n);
      toast(`Renamed to ${n}`, 'success');
      setRenaming(null);
      load();
    } catch (e) {
      toast(errorMessage(e), 'error');
    }
  }

  async function remove(p: Project) {
    try {
      await api.deleteProject(p.slug);
      toast(`Deleted ${p.slug}`, 'success');
      setDeleting(null);
      load();
    } catch (e) {
      toast(errorMessage(e), 'error');
    }
  }

  return (
    <div className="page">
      <AppHeader section="projects" theme={theme} toggleTheme={toggleTheme} health={health} />
      <main className="projects">
        <div className="projects-head">
          <h1>Projects</h1>
          {serverAdmin && (
            <div className="row">
              <button
                className="btn"
                data-testid="import-compose"
                aria-expanded={importing}
                onClick={() => {
                  setImporting((v) => !v);
                  setImported(null);
                }}
              >
                Import compose
              </button>
              <button className="btn btn-primary" data-testid="new-project" onClick={() => setCreating((c) => !c)}>
                New project
              </button>
            </div>
          )}
        </div>
        {importing && serverAdmin && (
          <ImportComposeForm
            onCancel={() => setImporting(false)}
            onImported={(r) => {
              toast(`Imported project ${r.project.slug}${r.warnings.length ? ` with ${r.warnings.length} warning${r.warnings.length === 1 ? '' : 's'}` : ''}`, 'success');
              setImporting(false);
              setImported(r);
              load();
            }}
          />
        )}
        {imported && <ImportComposeResult result={imported} onClose={() => setImported(null)} />}
        {creating && serverAdmin && (
          <form className="card new-project" onSubmit={create} noValidate>
            <label className="field">
              <span className="field-label">Slug</span>
              <input
                data-testid="new-project-slug"
                value={slug}
                autoFocus
                placeholder="shop"
                aria-invalid={!!localSlugError}
                onChange={(e) => {
                  setSlug(e.target.value);
                  setCreateError('');
                }}
                onBlur={() => setSlugTouched(true)}
              />
              <span className="field-help">Lowercase DNS label; it prefixes every job ID.</span>
              {localSlugError && <span className="field-error">{localSlugError}</span>}
            </label>
            <label className="field">
              <span className="field-label">Name</span>
              <input data-testid="new-project-name" value={name} placeholder="Shop" onChange={(e) => setName(e.target.value)} />
            </label>
            <div className="row">
              <button type="submit" className="btn btn-primary" data-testid="create-project" disabled={busy}>
                Create
              </button>
              <button type="button" className="btn" onClick={() => setCreating(false)}>
                Cancel
              </button>
            </div>
            {createError && (
              <div className="error-text" data-testid="new-project-error" role="alert">
                {createError}
              </div>
            )}
          </form>
        )}
        {loadError && (
          <div className="banner banner-error" role="alert">
            Cannot load projects: {loadError}
          </div>
        )}
        {shown === null && !loadError && <div className="muted">Loading…</div>}
        {shown && shown.length === 0 && (
          <div className="empty" data-testid="projects-empty">
            {serverAdmin ? 'No projects yet. Create one to start drawing.' : 'You are not a member of any project yet. Ask a project admin to add you.'}
          </div>
        )}
        {shown && shown.length > 0 && (
          <ul className="project-list" data-testid="project-list">
            <li className="project-row project-row-head" aria-hidden="true">
              <span>Name</span>
              <span>Slug</span>
              <span>Your role</span>
              <span>Revision</span>
              <span>Updated</span>
              <span />
            </li>
            {shown.map((p) => {
              const role = roleIn(me, p.slug);
              const can = permissions(role);
              return (
                <li
                  key={p.slug}
                  className="project-row"
                  data-testid={`project-${p.slug}`}
                  onClick={() => renaming !== p.slug && navigate(`/p/${p.slug}`)}
                >
                  <span className="project-name">
                    {renaming === p.slug ? (
                      <input
                        data-testid={`rename-input-${p.slug}`}
                        value={renameValue}
                        autoFocus
                        onClick={(e) => e.stopPropagation()}
                        onChange={(e) => setRenameValue(e.target.value)}
                        onKeyDown={(e) => {
                          if (e.key === 'Enter') rename(p);
                          if (e.key === 'Escape') setRenaming(null);
                        }}
                      />
                    ) : (
                      <a
                        href={`/p/${p.slug}`}
                        data-testid={`open-${p.slug}`}
                        onClick={(e) => {
                          e.preventDefault();
                          e.stopPropagation();
                          navigate(`/p/${p.slug}`);
                        }}
                      >
                        {p.name || p.slug}
                      </a>
                    )}
                  </span>
                  <span className="mono">{p.slug}</span>
                  <span>
                    <span className={`badge role-badge role-${role ?? 'none'}`} data-testid={`role-${p.slug}`}>
                      {role ?? 'none'}
                    </span>
                  </span>
                  <span>{p.head ? `rev ${p.head}` : '—'}</span>
                  <span className="muted">{formatTime(p.updated_at)}</span>
                  <span className="row-actions" onClick={(e) => e.stopPropagation()}>
                    {renaming === p.slug ? (
                      <>
                        <button className="btn btn-small btn-primary" data-testid={`rename-save-${p.slug}`} onClick={() => rename(p)}>
                          Save
                        </button>
                        <button className="btn btn-small" onClick={() => setRenaming(null)}>
                          Cancel
                        </button>
                      </>
                    ) : (
                      can.manageProject && (
                        <>
                          <button
                            className="btn btn-small"
                            data-testid={`rename-${p.slug}`}
                            onClick={() => {
                              setRenaming(p.slug);
                              setRenameValue(p.name);
                            }}
                          >
                            Rename
                          </button>
                          <button className="btn btn-small btn-danger" data-testid={`delete-${p.slug}`} onClick={() => setDeleting(p)}>
                            Delete
                          </button>
                        </>
                      )
                    )}
                  </span>
                </li>
              );
            })}
          </ul>
        )}
      </main>
      {deleting && (
        <Dialog
          title={`Delete ${deleting.name || deleting.slug}?`}
          testId="delete-dialog"
          onClose={() => setDeleting(null)}
          footer={
            <>
              <button className="btn" data-testid="cancel-delete" onClick={() => setDeleting(null)}>
                Cancel
              </button>
              <button className="btn btn-danger" data-testid="confirm-delete" onClick={() => remove(deleting)}>
                Delete project
              </button>
            </>
          }
        >
          <p>
            This deletes the project <b className="mono">{deleting.slug}</b> and its schema revisions. It cannot be undone.
          </p>
        </Dialog>
      )}
    </div>
  );
}

// ImportResult is POST /import/compose's answer.
interface ImportResult {
  project: Project;
  revision: number;
  warnings: ComposeWarning[];
}

// ImportComposeForm picks a compose project's files (its compose files and
// its .env) and imports them as a new project. An error leaves the files
// picked, to fix the slug or pick again.
function ImportComposeForm({ onCancel, onImported }: { onCancel: () => void; onImported: (r: ImportResult) => void }) {
  const [picked, setPicked] = useState<PickedFile[]>([]);
  const [reading, setReading] = useState(false);
  const [slug, setSlug] = useState('');
  const [profiles, setProfiles] = useState('');
  const [error, setError] = useState<{ message: string; problems: Problem[] } | null>(null);
  const [busy, setBusy] = useState(false);
  // The latest pick: a slower read of an earlier pick is dropped.
  const pick = useRef(0);

  async function onFiles(list: FileList | null) {
    const n = ++pick.current;
    const files = Array.from(list ?? []);
    setError(null);
    setReading(true);
    try {
      const read = await Promise.all(files.map(async (f) => ({ name: f.name, content: await f.text() })));
      if (n === pick.current) setPicked(read);
    } catch (e) {
      if (n === pick.current) {
        setPicked([]);
        setError({ message: `Cannot read the files: ${errorMessage(e)}`, problems: [] });
      }
    } finally {
      if (n === pick.current) setReading(false);
    }
  }

  async function submit(e: React.FormEvent) {
    e.preventDefault();
    const { body, error: why } = composeBody(picked, slug, profiles);
    if (!body) {
      setError({ message: why ?? 'Nothing to import', problems: [] });
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const r = await request<ImportResult>('POST', '/import/compose', { body });
      onImported({ ...r.data, warnings: r.data.warnings ?? [] });
    } catch (e) {
      setError({ message: errorMessage(e), problems: problemsOf(e) });
    } finally {
      setBusy(false);
    }
  }

  const { compose, env } = sortPicked(picked);
  const fallback = defaultSlug(compose);
  return (
    <form className="card import-compose" onSubmit={submit} noValidate data-testid="import-compose-form">
      <label className="field import-compose-files">
        <span className="field-label">Compose files</span>
        <input
          type="file"
          multiple
          accept=".yml,.yaml,.env"
          data-testid="import-compose-files"
          onChange={(e) => void onFiles(e.target.files)}
        />
        <span className="field-help">docker-compose.yml, its overrides and its .env. The files are read here and sent to the server; nothing else on the server is read.</span>
      </label>
      {picked.length > 0 && (
        <div className="import-compose-picked" data-testid="import-compose-picked">
          {compose.length > 0 && (
            <span>
              Merged in order: <span className="mono">{compose.map((f) => f.name).join(' → ')}</span>
            </span>
          )}
          {env.length > 0 && (
            <span>
              Variables from <span className="mono">{env.map((f) => f.name).join(', ')}</span>
            </span>
          )}
        </div>
      )}
      <label className="field">
        <span className="field-label">Slug</span>
        <input
          data-testid="import-compose-slug"
          value={slug}
          placeholder={fallback ?? 'shop'}
          onChange={(e) => {
            setSlug(e.target.value);
            setError(null);
          }}
        />
        <span className="field-help">{fallback ? `Optional: the compose project's name makes it ${fallback}.` : "Optional when the compose file sets name:."}</span>
      </label>
      <label className="field">
        <span className="field-label">Profiles</span>
        <input data-testid="import-compose-profiles" value={profiles} placeholder="debug, tools" onChange={(e) => setProfiles(e.target.value)} />
        <span className="field-help">Optional, comma-separated: services in other profiles are left out.</span>
      </label>
      <div className="row">
        <button type="submit" className="btn btn-primary" data-testid="import-compose-submit" disabled={busy || reading}>
          {busy ? 'Importing…' : 'Import'}
        </button>
        <button type="button" className="btn" onClick={onCancel}>
          Cancel
        </button>
      </div>
      {error && (
        <div className="error-text import-compose-error" data-testid="import-compose-error" role="alert">
          <div>{error.message}</div>
          {error.problems.length > 0 && (
            <ul>
              {error.problems.map((p, i) => (
                <li key={i} className="mono">
                  {p.path ? `${p.path}: ` : ''}
                  {p.message}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </form>
  );
}

// ImportComposeResult shows what an import made: the project, with a way
// into it, and what was not carried over as written.
function ImportComposeResult({ result, onClose }: { result: ImportResult; onClose: () => void }) {
  const slug = result.project.slug;
  return (
    <section className="card import-compose-result" data-testid="import-compose-result" aria-label="Import result">
      <div className="import-compose-result-head">
        <span>
          Imported <b className="mono">{slug}</b> at revision {result.revision}.
        </span>
        <div className="row">
          <a
            className="btn btn-primary"
            href={`/p/${slug}`}
            data-testid="import-compose-open"
            onClick={(e) => {
              e.preventDefault();
              navigate(`/p/${slug}`);
            }}
          >
            Open {slug}
          </a>
          <button type="button" className="btn" onClick={onClose}>
            Dismiss
          </button>
        </div>
      </div>
      {result.warnings.length === 0 ? (
        <p className="muted">Everything in the compose files was carried over.</p>
      ) : (
        <>
          <p className="warn-text">
            {result.warnings.length} warning{result.warnings.length === 1 ? '' : 's'}: what was not carried over as written. Secrets are named in the schema; set their values before deploying.
          </p>
          <ul className="import-compose-warnings">
            {result.warnings.map((w, i) => (
              <li key={i} className="mono" data-testid="import-compose-warning">
                {warningText(w)}
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}
