// End-to-end test of the editor's alerts (the badge on an element, the
// Alerts panel, silences) in a real headless Chromium driven by
// playwright-core, against a `backplane serve` that reads a real
// Alertmanager. Same style as the other suites; the helpers and the step
// runner are in lib.mjs.
//
// Run by test/alerts_browser_test.go (TestAlertsBrowser), which starts
// Alertmanager and serve, creates the project e2e-alerts (elements api and
// db) with a deployer and a viewer, and posts a firing RestartLoop alert of
// api straight to Alertmanager (and one of another project, which must not
// show). Afterwards it checks through Alertmanager's API that the silence
// the suite made holds api's alert. By hand:
//
//   cd web/ui
//   BASE_URL=http://127.0.0.1:18555 E2E_USER=dora E2E_PASSWORD=… E2E_VIEWER=vic E2E_VIEWER_PASSWORD=… \
//     E2E_SLUG=e2e-alerts E2E_SILENCE_COMMENT='deploying a fix' node e2e/alerts.e2e.mjs
//
// Environment:
//   BASE_URL, E2E_USER, E2E_PASSWORD  the server and a deployer of the
//             project (not a server admin).
//   E2E_VIEWER, E2E_VIEWER_PASSWORD  a viewer of the project.
//   E2E_SLUG  the project (default e2e-alerts).
//   E2E_LINK  the path of the alert's editor_url (default
//             /p/<slug>?element=api), where the suite starts.
//   E2E_SILENCE_COMMENT  the comment of the silence of api the suite makes
//             (the Go test looks for it in Alertmanager).
//   CHROMIUM, OUT_DIR, E2E_SLOW  as in lib.mjs.
//
// Steps:
//   1. the deployer signs in at /p/e2e-alerts?element=api (where an alert's
//      editor_url points): api is selected, its inspector open, and the
//      parameter leaves the address;
//   2. the firing alert shows as a badge on api (count 1, RestartLoop in its
//      title), none on db; the Alerts tab counts 1; the inspector says "1
//      alert firing" (alerts-badge-*.png in both themes);
//   3. the Alerts panel (from the ⋯ menu) lists api's RestartLoop with its
//      severity, region, summary and since when; no silences yet
//      (alerts-panel-*.png);
//   4. "Silence…" on api: an empty comment and a bad duration are refused
//      in the form; 2h with a comment silences api: the silence is listed
//      as active, the alert shows as silenced with the comment, and the
//      badge goes away (alerts-silenced-*.png);
//   5. "Silence alerts…" in db's inspector silences db for 1h, and
//      "Expire" ends it: it moves to the expired silences;
//   6. the viewer sees the alert and the silences, but no Silence, no
//      Expire and no "Silence alerts…" (alerts-viewer.png);
//   7. without Alertmanager (mocked 503 no_alertmanager) the Alerts tab says
//      alerts are off and how to turn them on, no badge shows, and the
//      editor asks once, not again (alerts-off.png);
//   8. Project settings: an email receiver with SMTP settings (a smarthost
//      without a port refused at its field) and a webhook whose URL is a
//      secret; api's receivers and alert conditions (the defaults shown,
//      a bad duration refused); saved, the schema holds them
//      (alerts-receivers.png, alerts-inspector.png).

import { BASE_URL, browser, check, headSchema, dismissToasts, gone, hasText, page, run, setup, shot, signIn, step, textOf, tid, visible, waitFor, watch } from './lib.mjs';

const SLUG = process.env.E2E_SLUG || 'e2e-alerts';
const VIEWER = process.env.E2E_VIEWER ?? '';
const VIEWER_PASSWORD = process.env.E2E_VIEWER_PASSWORD ?? '';
const COMMENT = process.env.E2E_SILENCE_COMMENT || 'deploying a fix for the restart loop (e2e)';
// LINK: the path of the alert's editor_url, where step 1 starts.
const LINK = process.env.E2E_LINK || `/p/${SLUG}?element=api`;

// Expected in the log: 401 (signed out at first), 503 (no cluster; the
// mocked no_alertmanager).
setup({ name: 'alerts.e2e', slug: SLUG, quiet: /status of (401|503)/ });
if (!VIEWER || !VIEWER_PASSWORD) {
  console.error('alerts.e2e: E2E_VIEWER and E2E_VIEWER_PASSWORD must be set (see test/alerts_browser_test.go)');
  process.exit(2);
}

// ---- helpers of this suite ----

const theme = (p) => p.evaluate(() => document.documentElement.dataset.theme || 'dark');

