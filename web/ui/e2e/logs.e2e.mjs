// End-to-end test of the Logs tab of an element and the project's Logs page
// (issue 9) in a real headless Chromium driven by playwright-core, against
// a `backplane serve` that reads a real Loki. Same style as editor.e2e.mjs;
// the helpers and the step runner are in lib.mjs.
//
// Run by test/logs_browser_test.go (TestLogsInBrowser), which starts Loki
// and serve, creates the projects e2e-logs (elements api and worker,
// regions eu and us) and e2e-logs-other (an element api too), pushes their
// lines to Loki (see logsFixture there) and passes the counts to expect.
// By hand:
//
//   cd web/ui
//   BASE_URL=http://127.0.0.1:18555 E2E_USER=lena E2E_PASSWORD=… LOKI_URL=http://127.0.0.1:3100 \
//     LOKI_TENANT=backplane-suite E2E_LOGS_EXPECT='{"api":630,…}' E2E_LOGS_DEPLOY_AT=2026-… node e2e/logs.e2e.mjs
//
// Environment:
//   BASE_URL, E2E_USER, E2E_PASSWORD  the server and a server admin of it.
//   E2E_SLUG  the project (default e2e-logs).
//   LOKI_URL, LOKI_TENANT  the Loki serve reads: the suite pushes the
//             lines it live-tails there itself (as the logship sidecar
//             would), and reads its tail gauge.
//   E2E_LOGS_EXPECT  the fixture's counts (JSON): api, apiTimeout,
//             apiStderr, apiError, apiUS, apiSinceDeploy, worker,
//             workerTimeout.
//   E2E_LOGS_DEPLOY_AT  the time of the (mocked) last succeeded deploy.
//   CHROMIUM, OUT_DIR, E2E_SLOW  as in lib.mjs.
//
// Steps:
//   1. sign in at /p/e2e-logs;
//   2. api's Logs tab: the first page (500 of api's 630 lines, newest
//      first), only api's, none of worker's or of the other project; each line
//      shows time, element, region, alloc (8 characters) and stream; error
//      lines and stderr lines are marked (logs-tab-*.png in both themes);
//   3. "Load older" pages back, newest first without repeats, until the
//      5,000 lines the view keeps, and then says so;
//   4. plain search "timeout": only matching lines, the match marked
//      (logs-search-*.png); a regex search marks its matches; a bad regex
//      shows the server's error (logs-bad-regex.png);
//   5. stream stderr, region us (clicked on a line) and an allocation
//      prefix filter the lines (logs-stderr-*.png); Delete there removes
//      no element;
//   6. live tail: a line pushed to Loki now shows at the top within
//      seconds, worker's does not; changing the search reopens the tail
//      with it (the old stream is closed); leaving the tab closes it, and
//      serve closes Loki's (logs-live-*.png);
//   7. serve without Loki (mocked 503 no_loki) shows how to configure it
//      (logs-no-loki.png); "since the last deploy" (a mocked deploy
//      history) searches from that deploy; a custom range in the past finds
//      nothing, an inverted one is refused;
//   8. the project's Logs page (from the ⋯ menu): every element's lines,
//      never the other project's; the element filter, a search kept in the address
//      across a reload (logs-page-*.png); the tab's "Open in Logs page"
//      carries its element.

import { BASE_URL, E2E_PASSWORD, E2E_USER, check, dismissToasts, gone, page, run, setup, shot, signIn, step, tid, visible, waitFor } from './lib.mjs';

const SLUG = process.env.E2E_SLUG || 'e2e-logs';
const LOKI_URL = (process.env.LOKI_URL ?? '').replace(/\/+$/, '');
const LOKI_TENANT = process.env.LOKI_TENANT ?? '';
const DEPLOY_AT = process.env.E2E_LOGS_DEPLOY_AT ?? '';
let EXPECT;
try {
  EXPECT = JSON.parse(process.env.E2E_LOGS_EXPECT ?? '');
} catch {
  EXPECT = undefined;
}

