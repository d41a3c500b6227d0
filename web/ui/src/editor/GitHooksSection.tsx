import { useEffect, useState } from 'react';
import { api, errorMessage, isNoAutodeploy, type Hooks } from '../api';
import { maskSecret } from '../model/autodeploy';

// GitHooksSection is the project settings' "Deploy from git" (admins): the
// webhook's URL and secret to paste into the git host, rotating the secret,
// and how to set it up.
export function GitHooksSection({ slug }: { slug: string }) {
  const [hooks, setHooks] = useState<Hooks | null>(null);
  const [off, setOff] = useState('');
  const [error, setError] = useState('');
  const [show, setShow] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [copied, setCopied] = useState('');

  useEffect(() => {
    let alive = true;
    setHooks(null);
    setOff('');
    setError('');
    api
      .hooks(slug)
      .then((h) => alive && setHooks(h))
      .catch((e) => {
        if (!alive) return;
        if (isNoAutodeploy(e)) setOff(errorMessage(e).replace(/\.$/, '') || 'deploys from git are off on this server');
        else setError(errorMessage(e));
      });
    return () => {
      alive = false;
    };
  }, [slug]);

  async function rotate() {
    setBusy(true);
    setError('');
    try {
      setHooks(await api.rotateHooks(slug));
      setConfirming(false);
      setShow(true);
    } catch (e) {
      if (isNoAutodeploy(e)) setOff(errorMessage(e).replace(/\.$/, '') || 'deploys from git are off on this server');
      else setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  }

  async function copy(what: 'url' | 'secret', text: string) {
    try {
      await navigator.clipboard.writeText(text);
      setCopied(what);
      setTimeout(() => setCopied((c) => (c === what ? '' : c)), 1500);
    } catch {
      setError('Copying is not allowed here; select the text and copy it.');
    }
  }

  return (
    <section className="insp-group" data-testid="settings-git-hooks">
      <h4>Deploy from git</h4>
      {off ? (
        <div className="banner banner-info" data-testid="git-hooks-off">
          {off.charAt(0).toUpperCase() + off.slice(1)}. Pushes and polling deploy nothing; elements still deploy by hand.
        </div>
      ) : (
        <>
          {error && <div className="banner banner-error">{error}</div>}
          {!hooks && !error && <div className="muted small">Loading…</div>}
          {hooks && (
            <>
              <div className="field">
                <span className="field-label">Webhook URL</span>
                <div className="hook-row">
                  <input readOnly value={hooks.url} data-testid="git-hook-url" className="readonly" onFocus={(e) => e.target.select()} />
                  <button type="button" className="btn btn-small" data-testid="git-hook-url-copy" onClick={() => void copy('url', hooks.url)}>
                    {copied === 'url' ? 'Copied' : 'Copy'}
                  </button>
                </div>
              </div>
              <div className="field">
                <span className="field-label">Secret</span>
                <div className="hook-row">
                  <input
                    readOnly
                    value={show ? hooks.secret : maskSecret(hooks.secret)}
                    data-testid="git-hook-secret"
                    data-shown={show}
                    className="readonly"
                    onFocus={(e) => show && e.target.select()}
                  />
                  <button type="button" className="btn btn-small" data-testid="git-hook-secret-toggle" onClick={() => setShow((v) => !v)}>
                    {show ? 'Hide' : 'Show'}
                  </button>
                  <button type="button" className="btn btn-small" data-testid="git-hook-secret-copy" onClick={() => void copy('secret', hooks.secret)}>
                    {copied === 'secret' ? 'Copied' : 'Copy'}
                  </button>
                </div>
              </div>
              {confirming ? (
                <div className="banner banner-warn" data-testid="git-hook-rotate-confirm">
                  A new secret replaces this one at once: pushes signed with the old one are refused until you paste the new one into the git
                  host.
                  <div className="row">
                    <button type="button" className="btn btn-small btn-danger" data-testid="git-hook-rotate-yes" disabled={busy} onClick={() => void rotate()}>
                      Rotate secret
                    </button>
                    <button type="button" className="btn btn-small" disabled={busy} onClick={() => setConfirming(false)}>
                      Cancel
                    </button>
                  </div>
                </div>
              ) : (
                <div className="row">
                  <button type="button" className="btn btn-small" data-testid="git-hook-rotate" onClick={() => setConfirming(true)}>
                    Rotate secret…
                  </button>
                </div>
              )}
            </>
          )}
          <div className="small muted">
            Elements built from source with <b>Auto-deploy on push</b> deploy when their branch gets a push (and, with Paths, only when
            the push changes a file in one of those folders). Add the webhook to each repository:
            <ul className="hook-howto">
              <li>
                <b>GitHub</b>: Settings → Webhooks → Add webhook; Payload URL: the URL above, Content type: <code>application/json</code>,
                Secret: the secret; just the push event.
              </li>
              <li>
                <b>GitLab</b>: Settings → Webhooks; URL: the URL above, Secret token: the secret; trigger: Push events.
              </li>
              <li>
                <b>Gitea / Forgejo</b>: Settings → Webhooks → Add webhook (Gitea or Forgejo); Target URL: the URL above, content type{' '}
                <code>application/json</code>, Secret: the secret; push events.
              </li>
              <li>Without a webhook (or when one is missed), the server also polls each auto-deployed branch every 60 s.</li>
            </ul>
          </div>
        </>
      )}
    </section>
  );
}