// shotBoth takes a screenshot in the current theme and one in the other
// (name-dark.png, name-light.png), and switches back.
async function shotBoth(p, name) {
  await p.mouse.move(2, 715);
  await dismissToasts(p);
  const first = await theme(p);
  await shot(p, `${name}-${first}.png`);
  await tid(p, 'theme-toggle').click();
  await waitFor(async () => (await theme(p)) !== first, 'the theme to change');
  await shot(p, `${name}-${first === 'dark' ? 'light' : 'dark'}.png`);
  await tid(p, 'theme-toggle').click();
  await waitFor(async () => (await theme(p)) === first, 'the theme to switch back');
}

// canon is JSON with object keys and string lists sorted, to compare
// what the server may have reordered.
function canon(v) {
  const sort = (x) => {
    if (Array.isArray(x)) return x.every((e) => typeof e === 'string') ? [...x].sort() : x.map(sort);
    if (x && typeof x === 'object') return Object.fromEntries(Object.keys(x).sort().map((k) => [k, sort(x[k])]));
    return x;
  };
  return JSON.stringify(sort(v));
}

async function absent(p, id, who) {
  const n = await tid(p, id).count();
  check(n === 0, `[data-testid="${id}"] shows for ${who}`);
}

// countOf counts the elements whose data-testid starts with prefix.
const countOf = (p, prefix) => p.locator(`[data-testid^="${prefix}"]`).count();

// alertItems reads the Alerts panel's alerts.
async function alertItems(p = page) {
  return p.$$eval('[data-testid^="alert-"][data-alertname]', (els) =>
    els.map((e) => ({
      testid: e.dataset.testid,
      fingerprint: e.dataset.testid.slice('alert-'.length),
      alertname: e.dataset.alertname,
      element: e.dataset.element,
      state: e.dataset.state,
      text: e.textContent ?? '',
    })),
  );
}

// silenceRows reads the panel's silences (the expired ones too).
async function silenceRows(p = page) {
  return p.$$eval('[data-testid^="silence-row-"]', (els) =>
    els.map((e) => ({ id: e.dataset.testid.slice('silence-row-'.length), state: e.dataset.state, element: e.dataset.element, text: e.textContent ?? '' })),
  );
}

// openAlerts opens the Alerts tab from the ⋯ menu.
async function openAlerts(p) {
  await tid(p, 'more').click();
  await tid(p, 'open-alerts').click();
  await visible(p, 'alerts-panel');
  await waitFor(async () => (await tid(p, 'alerts-panel').getAttribute('data-state')) === 'ready', 'the Alerts panel to load');
}

let firingFingerprint = '';
let apiSilence = '';

// ---- the steps ----

step('1. the deployer opens the link of an alert: api is selected', async () => {
  check(new URL(LINK, BASE_URL).searchParams.get('element') === 'api', `the alert's link ${LINK} does not name api`);
  await signIn(page, undefined, undefined, LINK);
  await visible(page, 'node-api');
  await visible(page, 'inspector-element');
  await waitFor(async () => (await tid(page, 'field-id').inputValue()) === 'api', 'the inspector to show api');
  check((await tid(page, 'tab-inspector').getAttribute('aria-selected')) === 'true', 'the Inspector tab is not the one shown');
  check(await page.locator('.react-flow__node.selected [data-testid="node-api"], [data-testid="node-api"].selected').count(), 'api is not selected on the canvas');
  await waitFor(() => !new URL(page.url()).searchParams.has('element'), `the element parameter to leave the address (at ${page.url()})`, 5_000);
  check(new URL(page.url()).pathname === `/p/${SLUG}`, `the address is ${page.url()}`);
});

step('2. the firing alert is a badge on api, none on db', async () => {
  const badge = await visible(page, 'alert-badge-api', 15_000);
  await hasText(page, 'alert-badge-api', '1');
  check((await badge.getAttribute('data-count')) === '1', `api's badge counts ${await badge.getAttribute('data-count')}, want 1`);
  const title = (await badge.getAttribute('title')) ?? '';
  check(title.includes('RestartLoop'), `api's badge title is "${title}", want RestartLoop in it`);
  await absent(page, 'alert-badge-db', 'db, which has no alert');
  await hasText(page, 'alerts-count', '1');
  await hasText(page, 'element-alerts', '1 alert firing');
  await visible(page, 'silence-element');
  await shotBoth(page, 'alerts-badge');
});