// Expected in the log: 401 (signed out at first), 400 (the bad regex), 503
// (no cluster; the mocked no_loki).
setup({ name: 'logs.e2e', slug: SLUG, quiet: /status of (400|401|503)/ });
if (!LOKI_URL || !EXPECT || !DEPLOY_AT) {
  console.error('logs.e2e: LOKI_URL, E2E_LOGS_EXPECT and E2E_LOGS_DEPLOY_AT must be set (see test/logs_browser_test.go)');
  process.exit(2);
}

const PAGE = 500;
// LIVE_API_LINES: the lines of api step 6 pushes (two shown, one not
// matching its search).
const LIVE_API_LINES = 3;

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

// rows reads the lines the view shows, top to bottom.
async function rows(p = page) {
  return p.$$eval('[data-testid="log-line"]', (els) =>
    els.map((e) => {
      const q = (id) => (e.querySelector(`[data-testid="${id}"]`)?.textContent ?? '').trim();
      return {
        element: e.dataset.element,
        region: e.dataset.region,
        stream: e.dataset.stream,
        alloc: e.dataset.alloc,
        level: e.dataset.level,
        time: q('log-time'),
        shownElement: q('log-element'),
        shownRegion: q('log-region'),
        shownAlloc: q('log-alloc'),
        shownStream: q('log-stream'),
        text: e.querySelector('[data-testid="log-text"]')?.textContent ?? '',
        marks: [...e.querySelectorAll('[data-testid="log-text"] mark')].map((m) => m.textContent),
      };
    }),
  );
}

// settled waits until the view has searched with the parameters of want
// (name → value; null: absent) and shows n lines, and returns them.
async function settled(n, what, want = {}, timeout = 15_000) {
  let last = '';
  await waitFor(
    async () => {
      const v = tid(page, 'logs-view');
      const phase = await v.getAttribute('data-phase');
      const count = Number(await v.getAttribute('data-count'));
      const q = new URLSearchParams((await v.getAttribute('data-query')) ?? '');
      last = `phase ${phase}, ${count} lines, query ${q}`;
      for (const [k, val] of Object.entries(want)) if (q.get(k) !== val) return false;
      return phase === 'ready' && count === n;
    },
    `${what}: ${n} lines`,
    timeout,
  ).catch((e) => {
    throw new Error(`${e.message}; now: ${last}`);
  });
  return rows();
}

function checkEach(list, pred, what) {
  const bad = list.filter((r) => !pred(r));
  check(bad.length === 0, `${what}: ${bad.length} of ${list.length} lines do not, e.g. ${JSON.stringify(bad[0])}`);
}

// pushLoki sends lines to Loki as the logship sidecar would (JSON push).
async function pushLoki(lines) {
  const streams = lines.map((l) => ({
    stream: { project: l.project ?? SLUG, element: l.element, region: l.region ?? 'eu', alloc: l.alloc, task: l.element, stream: l.stream ?? 'stdout' },
    values: [[String(BigInt(Date.now()) * 1_000_000n + BigInt(l.nudge ?? 0)), l.line]],
  }));
  const r = await fetch(`${LOKI_URL}/loki/api/v1/push`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Scope-OrgID': LOKI_TENANT },
    body: JSON.stringify({ streams }),
  });
  check(r.status >= 200 && r.status < 300, `push to Loki: HTTP ${r.status}: ${await r.text()}`);
}

// lokiTails is Loki's count of open tails (its querier's gauge), or
// undefined when this Loki does not report it.
async function lokiTails() {
  const r = await fetch(`${LOKI_URL}/metrics`);
  const text = await r.text();
  const m = /^loki_querier_tail_active(?:\{[^}]*\})? (\S+)$/m.exec(text);
  return m ? Number(m[1]) : undefined;
}

const ALLOC_EU = 'a1e0c2d4-5b6f-4a8e-9c1d-0000000000e1';
const ALLOC_US = 'b7f3e9a1-2c4d-4e6f-8a0b-0000000000u1';
const ALLOC_WORKER = 'c3d5f7a9-1b2c-4d3e-9f8a-0000000000w1';
const TIME_RE = /^([A-Z][a-z]{2} \d{1,2} )?\d\d:\d\d:\d\d\.\d{3}$/;

