// End-to-end test of sign-in, roles, members, tokens and the audit log in
// the Backplane editor, in a real headless Chromium driven by
// playwright-core. Same style as editor.e2e.mjs; the helpers and the step
// runner are in lib.mjs.
//
// Run by test/teams_test.go (TestTeamsInBrowser), which starts two
// `backplane serve` (no cluster needed): one with a server admin and a
// plain user made through the API, and a fresh one whose first start printed
// a one-time sign-in link for `admin`. By hand:
//
//   cd web/ui
//   BASE_URL=http://127.0.0.1:18555 E2E_USER=erin E2E_PASSWORD=… E2E_VIEWER=vera E2E_VIEWER_PASSWORD=… \
//     FIRST_LINK='http://127.0.0.1:18556/sign-in/link#…' FIRST_PASSWORD=… node e2e/teams.e2e.mjs
//
// Environment:
//   BASE_URL, E2E_USER, E2E_PASSWORD  the server and a server admin of it.
//   E2E_VIEWER, E2E_VIEWER_PASSWORD   a user of the same server with no
//             project yet (the suite makes them a viewer of e2e-team).
//   FIRST_LINK      the link a fresh serve printed ("sign in as admin to set
//             a password: <url>"); step 8 is skipped without it.
//   FIRST_PASSWORD  the password step 8 sets for that admin (10 or more
//             characters).
//   CHROMIUM, OUT_DIR, E2E_SLOW  as in lib.mjs.
//
// Steps:
//   1. a signed-out browser at /tokens is sent to /sign-in?next=/tokens; a
//      wrong password shows the server's message; a name that failed five
//      times gets the rate limit's message (429); the right password brings
//      the admin back to /tokens, signed in (sign-in-*.png in both themes);
//   2. the admin creates the project e2e-team and saves one element;
//   3. Members tab: an unknown name is refused with the server's message;
//      vera is added as viewer (members-*.png); the server agrees;
//   4. the project's audit log shows the member change and the save, and
//      its JSON Lines export holds them (audit-*.png);
//   5. API tokens: a deployer token for e2e-team is shown once, works as a
//      bearer token, is listed and revoked, and then refused
//      (tokens-*.png); the users page makes a user without a password and
//      shows their one-time link (users-*.png);
//   6. sign out: the session ends on the server;
//   7. vera signs in at /p/e2e-team: the canvas is read-only (no Save, no
//      Plan or Deploy, palette disabled, inspector and settings fields
//      disabled, nothing dropped onto the canvas, no audit or destroy);
//      a PUT of the schema from the page with her session and CSRF token is
//      refused with 403 and the head is unchanged (viewer-*.png);
//   8. the first-start link of a fresh serve: the link page asks for a
//      password (too short and mismatched ones refused), sets it and lands
//      on the projects list signed in as admin; the link then no longer
//      works (first-start-*.png).

import { BASE_URL, E2E_PASSWORD, E2E_USER, api, browser, check, dismissToasts, gone, hasText, page, rawApi, run, setup, shot, signIn, signOut, step, tid, visible, waitFor, watch } from './lib.mjs';

const SLUG = 'e2e-team';
const NAME = 'E2E Team';
const VIEWER = process.env.E2E_VIEWER ?? '';
const VIEWER_PASSWORD = process.env.E2E_VIEWER_PASSWORD ?? '';
const FIRST_LINK = process.env.FIRST_LINK ?? '';
const FIRST_PASSWORD = process.env.FIRST_PASSWORD ?? '';

// Expected in the log: 401s (signed out, wrong passwords, the used link),
// 403 (the viewer's PUT), 404 (an unknown member), 410 (a used link), 429
// (the rate limit), 503 (no cluster).
setup({ name: 'teams.e2e', slug: SLUG, quiet: /status of (401|403|404|410|429|503)/ });
if (!VIEWER || !VIEWER_PASSWORD) {
  console.error('teams.e2e: E2E_VIEWER and E2E_VIEWER_PASSWORD are not set (a user with no project yet, to make a viewer)');
  process.exit(2);
}

// ---- helpers of this suite ----

const theme = (p) => p.evaluate(() => document.documentElement.dataset.theme || 'dark');

