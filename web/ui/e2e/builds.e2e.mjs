// End-to-end test of builds in the editor (the element's building light,
// the deploy dialog's build log, the Build tab with its live log) in a
// real headless Chromium driven by playwright-core, against a `backplane
// serve` that builds on a real Nomad. Same style as the other suites; the
// helpers and the step runner are in lib.mjs.
//
// Run by test/builds_browser_test.go (TestBuildsBrowser), which starts
// Nomad, a git daemon with a repository whose build prints FIRST_LINE,
// sleeps a few seconds, then prints SECOND_LINE, and serve, and saves the
// project's schema (the element api built from that commit).
//
// Environment:
//   BASE_URL, E2E_USER, E2E_PASSWORD  the server and a server admin.
//   E2E_SLUG  the project (default e2e-builds).
//   E2E_FIRST_LINE, E2E_SECOND_LINE  the lines the build prints.
//   CHROMIUM, OUT_DIR, E2E_SLOW  as in lib.mjs.
//
// Steps:
//   1. sign in at /p/<slug>?element=api: api is selected; its Build tab
//      says there is no build yet;
//   2. Plan says api is built first; Deploy: while the build runs the
//      node's light is "building", and the dialog shows the build's first
//      line (builds-dialog.png);
//   3. "Open the Build tab": the build is listed as building and its log
//      shows the first line while the build still runs, then the second
//      line, then the build succeeded; the light leaves "building"
//      (builds-tab.png).

import { check, page, run, setup, shot, signIn, step, tid, visible, waitFor } from './lib.mjs';

const SLUG = process.env.E2E_SLUG || 'e2e-builds';
const FIRST = process.env.E2E_FIRST_LINE || 'BUILD-STEP-ONE';
const SECOND = process.env.E2E_SECOND_LINE || 'BUILD-STEP-TWO';

// Expected in the log: 401 (signed out at first).
setup({ name: 'builds.e2e', slug: SLUG, quiet: /status of 401/ });

const lightOf = (id) => tid(page, `light-${id}`).getAttribute('data-light');

// logState reads a build log view and the status the Build tab shows, in
// one go (so "the first line while building" is one observation).
async function logState(logId) {
  return page.evaluate(
    ([id]) => {
      const log = document.querySelector(`[data-testid="${id}"]`);
      const st = document.querySelector('[data-testid="build-status"]');
      return { text: log?.textContent ?? '', status: st?.getAttribute('data-status') ?? '' };
    },
    [logId],
  );
}

step('1. sign in at the element; its Build tab has no build yet', async () => {
  await signIn(page, undefined, undefined, `/p/${SLUG}?element=api`);
  await visible(page, 'node-api');
  await tid(page, 'tab-build').click();
  await visible(page, 'build-tab');
  await visible(page, 'builds-empty');
  check((await lightOf('api')) !== 'building', 'api is lit as building before any deploy');
});

step('2. the deploy builds api: the light says building and the dialog shows the log', async () => {
  await tid(page, 'plan').click();
  await visible(page, 'plan-dialog');
  await visible(page, 'plan-builds', 30_000);
  const planned = (await tid(page, 'plan-builds').textContent()) ?? '';
  check(planned.includes('api at '), `the plan's builds say ${planned}`);
  await waitFor(() => tid(page, 'deploy').isEnabled(), 'Deploy to be enabled', 30_000);
  await tid(page, 'deploy').click();
  await waitFor(async () => (await lightOf('api')) === 'building', "api's light to show building", 60_000);
  const title = await tid(page, 'light-api').getAttribute('title');
  check(title?.startsWith('building'), `the building light's title is ${title}`);
  await visible(page, 'deploy-build-log-api', 30_000);
  await waitFor(async () => ((await tid(page, 'deploy-build-log-api').textContent()) ?? '').includes(FIRST), 'the dialog to show the first line', 60_000);
  await shot(page, 'builds-dialog.png');
});

step('3. the Build tab follows the running build to its end', async () => {
  await tid(page, 'deploy-build-open-api').click();
  await visible(page, 'build-tab');
  const rows = page.locator('[data-testid^="build-row-"]');
  await waitFor(async () => (await rows.count()) === 1, 'one build row');
  // The first line shows while the build still runs.
  const first = await waitFor(async () => {
    const s = await logState('build-log');
    return s.text.includes(FIRST) ? s : false;
  }, 'the first line in the Build tab', 30_000);
  check(first.status === 'building', `when the first line showed the build was ${first.status}, want building`);
  check(!first.text.includes(SECOND), 'the second line showed with the first: the build did not run long enough to watch');
  check((await rows.first().getAttribute('data-status')) === 'building' || (await lightOf('api')) === 'building', 'neither the row nor the light says building');
  // Then the second line, then the end.
  await waitFor(async () => (await logState('build-log')).text.includes(SECOND), 'the second line in the Build tab', 60_000);
  await waitFor(async () => (await logState('build-log')).status === 'succeeded', 'the build to succeed', 60_000);
  await waitFor(async () => (await rows.first().getAttribute('data-status')) === 'succeeded', 'the row to say succeeded', 30_000);
  await waitFor(async () => (await lightOf('api')) !== 'building', "api's light to leave building", 30_000);
  const row = (await rows.first().textContent()) ?? '';
  check(/\d+(ms|s)/.test(row) && /B/.test(row), `the build's row shows no duration or size: ${row}`);
  await shot(page, 'builds-tab.png');
});

await run({ pageLabel: 'admin' });