// The live tail's requests, as the page makes them: each EventSource is
// one request to /logs/tail, and closing it ends (fails) that request.
const tails = { opened: 0, open: new Set(), urls: [] };
function watchTails(p) {
  p.on('request', (r) => {
    if (!r.url().includes('/logs/tail')) return;
    tails.opened++;
    tails.open.add(r);
    tails.urls.push(r.url());
  });
  const done = (r) => tails.open.delete(r);
  p.on('requestfailed', done);
  p.on('requestfinished', done);
}

async function openElementLogs(id) {
  await tid(page, `node-${id}`).locator('.el-head').click();
  await tid(page, 'tab-logs').click();
  await visible(page, 'logs-view');
  const scope = await tid(page, 'logs-view').getAttribute('data-element');
  check(scope === id, `the Logs tab is of ${scope}, want ${id}`);
}

async function setSearch(text, regex = false) {
  const pressed = (await tid(page, 'logs-regex').getAttribute('aria-pressed')) === 'true';
  if (pressed !== regex) await tid(page, 'logs-regex').click();
  await tid(page, 'logs-search').fill(text);
}

// ---- the steps ----

step('1. sign in at the project', async () => {
  watchTails(page);
  await signIn(page, E2E_USER, E2E_PASSWORD);
  await page.goto(`${BASE_URL}/p/${SLUG}`);
  await visible(page, 'node-api');
  await visible(page, 'node-worker');
});

step("2. api's Logs tab shows api's lines only, newest first, marked", async () => {
  await openElementLogs('api');
  const list = await settled(PAGE, "api's first page", { element: 'api', q: null, since: '1h' });
  checkEach(list, (r) => r.element === 'api' && r.shownElement === 'api', "every line is api's");
  checkEach(list, (r) => !r.text.includes('worker line') && !r.text.includes('OTHER-PROJECT'), "no line is worker's or the other project's");
  const featured = list.filter((r) => /^api line \d{3} /.test(r.text));
  check(featured.length === 30, `api's 30 numbered lines are on the first page: ${featured.length}`);
  check(list[0].text.startsWith('api line 030 '), `the newest line is first: ${list[0].text}`);
  check(list[29].text.startsWith('api line 001 '), `then the older ones: line 30 is ${list[29].text}`);
  checkEach(list, (r) => TIME_RE.test(r.time), 'each line shows its time to the millisecond');
  checkEach(list, (r) => ['eu', 'us'].includes(r.region) && r.shownRegion === r.region, 'each line shows its region');
  checkEach(list, (r) => r.shownAlloc.length === 8 && r.alloc.startsWith(r.shownAlloc), 'each line shows the first 8 characters of its alloc');
  checkEach(list, (r) => ['stdout', 'stderr'].includes(r.stream) && r.shownStream === r.stream, 'each line shows its stream');
  check(list.some((r) => r.region === 'us' && r.shownAlloc === ALLOC_US.slice(0, 8)), 'a line of region us with its alloc');
  const errors = list.filter((r) => r.text.includes('ERROR'));
  check(errors.length === EXPECT.apiError, `${EXPECT.apiError} ERROR lines: ${errors.length}`);
  checkEach(errors, (r) => r.level === 'error', 'ERROR lines are marked as errors');
  checkEach(list.filter((r) => r.stream === 'stderr'), (r) => r.level === 'stderr' || r.level === 'error', 'stderr lines are marked');
  checkEach(list.filter((r) => r.stream === 'stdout' && !r.text.includes('ERROR')), (r) => r.level === 'info', 'plain stdout lines are not marked');
  const status = (await tid(page, 'logs-count').textContent()) ?? '';
  check(status.includes('500 lines in the last hour, newest first'), `the status says how many: ${status}`);
  await visible(page, 'logs-more');
  await shotBoth(page, 'logs-tab');
});