// shotBoth takes a screenshot in the current theme and one in the other
// (name-dark.png, name-light.png), and switches back.
async function shotBoth(p, name) {
  await p.mouse.move(2, 715); // no hover card
  await dismissToasts(p);
  const first = await theme(p);
  await shot(p, `${name}-${first}.png`);
  await tid(p, 'theme-toggle').click();
  await waitFor(async () => (await theme(p)) !== first, 'the theme to change');
  await shot(p, `${name}-${first === 'dark' ? 'light' : 'dark'}.png`);
  await tid(p, 'theme-toggle').click();
  await waitFor(async () => (await theme(p)) === first, 'the theme to switch back');
}

async function absent(p, id, what) {
  const n = await tid(p, id).count();
  check(n === 0, `${what}: [data-testid="${id}"] is there`);
}

// inPage calls the API from the page, with its session cookie and the CSRF
// token of its session (from GET /auth/me), as the editor would.
async function inPage(p, method, path, { body, contentType = 'application/json', headers = {} } = {}) {
  return p.evaluate(
    async ([method, path, body, contentType, headers]) => {
      const me = await fetch('/api/v1/auth/me').then((r) => r.json());
      const r = await fetch(`/api/v1${path}`, {
        method,
        headers: { 'Content-Type': contentType, 'X-CSRF-Token': me.csrf_token ?? '', ...headers },
        body,
      });
      const text = await r.text();
      let json;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: r.status, json, text, user: me.user?.name };
    },
    [method, path, body, contentType, headers],
  );
}

async function submitSignIn(p, name, password) {
  await tid(p, 'sign-in-name').fill(name);
  await tid(p, 'sign-in-password').fill(password);
  await tid(p, 'sign-in-submit').click();
}

const NODE = 'nodejs';
let tokenId;

// ---- the steps ----

step('1. sign-in page: wrong password, rate limit, then signed in where the user was going', async () => {
  const old = await api('GET', `/projects/${SLUG}`);
  if (old.status === 200) {
    const d = await api('DELETE', `/projects/${SLUG}`);
    check(d.status === 204, `cannot delete the leftover project ${SLUG}: HTTP ${d.status}`);
  }
  await page.goto(`${BASE_URL}/tokens`);
  await visible(page, 'sign-in-name');
  const u = new URL(page.url());
  check(u.pathname === '/sign-in' && u.searchParams.get('next') === '/tokens', `a signed-out browser at /tokens is at ${page.url()}, want /sign-in?next=/tokens`);
  await absent(page, 'user-menu', 'signed out');
  await shotBoth(page, 'sign-in');

  await submitSignIn(page, E2E_USER, `${E2E_PASSWORD}-wrong`);
  await hasText(page, 'sign-in-error', /wrong name or password/i);
  check((await tid(page, 'sign-in-password').inputValue()) === '', 'the password field keeps a wrong password');

  // Five failures for one account, then the sixth try is refused (429) with
  // how long to wait, even with any password.
  for (let i = 1; i <= 5; i++) {
    await submitSignIn(page, 'mallory', `guess-number-${i}`);
    await waitFor(async () => (await tid(page, 'sign-in-error').count()) && !(await tid(page, 'sign-in-submit').isDisabled()), `the answer to failed sign-in ${i}`);
  }
  await submitSignIn(page, 'mallory', 'guess-number-6');
  const limited = await hasText(page, 'sign-in-error', /too many failed sign-ins/i);
  check(/try again in/.test(limited), `the rate limit message does not say when to try again: ${limited}`);
  check((await tid(page, 'sign-in-error').getAttribute('data-code')) === 'rate_limited', 'the 429 is not shown as the rate limit');
  await shot(page, 'sign-in-rate-limited.png');

  await submitSignIn(page, E2E_USER, E2E_PASSWORD);
  await hasText(page, 'user-name', E2E_USER);
  await waitFor(() => new URL(page.url()).pathname === '/tokens', `to be back at /tokens after signing in (at ${page.url()})`);
  await visible(page, 'new-token-form');
  // Who is signed in, in the user menu.
  await tid(page, 'user-menu').click();
  await hasText(page, 'signed-in-as', `Signed in as ${E2E_USER}`);
  await hasText(page, 'signed-in-as', 'Server admin');
  await visible(page, 'nav-users');
  await tid(page, 'user-menu').click();
});