step('3. the Alerts panel lists api’s alert and no silence', async () => {
  await openAlerts(page);
  await visible(page, 'alert-group-api');
  await absent(page, 'alert-group-db', 'db, which has no alert');
  const items = await alertItems();
  check(items.length === 1, `the panel lists ${items.length} alerts (${items.map((a) => `${a.element}/${a.alertname}`).join(', ')}), want api's RestartLoop only (not the other project's)`);
  const [a] = items;
  check(a.element === 'api' && a.alertname === 'RestartLoop' && a.state === 'active', `the alert: ${JSON.stringify(a)}`);
  for (const want of ['critical', 'global', 'api restarted 4 times in 10 minutes', 'm ago']) check(a.text.includes(want), `the alert reads "${a.text}", want "${want}" in it`);
  firingFingerprint = a.fingerprint;
  await visible(page, 'silences-empty');
  await visible(page, 'silence-open-api');
  await shotBoth(page, 'alerts-panel');
});

step('4. silence api for 2h: the form checks, the silence holds the alert, the badge goes', async () => {
  await tid(page, 'silence-open-api').click();
  await visible(page, 'silence-dialog');
  await visible(page, 'silence-form');
  await hasText(page, 'silence-dialog', 'Silence api');
  // No comment: refused in the form, nothing sent.
  await tid(page, 'silence-submit').click();
  await visible(page, 'silence-error-comment');
  // A duration Go does not read.
  await tid(page, 'silence-duration').fill('2d');
  await visible(page, 'silence-error-duration');
  await hasText(page, 'silence-error-duration', 'not a duration');
  // The preset fills the duration; the form says until when.
  await tid(page, 'silence-preset-2h').click();
  check((await tid(page, 'silence-duration').inputValue()) === '2h', 'the 2h preset does not fill the duration');
  await gone(page, 'silence-error-duration');
  await tid(page, 'silence-comment').fill(COMMENT);
  await gone(page, 'silence-error-comment');
  await hasText(page, 'silence-until', 'Until');
  await shot(page, 'alerts-silence-form.png');
  await tid(page, 'silence-submit').click();
  await gone(page, 'silence-dialog');

  // The silence is listed, active, with the comment and who made it.
  const row = await waitFor(async () => (await silenceRows()).find((s) => s.element === 'api' && s.state === 'active'), 'an active silence of api in the panel', 15_000);
  apiSilence = row.id;
  check(row.text.includes(COMMENT), `the silence reads "${row.text}", want the comment`);
  check(row.text.includes(process.env.E2E_USER), `the silence reads "${row.text}", want ${process.env.E2E_USER}`);
  check(/ends in (1h 5\dm|2h)/.test(row.text), `the silence reads "${row.text}", want it to end in about 2h`);
  await visible(page, `silence-expire-${apiSilence}`);

  // The alert is held: marked silenced in the panel, and no badge.
  await waitFor(async () => (await alertItems()).find((a) => a.fingerprint === firingFingerprint)?.state === 'suppressed', 'api’s alert to show as silenced', 15_000);
  await hasText(page, `alert-silenced-${firingFingerprint}`, COMMENT);
  await gone(page, 'alert-badge-api', 15_000);
  await gone(page, 'alerts-count');
  await shotBoth(page, 'alerts-silenced');
});

step('5. db’s inspector silences db; Expire ends that silence', async () => {
  await tid(page, 'node-db').locator('.el-head').click();
  await tid(page, 'tab-inspector').click();
  await waitFor(async () => (await tid(page, 'field-id').inputValue().catch(() => '')) === 'db', 'the inspector to show db');
  await hasText(page, 'element-alerts', 'No alerts firing');
  await tid(page, 'silence-element').click();
  await hasText(page, 'silence-dialog', 'Silence db');
  await tid(page, 'silence-preset-1h').click();
  await tid(page, 'silence-comment').fill('db maintenance (e2e)');
  await tid(page, 'silence-submit').click();
  await gone(page, 'silence-dialog');
  await tid(page, 'tab-alerts').click();
  const db = await waitFor(async () => (await silenceRows()).find((s) => s.element === 'db' && s.state === 'active'), 'an active silence of db', 15_000);
  await tid(page, `silence-expire-${db.id}`).click();
  await waitFor(async () => (await silenceRows()).find((s) => s.id === db.id)?.state === 'expired', 'db’s silence to be expired', 15_000);
  // Only api's silence is left among the active ones.
  const live = (await silenceRows()).filter((s) => s.state !== 'expired');
  check(live.length === 1 && live[0].id === apiSilence, `active silences: ${JSON.stringify(live)}, want api's only`);
  await tid(page, 'silences-expired').locator('summary').click();
  await visible(page, `silence-row-${db.id}`);
  await absent(page, `silence-expire-${db.id}`, 'an expired silence');
});