step('3. "Load older" pages back, up to the 5,000 lines kept', async () => {
  const CAP = 5000;
  check(EXPECT.api > CAP, `the fixture has more api lines (${EXPECT.api}) than the cap`);
  let pages = 1;
  const times = [];
  while ((await tid(page, 'logs-more').count()) > 0) {
    const before = Number(await tid(page, 'logs-view').getAttribute('data-count'));
    const t0 = Date.now();
    await tid(page, 'logs-more').click();
    await waitFor(async () => Number(await tid(page, 'logs-view').getAttribute('data-count')) > before, `page ${pages + 1} to show`, 15_000);
    times.push(Date.now() - t0);
    pages++;
    check(pages <= 12, 'too many pages');
  }
  const list = await settled(CAP, 'the cap of lines kept');
  console.log(`    ${pages} pages of ${PAGE}; each loaded and drawn in ${Math.min(...times)}..${Math.max(...times)} ms`);
  check(list[0].text.startsWith('api line 030 '), `the newest line is still first: ${list[0].text}`);
  check(new Set(list.map((r) => r.text)).size === list.length, 'no line is repeated across the pages');
  const ts = await page.$$eval('[data-testid="log-line"]', (els) => els.map((e) => Date.parse(e.dataset.ts)));
  check(ts.every((t, i) => i === 0 || t <= ts[i - 1]), 'the lines are newest first across the pages');
  await visible(page, 'logs-cap');
  const status = (await tid(page, 'logs-count').textContent()) ?? '';
  check(status.includes('at most 5,000 are kept in memory'), `the status says lines are capped: ${status}`);
  await shot(page, 'logs-cap.png');
  // Still responsive with 5,000 lines: a search answers and draws quickly.
  const t0 = Date.now();
  await setSearch('api line 02');
  await settled(10, 'a search from 5,000 lines shown', { q: 'api line 02' });
  console.log(`    a search from 5,000 lines shown took ${Date.now() - t0} ms (400 ms of it the typing pause)`);
  await setSearch('');
  await settled(PAGE, 'the first page again', { q: null });
});

step('4. search: plain text and regex, highlighted; a bad regex shows the server error', async () => {
  await setSearch('timeout');
  let list = await settled(EXPECT.apiTimeout, 'api lines with "timeout"', { q: 'timeout' });
  checkEach(list, (r) => r.element === 'api' && r.text.includes('timeout'), 'every line is api\'s and holds "timeout"');
  checkEach(list, (r) => r.marks.length === 1 && r.marks[0] === 'timeout', '"timeout" is highlighted in each');
  await visible(page, 'logs-end'); // no "Load older": nothing older matches
  await tid(page, 'log-line').first().hover();
  await shotBoth(page, 'logs-search');

  await setSearch('line 00[1-5]\\b', true);
  list = await settled(5, 'the regex line 00[1-5]', { regex: 'line 00[1-5]\\b', q: null });
  checkEach(list, (r) => r.marks.length === 1 && /^line 00[1-5]$/.test(r.marks[0]), 'the regex match is highlighted');

  await setSearch('user=(\\d+', true);
  const err = await visible(page, 'logs-error');
  await waitFor(async () => (await err.getAttribute('data-path')) === 'regex', 'the error to name the regex');
  const msg = (await err.textContent()) ?? '';
  check(/not a valid RE2 regular expression/.test(msg), `the server's regex error is shown: ${msg}`);
  check((await tid(page, 'logs-search').getAttribute('aria-invalid')) === 'true', 'the search box is marked invalid');
  await shot(page, 'logs-bad-regex.png');

  await setSearch('', false);
  await gone(page, 'logs-error');
  await settled(PAGE, 'the first page again', { q: null, regex: null });
});