step('2. the admin creates e2e-team and saves one element', async () => {
  await tid(page, 'section-projects').click();
  await hasText(page, 'new-project', 'New project');
  await tid(page, 'new-project').click();
  await (await visible(page, 'new-project-slug')).fill(SLUG);
  await tid(page, 'new-project-name').fill(NAME);
  await tid(page, 'create-project').click();
  await visible(page, `project-${SLUG}`);
  await hasText(page, `role-${SLUG}`, 'admin');
  await tid(page, `open-${SLUG}`).click();
  await hasText(page, 'revision', 'rev 1');
  await absent(page, 'read-only', 'the admin');
  await tid(page, 'palette-app.nodejs').click();
  await visible(page, `node-${NODE}`);
  await tid(page, 'field-source.repo').fill('https://github.com/acme/api.git');
  await tid(page, 'save').click();
  await hasText(page, 'revision', 'rev 2');
  await gone(page, 'unsaved');
});

step('3. Members: an unknown name is refused; vera is added as viewer', async () => {
  await tid(page, 'tab-members').click();
  await visible(page, 'members-panel');
  await visible(page, 'member-add-form');
  await tid(page, 'member-add-name').fill('nobody-here');
  await tid(page, 'member-add').click();
  await hasText(page, 'member-add-error', 'no user "nobody-here"');

  await tid(page, 'member-add-name').fill(VIEWER);
  await tid(page, 'member-add-role').selectOption('viewer');
  await tid(page, 'member-add').click();
  await visible(page, `member-${VIEWER}`);
  check((await tid(page, `member-${VIEWER}`).getAttribute('data-role')) === 'viewer', `${VIEWER} is not listed as viewer`);
  check((await tid(page, `member-role-${VIEWER}`).inputValue()) === 'viewer', `the role select of ${VIEWER} does not say viewer`);
  check((await tid(page, 'member-add-name').inputValue()) === '', 'the name field is not cleared after adding');
  const m = await api('GET', `/projects/${SLUG}/members`);
  const vm = m.json?.members?.find((x) => x.user_name === VIEWER);
  check(m.status === 200 && vm?.role === 'viewer', `the server's members of ${SLUG}: HTTP ${m.status} ${m.text}`);
  await shotBoth(page, 'members');
});

step('4. the audit log of the project and its JSON Lines export', async () => {
  await tid(page, 'more').click();
  await tid(page, 'open-audit').click();
  await waitFor(() => new URL(page.url()).pathname === `/p/${SLUG}/audit`, `the audit page (at ${page.url()})`);
  await visible(page, 'audit-list');
  const rows = await page.locator('[data-testid="audit-list"] tbody tr').evaluateAll((els) => els.map((e) => [e.getAttribute('data-action'), e.textContent]));
  const member = rows.find(([a, t]) => a === 'member.set' && t.includes(`${VIEWER}: viewer`));
  check(member, `no member.set "${VIEWER}: viewer" in the audit list: ${JSON.stringify(rows)}`);
  check(member[1].includes(E2E_USER), `the member.set entry does not name ${E2E_USER} as the actor: ${member[1]}`);
  check(rows.some(([a]) => a === 'schema.save'), `no schema.save in the audit list: ${JSON.stringify(rows)}`);
  check(rows[0][0] === 'member.set', `the newest entry is ${rows[0][0]}, want member.set first`);
  const href = await tid(page, 'audit-export').getAttribute('href');
  check(href === `/api/v1/projects/${SLUG}/audit?format=jsonl&limit=500`, `the export link is ${href}`);
  // The export, with the page's session cookie (a plain GET link).
  const r = await page.context().request.get(`${BASE_URL}${href}`);
  check(r.status() === 200, `GET ${href}: HTTP ${r.status()}`);
  check((r.headers()['content-type'] ?? '').startsWith('application/jsonl'), `the export's Content-Type is ${r.headers()['content-type']}`);
  const lines = (await r.text()).trim().split('\n').map((l) => JSON.parse(l));
  check(lines.some((e) => e.action === 'member.set' && e.actor === E2E_USER && e.project === SLUG), `the export lacks the member.set by ${E2E_USER}: ${JSON.stringify(lines)}`);
  await shotBoth(page, 'audit');
  await tid(page, 'audit-back').click();
  await hasText(page, 'revision', 'rev 2');
});