step('6. a viewer sees alerts and silences, and cannot silence', async () => {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 720 }, deviceScaleFactor: 1 });
  ctx.setDefaultTimeout(15_000);
  const p = await ctx.newPage();
  watch(p, 'viewer');
  try {
    await p.goto(`${BASE_URL}/p/${SLUG}`);
    await visible(p, 'sign-in-name', 15_000);
    await tid(p, 'sign-in-name').fill(VIEWER);
    await tid(p, 'sign-in-password').fill(VIEWER_PASSWORD);
    await tid(p, 'sign-in-submit').click();
    await visible(p, 'node-api', 15_000);
    await hasText(p, 'read-only', 'viewer');
    await openAlerts(p);
    await visible(p, 'alert-group-api');
    await visible(p, `silence-row-${apiSilence}`);
    check((await countOf(p, 'silence-open-')) === 0, 'a viewer is offered "Silence…"');
    check((await countOf(p, 'silence-expire-')) === 0, 'a viewer is offered "Expire"');
    await absent(p, 'alert-badge-api', 'a viewer (the alert is silenced)');
    await tid(p, 'node-api').locator('.el-head').click();
    await tid(p, 'tab-inspector').click();
    await visible(p, 'inspector-element');
    await visible(p, 'element-alert-actions');
    await absent(p, 'silence-element', 'a viewer');
    await p.mouse.move(2, 715);
    await tid(p, 'tab-alerts').click();
    await visible(p, `silence-row-${apiSilence}`);
    await hasText(p, `alert-silenced-${firingFingerprint}`, COMMENT);
    await shot(p, 'alerts-viewer.png');
  } finally {
    await ctx.close();
  }
});

step('7. without Alertmanager the editor says alerts are off, once', async () => {
  const calls = { alerts: 0, silences: 0 };
  const off = { error: { code: 'no_alertmanager', message: 'alerts are off: this server has no Alertmanager (set BACKPLANE_ALERTMANAGER_URL)' } };
  const reply = (what) => (r) => {
    calls[what]++;
    return r.fulfill({ status: 503, contentType: 'application/json', body: JSON.stringify(off) });
  };
  const alertsRoute = `**/api/v1/projects/${SLUG}/alerts*`;
  const silencesRoute = `**/api/v1/projects/${SLUG}/silences*`;
  const eventsRoute = `**/api/v1/projects/${SLUG}/events*`;
  await page.route(alertsRoute, reply('alerts'));
  await page.route(silencesRoute, reply('silences'));
  // The real stream would bring the real alerts: this serve has none.
  await page.route(eventsRoute, (r) => r.fulfill({ status: 200, contentType: 'text/event-stream', body: ': no alerts here\n\n' }));
  try {
    await page.goto(`${BASE_URL}/p/${SLUG}`);
    await visible(page, 'node-api');
    await tid(page, 'tab-alerts').click();
    await visible(page, 'alerts-off');
    check((await tid(page, 'alerts-panel').getAttribute('data-state')) === 'off', 'the Alerts panel is not "off"');
    await hasText(page, 'alerts-off', 'Alerts are off: this server has no Alertmanager (BACKPLANE_ALERTMANAGER_URL)');
    check((await countOf(page, 'alert-badge-')) === 0, 'a badge shows without Alertmanager');
    await absent(page, 'alerts-count', 'alerts off');
    await absent(page, 'silence-open-api', 'alerts off');
    // The inspector offers no silencing either.
    await tid(page, 'node-api').locator('.el-head').click();
    await tid(page, 'tab-inspector').click();
    await visible(page, 'inspector-element');
    await absent(page, 'element-alert-actions', 'alerts off');
    // Longer than serve's alert poll: nothing is asked again.
    await tid(page, 'tab-alerts').click();
    await page.waitForTimeout(6_000);
    check(calls.alerts === 1, `the editor asked for the alerts ${calls.alerts} times, want once`);
    check(calls.silences === 0, `the editor asked for the silences ${calls.silences} times, want none`);
    await shot(page, 'alerts-off.png');
    console.log(`    ${await textOf(page, 'alerts-off')}`);
  } finally {
    await page.unroute(alertsRoute);
    await page.unroute(silencesRoute);
    await page.unroute(eventsRoute);
  }
});