step('5. filters: stream, region, allocation', async () => {
  await tid(page, 'logs-stream').selectOption('stderr');
  let list = await settled(EXPECT.apiStderr, "api's stderr lines", { stream: 'stderr' });
  checkEach(list, (r) => r.stream === 'stderr' && r.element === 'api', 'only stderr lines of api');
  checkEach(list, (r) => r.level === 'stderr' || r.level === 'error', 'each is marked');
  await shotBoth(page, 'logs-stderr');

  await tid(page, 'logs-stream').selectOption('');
  await settled(PAGE, 'both streams again', { stream: null });
  // Clicking a line's region filters on it (and keys there are the logs':
  // Delete does not remove the element).
  await page.locator('[data-testid="log-line"][data-region="us"] [data-testid="log-region"]').first().click();
  list = await settled(EXPECT.apiUS, "api's lines in us", { region: 'us' });
  checkEach(list, (r) => r.region === 'us', 'only region us');
  check((await tid(page, 'logs-region').inputValue()) === 'us', 'the region filter shows us');
  await page.keyboard.press('Delete');
  await new Promise((r) => setTimeout(r, 300));
  check((await tid(page, 'node-api').count()) === 1 && (await tid(page, 'unsaved').count()) === 0, 'Delete in the Logs tab removed nothing');

  await tid(page, 'logs-region').selectOption('');
  await tid(page, 'logs-alloc').fill(ALLOC_US.slice(0, 4));
  list = await settled(EXPECT.apiUS, 'the lines of an allocation given by its first characters', { alloc: ALLOC_US.slice(0, 4), region: null });
  checkEach(list, (r) => r.alloc === ALLOC_US, 'only that allocation');
  await tid(page, 'logs-alloc').fill('');
  await settled(PAGE, 'the first page again', { alloc: null });
});

step('6. live tail: new lines arrive, the stream follows the filters and closes', async () => {
  const before = tails.opened;
  const idle = await lokiTails(); // other suites share this Loki
  await tid(page, 'logs-tail').click();
  await waitFor(async () => (await tid(page, 'logs-tail').getAttribute('data-state')) === 'live', 'the tail to be live', 15_000);
  check(tails.opened === before + 1 && tails.open.size === 1, `one tail request open: opened ${tails.opened - before}, open ${tails.open.size}`);
  const first = new URL(tails.urls[tails.urls.length - 1]);
  check(first.searchParams.get('element') === 'api' && first.searchParams.get('from'), `the tail is of api, from the newest line: ${first.search}`);

  const id = Date.now();
  const pushed = Date.now();
  await pushLoki([
    { element: 'api', alloc: ALLOC_EU, line: `api line LIVE-${id} GET /checkout 201` },
    { element: 'worker', alloc: ALLOC_WORKER, line: `worker line LIVE-${id} picked a job`, nudge: 1 },
  ]);
  await waitFor(async () => (await rows())[0]?.text === `api line LIVE-${id} GET /checkout 201`, 'the pushed line at the top', 10_000);
  console.log(`    a pushed line showed in ${Date.now() - pushed} ms`);
  await new Promise((r) => setTimeout(r, 1200));
  const list = await rows();
  check(list.length === PAGE + 1, `the live line was added to the ${PAGE} shown: ${list.length}`);
  checkEach(list, (r) => r.element === 'api' && !r.text.includes('worker line'), "the worker's live line is not in api's tab");
  await shotBoth(page, 'logs-live');

  // A new search reopens the tail with it, and closes the old one.
  await setSearch('LIVE-');
  await settled(1, 'the live line found by the search', { q: 'LIVE-' });
  await waitFor(async () => (await tid(page, 'logs-tail').getAttribute('data-state')) === 'live' && tails.open.size === 1 && tails.opened === before + 2, `the tail reopened with the search (opened ${tails.opened - before}, open ${tails.open.size})`, 15_000);
  check(new URL(tails.urls[tails.urls.length - 1]).searchParams.get('q') === 'LIVE-', 'the new tail carries the search');
  const id2 = Date.now();
  await pushLoki([
    { element: 'api', alloc: ALLOC_US, region: 'us', stream: 'stderr', line: `api line LIVE-${id2} ERROR late` },
    { element: 'api', alloc: ALLOC_US, region: 'us', line: `api line 031 not matching`, nudge: 1 },
  ]);
  const got = await waitFor(async () => {
    const l = await rows();
    return l[0]?.text === `api line LIVE-${id2} ERROR late` ? l : false;
  }, 'the second live line', 10_000);
  check(got[0].level === 'error' && got[0].marks[0] === 'LIVE-', `the live line is marked and highlighted: ${JSON.stringify(got[0])}`);
  await new Promise((r) => setTimeout(r, 800));
  check(!(await rows()).some((r) => r.text.includes('not matching')), 'a live line the search does not match is not shown');

  // Leaving the tab closes the stream, and serve closes Loki's.
  await tid(page, 'tab-inspector').click();
  await gone(page, 'logs-view');
  await waitFor(() => tails.open.size === 0, 'the tail request to close', 5_000);
  if (idle === undefined) console.log('    (this Loki does not report loki_querier_tail_active)');
  else await waitFor(async () => (await lokiTails()) === idle, `Loki's open tails to drop back to ${idle} (serve closed its websocket)`, 10_000);
});