step('5. API tokens (shown once, used, revoked) and the users page', async () => {
  await tid(page, 'user-menu').click();
  await tid(page, 'nav-tokens').click();
  await visible(page, 'new-token-form');
  await tid(page, 'new-token-name').fill('ci');
  await tid(page, 'new-token-project').selectOption(SLUG);
  await tid(page, 'new-token-role').selectOption('deployer');
  await tid(page, 'new-token-expiry').selectOption('30d');
  await tid(page, 'create-token').click();
  await visible(page, 'new-token');
  const token = await tid(page, 'new-token-value').inputValue();
  check(/^bpt_[A-Za-z0-9_-]{20,}$/.test(token), `the new token does not look like one: ${token.slice(0, 8)}…`);
  await tid(page, 'copy-token').click();
  await waitFor(async () => (await tid(page, 'copy-token').getAttribute('data-copied')) === 'yes', 'the Copy button to say the token was copied');
  await shotBoth(page, 'tokens-new');

  // It works as a bearer token, in its project only, with its role.
  const ok = await rawApi('GET', `/projects/${SLUG}`, undefined, { Authorization: `Bearer ${token}` });
  check(ok.status === 200, `GET /projects/${SLUG} with the new token: HTTP ${ok.status} ${ok.text}`);
  const del = await rawApi('DELETE', `/projects/${SLUG}`, undefined, { Authorization: `Bearer ${token}` });
  check(del.status === 403, `DELETE /projects/${SLUG} with a deployer token: HTTP ${del.status} ${del.text}, want 403`);

  await tid(page, 'new-token-done').click();
  await gone(page, 'new-token');
  const list = await api('GET', '/tokens');
  const info = list.json?.tokens?.find((t) => t.name === 'ci');
  check(info && token.startsWith(info.prefix), `GET /tokens has no "ci" token with the new token's prefix: ${list.text}`);
  tokenId = info.id;
  const row = await visible(page, `token-${tokenId}`);
  const text = await row.textContent();
  for (const want of [info.prefix, SLUG, 'deployer', 'active']) check(text.includes(want), `the token row lacks "${want}": ${text}`);
  check(!text.includes(token), 'the token list shows the whole token');

  await tid(page, `revoke-${tokenId}`).click();
  await visible(page, 'revoke-dialog');
  await tid(page, 'confirm-revoke').click();
  await gone(page, 'revoke-dialog');
  await hasText(page, `token-state-${tokenId}`, 'revoked');
  const after = await rawApi('GET', `/projects/${SLUG}`, undefined, { Authorization: `Bearer ${token}` });
  check(after.status === 401, `GET with the revoked token: HTTP ${after.status}, want 401`);
  await shotBoth(page, 'tokens');

  // Users: a new user without a password gets a one-time link to pass on.
  await tid(page, 'section-users').click();
  await visible(page, 'user-list');
  await visible(page, `user-${VIEWER}`);
  await visible(page, `user-${E2E_USER}`);
  check(await tid(page, `user-admin-${E2E_USER}`).isDisabled(), 'the admin can take their own server admin right away in the UI');
  await tid(page, 'new-user').click();
  await tid(page, 'new-user-name').fill('walt');
  await tid(page, 'new-user-display').fill('Walt Later');
  await tid(page, 'create-user').click();
  await visible(page, 'new-user-link');
  const link = await tid(page, 'new-user-link-value').inputValue();
  check(link.startsWith(`${BASE_URL}/sign-in/link#`), `the one-time link is ${link.slice(0, BASE_URL.length + 14)}…, want ${BASE_URL}/sign-in/link#…`);
  await hasText(page, 'user-walt', 'not set');
  await shotBoth(page, 'users');
  await tid(page, 'new-user-link-done').click();
  await tid(page, 'user-disabled-walt').check();
  await waitFor(async () => (await api('GET', '/users')).json?.users?.find((u) => u.name === 'walt')?.disabled === true, 'walt to be disabled on the server');
});