step('8. receivers with SMTP settings and an element’s alert conditions reach the schema', async () => {
  await page.goto(`${BASE_URL}/p/${SLUG}`);
  await visible(page, 'node-api');
  await tid(page, 'tab-settings').click();
  await visible(page, 'settings-receivers');
  await hasText(page, 'settings-receiver-secrets-help', 'backplane secrets set -f backplane.yaml --project NAME');
  await tid(page, 'settings-receiver-add').click();
  await tid(page, 'settings-receiver-name-0').fill('oncall');
  await tid(page, 'settings-receiver-type-0').selectOption('email');
  await tid(page, 'settings-receiver-a-0').fill('oncall@example.com');
  await tid(page, 'settings-receiver-smtp-open-0').click();
  await tid(page, 'settings-receiver-from-0').fill('alerts@example.com');
  // No port: the server's validation says so at the field.
  await tid(page, 'settings-receiver-smarthost-0').fill('smtp.example.com');
  await tid(page, 'settings-receiver-auth_password_secret-0').fill('SMTP_PASSWORD');
  await waitFor(async () => (await tid(page, 'settings-receiver-0').textContent())?.includes('host:port'), 'the smarthost problem at its field');
  await waitFor(async () => (await tid(page, 'settings-receiver-0').textContent())?.includes('auth_password_secret'), 'the missing SMTP user at its field');
  await tid(page, 'settings-receiver-smarthost-0').fill('smtp.example.com:587');
  await tid(page, 'settings-receiver-auth_username-0').fill('alerts');
  await tid(page, 'settings-receiver-add').click();
  await tid(page, 'settings-receiver-name-1').fill('hook');
  await tid(page, 'settings-receiver-type-1').selectOption('webhook');
  await tid(page, 'settings-receiver-b-1').fill('HOOK_URL');
  await waitFor(async () => !(await tid(page, 'settings-receivers').textContent())?.includes('host:port'), 'the smarthost problem to clear');
  await page.mouse.move(2, 715);
  await shot(page, 'alerts-receivers.png');

  // api: its receivers and alert conditions.
  await tid(page, 'node-api').locator('.el-head').click();
  await tid(page, 'tab-inspector').click();
  await visible(page, 'inspector-element');
  await tid(page, 'field-alerts.receivers').selectOption(['oncall', 'hook']);
  check((await tid(page, 'field-alerts.restarts').getAttribute('placeholder')) === '3', 'the restarts field does not show the default 3');
  check((await tid(page, 'field-alerts.restart_window').getAttribute('placeholder')) === '10m', 'the window does not show the default 10m');
  check((await tid(page, 'field-alerts.down_after').getAttribute('placeholder')) === '1m', 'down after does not show the default 1m');
  check((await tid(page, 'field-alerts.check_after').getAttribute('placeholder')) === '1m', 'check after does not show the default 1m');
  await tid(page, 'field-alerts.restarts').fill('5');
  await tid(page, 'field-alerts.restart_window').fill('15 minutes');
  await visible(page, 'error-alerts.restart_window');
  await tid(page, 'field-alerts.restart_window').fill('15m');
  await gone(page, 'error-alerts.restart_window');
  await tid(page, 'field-alerts.down_after').fill('2m');
  await tid(page, 'field-alerts.restarts').scrollIntoViewIfNeeded();
  await page.mouse.move(2, 715);
  await shot(page, 'alerts-inspector.png');
  await tid(page, 'save-message').fill('e2e: receivers and alert conditions');
  await tid(page, 'save').click();
  await gone(page, 'unsaved');
  const { schema } = await headSchema();
  const want = {
    oncall: { email: { to: 'oncall@example.com', from: 'alerts@example.com', smarthost: 'smtp.example.com:587', auth_username: 'alerts', auth_password_secret: 'SMTP_PASSWORD' } },
    hook: { webhook: { url_secret: 'HOOK_URL' } },
  };
  check(canon(schema.receivers) === canon(want), `the saved receivers: ${JSON.stringify(schema.receivers)}, want ${JSON.stringify(want)}`);
  const apiEl = schema.elements.find((e) => e.id === 'api');
  const alerts = { receivers: ['hook', 'oncall'], restarts: 5, restart_window: '15m', down_after: '2m' };
  check(canon(apiEl?.alerts) === canon(alerts), `api's saved alerts: ${JSON.stringify(apiEl?.alerts)}, want ${JSON.stringify(alerts)}`);
});

await run({ pageLabel: 'deployer' });