step('7. no Loki; since the last deploy; a custom range', async () => {
  // serve without Loki answers 503 no_loki (mocked here: this serve has one).
  const logsRoute = `**/api/v1/projects/${SLUG}/logs?**`;
  await page.route(logsRoute, (r) =>
    r.fulfill({
      status: 503,
      contentType: 'application/json',
      body: JSON.stringify({ error: { code: 'no_loki', message: 'log search is not configured: start serve with BACKPLANE_LOKI_URL (or --loki-url) set to Loki\'s base URL, e.g. http://127.0.0.1:3100' } }),
    }),
  );
  await tid(page, 'tab-logs').click();
  const banner = await visible(page, 'logs-no-loki');
  const text = (await banner.textContent()) ?? '';
  check(text.includes('Loki is not configured: start serve with BACKPLANE_LOKI_URL'), `the banner says how to configure Loki: ${text}`);
  check(await tid(page, 'logs-tail').isDisabled(), 'no live tail without Loki');
  await shot(page, 'logs-no-loki.png');
  await page.unroute(logsRoute);

  // "Since the last deploy": the newest succeeded deploy's created_at.
  await tid(page, 'tab-inspector').click();
  const depRoute = `**/api/v1/projects/${SLUG}/deployments`;
  const mocked = [
    { id: 8, project: SLUG, revision: 1, action: 'deploy', status: 'failed', created_at: new Date().toISOString() },
    { id: 7, project: SLUG, revision: 1, action: 'deploy', status: 'succeeded', created_at: DEPLOY_AT },
    { id: 6, project: SLUG, revision: 1, action: 'rollback', status: 'succeeded', created_at: new Date(Date.now() - 5000).toISOString() },
  ];
  await page.route(depRoute, (r) => r.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ deployments: mocked }) }));
  await tid(page, 'tab-logs').click();
  await settled(PAGE, 'the first page', { since: '1h' });
  const req = page.waitForRequest((r) => r.url().includes('/logs?') && new URL(r.url()).searchParams.get('from') === DEPLOY_AT, { timeout: 10_000 });
  await tid(page, 'logs-range').selectOption('deploy');
  await req;
  // api's numbered lines after the deploy, and the three step 6 pushed.
  const list = await settled(EXPECT.apiSinceDeploy + LIVE_API_LINES, 'the lines since the last deploy', { from: DEPLOY_AT, since: null });
  checkEach(list, (r) => /^api line (01[6-9]|02\d|030|031|LIVE-)/.test(r.text), 'only lines after the deploy');
  await page.unroute(depRoute);

  // A custom range two days back finds nothing; an inverted one is refused.
  await tid(page, 'logs-range').selectOption('custom');
  await visible(page, 'logs-from');
  const local = (d) => {
    const p = (n) => String(n).padStart(2, '0');
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
  };
  const day = 24 * 3600_000;
  const from = local(new Date(Date.now() - 2 * day));
  const to = local(new Date(Date.now() - day));
  await tid(page, 'logs-from').fill(from);
  await tid(page, 'logs-to').fill(to);
  // datetime-local values are local time; the query carries them in UTC.
  await settled(0, 'nothing in a range two days ago', { since: null, from: new Date(from).toISOString(), to: new Date(to).toISOString() });
  await visible(page, 'logs-empty');
  await tid(page, 'logs-to').fill(local(new Date(Date.now() - 3 * day)));
  const err = await visible(page, 'logs-error');
  await waitFor(async () => (await err.getAttribute('data-path')) === 'to', 'the inverted range to be refused on to');
  await tid(page, 'logs-range').selectOption('15m');
  await settled(30 + LIVE_API_LINES, 'the last 15 minutes (the numbered lines and the live ones)', { since: '15m', from: null });
});