step('6. sign out ends the session on the server', async () => {
  await signOut(page);
  const me = await page.evaluate(() => fetch('/api/v1/auth/me').then((r) => r.status));
  check(me === 401, `GET /auth/me after signing out: HTTP ${me}, want 401`);
  await absent(page, 'user-menu', 'signed out');
});

step('7. vera, a viewer: the canvas is read-only and the server refuses her PUT', async () => {
  await signIn(page, VIEWER, VIEWER_PASSWORD, `/p/${SLUG}`);
  await hasText(page, 'revision', 'rev 2');
  await visible(page, `node-${NODE}`);
  await hasText(page, 'read-only', 'viewer');
  for (const id of ['save', 'save-message', 'plan', 'deploy', 'undo', 'redo', 'auto-layout']) await absent(page, id, 'a viewer');
  // The palette is there but disabled: nothing drags or clicks in.
  const pal = await visible(page, 'palette');
  check((await pal.getAttribute('aria-disabled')) === 'true', 'the palette is not aria-disabled');
  await visible(page, 'palette-read-only');
  check((await tid(page, 'palette-app.nodejs').getAttribute('draggable')) === 'false', 'palette items are still draggable');
  check(await tid(page, 'palette-search').isDisabled(), 'the palette search is enabled');
  const before = await page.locator('.react-flow__node').count();
  await tid(page, 'palette-db.mongodb').click({ force: true });
  await tid(page, 'palette-db.mongodb').dragTo(tid(page, 'canvas'), { force: true, targetPosition: { x: 300, y: 300 } });
  check((await page.locator('.react-flow__node').count()) === before, 'a viewer added an element from the palette');
  await absent(page, 'unsaved', 'a viewer');

  // The inspector shows the element, every field disabled, no Remove, no
  // cluster actions.
  await tid(page, `node-${NODE}`).locator('.el-head').click();
  await visible(page, 'inspector-element');
  check((await tid(page, 'field-id').inputValue()) === NODE, 'the inspector does not show nodejs');
  for (const id of ['field-id', 'field-source.repo', 'field-source.branch', 'field-env-key-0', 'field-port']) {
    check(await tid(page, id).isDisabled(), `${id} is enabled for a viewer`);
  }
  check((await tid(page, 'field-source.repo').inputValue()) === 'https://github.com/acme/api.git', 'the repo does not show');
  await absent(page, 'delete-element', 'a viewer');
  await absent(page, 'element-cluster-actions', 'a viewer');
  // Typing changes nothing.
  await tid(page, 'field-source.branch').fill('hack', { force: true }).catch(() => {});
  await absent(page, 'unsaved', 'typing into a disabled field');
  // Keyboard: Delete does not remove the selected node.
  await page.keyboard.press('Delete');
  await visible(page, `node-${NODE}`);
  await shotBoth(page, 'viewer');

  // Settings and members are read-only too; no audit log, no destroy.
  await tid(page, 'tab-settings').click();
  check(await tid(page, 'settings-namespace').isDisabled(), 'the namespace setting is enabled for a viewer');
  await tid(page, 'tab-members').click();
  await visible(page, `member-${VIEWER}`);
  await hasText(page, `member-role-${VIEWER}`, 'viewer');
  await absent(page, 'member-add-form', 'a viewer');
  await absent(page, `member-remove-${VIEWER}`, 'a viewer');
  await tid(page, 'more').click();
  await visible(page, 'open-deploys');
  await absent(page, 'destroy', 'a viewer');
  await absent(page, 'open-audit', 'a viewer');
  await page.keyboard.press('Escape');
  await tid(page, 'yaml-toggle').click();
  await visible(page, 'yaml-view');
  await absent(page, 'yaml-upload', 'a viewer');
  check((await page.locator('[data-testid="yaml-view"] .cm-content').getAttribute('contenteditable')) === 'false', 'the YAML text is editable for a viewer');
  await tid(page, 'yaml-toggle').click();

  // The server refuses a viewer's save even when the editor is bypassed:
  // her session, her CSRF token, straight from the page.
  const head = (await api('GET', `/projects/${SLUG}/schema`)).json;
  const put = await inPage(page, 'PUT', `/projects/${SLUG}/schema`, {
    body: `version: 1\nproject: ${SLUG}\nelements: []\n`,
    contentType: 'application/yaml',
    headers: { 'If-Match': '*' },
  });
  check(put.user === VIEWER, `the page's session is ${put.user}, want ${VIEWER}`);
  check(put.status === 403 && put.json?.error?.code === 'forbidden', `PUT /projects/${SLUG}/schema as a viewer: HTTP ${put.status} ${put.text}, want 403 forbidden`);
  check(/viewer/.test(put.json.error.message) && /editor/.test(put.json.error.message), `the 403 does not name the roles: ${put.json.error.message}`);
  const after = (await api('GET', `/projects/${SLUG}/schema`)).json;
  check(after.revision === head.revision && after.yaml === head.yaml, `the viewer's PUT changed the head: revision ${head.revision} -> ${after.revision}`);
  console.log(`    PUT as ${VIEWER}: HTTP ${put.status} ${put.json.error.message}`);

  // Her projects list: her project and role, nothing to create, rename or
  // delete, no users page.
  await tid(page, 'back').click();
  await visible(page, `project-${SLUG}`);
  await hasText(page, `role-${SLUG}`, 'viewer');
  for (const id of ['new-project', `rename-${SLUG}`, `delete-${SLUG}`, 'section-users']) await absent(page, id, 'a viewer');
  await shot(page, 'viewer-projects.png');
});