step("8. the project's Logs page: every element's lines, kept in the address", async () => {
  await tid(page, 'more').click();
  await tid(page, 'open-logs').click();
  await waitFor(() => new URL(page.url()).pathname === `/p/${SLUG}/logs`, `the Logs page (at ${page.url()})`);
  await visible(page, 'logs-view');
  check((await tid(page, 'logs-view').getAttribute('data-scope')) === 'project', 'the page is across the project');
  let list = await settled(PAGE, "the project's first page", { element: null });
  check(list.some((r) => r.element === 'worker') && list.some((r) => r.element === 'api'), 'lines of api and worker');
  checkEach(list, (r) => !r.text.includes('OTHER-PROJECT'), "never the other project's");

  await tid(page, 'logs-element').selectOption('worker');
  list = await settled(EXPECT.worker + 1, "worker's lines (the live one too)", { element: 'worker' });
  checkEach(list, (r) => r.element === 'worker', "only worker's");
  await setSearch('timeout');
  list = await settled(EXPECT.workerTimeout, "worker's timeouts", { element: 'worker', q: 'timeout' });
  checkEach(list, (r) => r.marks[0] === 'timeout', 'highlighted');
  await waitFor(() => {
    const u = new URL(page.url());
    return u.searchParams.get('element') === 'worker' && u.searchParams.get('q') === 'timeout';
  }, `the filters in the address (${page.url()})`);
  await shotBoth(page, 'logs-page');

  await page.reload();
  await visible(page, 'logs-view');
  await settled(EXPECT.workerTimeout, 'the same search after a reload', { element: 'worker', q: 'timeout' });
  check((await tid(page, 'logs-search').inputValue()) === 'timeout', 'the search is kept');
  check((await tid(page, 'logs-element').inputValue()) === 'worker', 'the element is kept');

  await tid(page, 'logs-element').selectOption('');
  list = await settled(EXPECT.apiTimeout + EXPECT.workerTimeout, 'every timeout of the project', { element: null, q: 'timeout' });
  checkEach(list, (r) => !r.text.includes('OTHER-PROJECT'), "never the other project's");
  await setSearch('OTHER-PROJECT');
  await settled(0, "another project's line, searched by name", { q: 'OTHER-PROJECT' });
  const hostile = '"} or {project=~".+"} |= "OTHER';
  await setSearch(hostile, false);
  await settled(0, 'a search that tries to widen the project', { q: hostile });

  // The tab's "Open in Logs page" carries its element.
  await tid(page, 'logs-back').click();
  await visible(page, 'node-api');
  // With no element selected the tab says to pick one.
  await tid(page, 'tab-logs').click();
  await visible(page, 'logs-select-element');
  await visible(page, 'logs-open-project');
  await openElementLogs('api');
  await settled(PAGE, "api's first page", { element: 'api' });
  await tid(page, 'logs-open-page').click();
  await waitFor(() => new URL(page.url()).pathname === `/p/${SLUG}/logs`, 'the Logs page');
  await waitFor(async () => (await tid(page, 'logs-element').inputValue()) === 'api', 'the element filter to be api');
  list = await settled(PAGE, "api's lines on the page", { element: 'api' });
  checkEach(list, (r) => r.element === 'api', "only api's");
  console.log(`    the browser opened ${tails.opened} tail streams in all; ${tails.open.size} still open`);
});

await run({ pageLabel: 'logs' });