step('8. first start: the one-time link sets the admin password and signs in', async () => {
  if (!FIRST_LINK) {
    console.log('    (FIRST_LINK not set: skipped)');
    return;
  }
  check(FIRST_PASSWORD.length >= 10, 'FIRST_PASSWORD must have 10 or more characters');
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 720 }, deviceScaleFactor: 1 });
  ctx.setDefaultTimeout(15_000);
  const p = await ctx.newPage();
  watch(p, 'first start');
  try {
    await p.goto(FIRST_LINK);
    await visible(p, 'link-password-form');
    await hasText(p, 'link-who', 'admin');
    // The code is out of the address bar once used.
    check(!p.url().includes('#'), `the link's code stays in the address bar: ${p.url()}`);
    await tid(p, 'link-password').fill('short');
    await tid(p, 'link-password-confirm').fill('short');
    await tid(p, 'link-set-password').click();
    await hasText(p, 'link-password-error', 'At least 10 characters');
    await tid(p, 'link-password').fill(FIRST_PASSWORD);
    await tid(p, 'link-password-confirm').fill(`${FIRST_PASSWORD}x`);
    await tid(p, 'link-set-password').click();
    await hasText(p, 'link-password-error', 'differ');
    await tid(p, 'link-password-confirm').fill(FIRST_PASSWORD);
    await shotBoth(p, 'first-start-link');
    await tid(p, 'link-set-password').click();
    await hasText(p, 'user-name', 'admin');
    await waitFor(() => new URL(p.url()).pathname === '/', `the projects list after setting the password (at ${p.url()})`);
    await visible(p, 'new-project');
    await shotBoth(p, 'first-start-projects');
    // The session works for changes (the CSRF token of the new session).
    const me = await p.evaluate(() => fetch('/api/v1/auth/me').then((r) => r.json()));
    check(me.user?.name === 'admin' && me.user?.has_password === true, `GET /auth/me after the link: ${JSON.stringify(me.user)}`);
  } finally {
    await ctx.close();
  }
  // The link works once.
  const ctx2 = await browser.newContext({ viewport: { width: 1280, height: 720 }, deviceScaleFactor: 1 });
  try {
    const p2 = await ctx2.newPage();
    await p2.goto(FIRST_LINK);
    const msg = await hasText(p2, 'link-error', /already used|expired/);
    console.log(`    the used link: ${msg}`);
    await visible(p2, 'link-to-sign-in');
    await shot(p2, 'first-start-link-used.png');
  } finally {
    await ctx2.close();
  }
});

await run({ pageLabel: 'page' });
