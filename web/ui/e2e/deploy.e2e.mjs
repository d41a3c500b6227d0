// End-to-end test of deploying through the Backplane editor against a REAL
// Nomad, in a real headless Chromium driven by playwright-core (no
// @playwright/test, no downloaded browsers). Same style as editor.e2e.mjs;
// the helpers and the step runner are in lib.mjs, shared with it.
//
// Run by test/editor_deploy_test.go (TestEditorDeployInBrowser), which starts
// a Nomad dev agent with raw_exec and `backplane serve` with NOMAD_ADDR, or
// by hand against such a server:
//
//   cd web/ui
//   BASE_URL=http://127.0.0.1:18555 CHROMIUM=/usr/bin/chromium OUT_DIR=/tmp/e2e-out node e2e/deploy.e2e.mjs
//
// Environment:
//   BASE_URL  the root of a running `backplane serve` WITH a cluster
//             (NOMAD_ADDR set, raw_exec enabled on the client; python3 on
//             the client's PATH). The run creates the project `e2e-live`
//             (and deletes a leftover one of a previous run first).
//   CHROMIUM  the Chromium executable (default /usr/bin/chromium).
//   OUT_DIR   folder for the screenshots (default ./e2e-out); created if missing.
//             On a failure, fail-deploy-<step>.png shows the page at that moment.
//   E2E_SLOW  optional: milliseconds of slowMo, to watch a headed debug run.
//
// It exits 0 when every step passed, 1 with the failing step and reason
// otherwise. Steps:
//   1. create the project through the projects page and open its editor;
//   2. load a two-element raw_exec schema (web: python3 http.server with a
//      port and a health check; worker: sleep, connected to web) through the
//      YAML view's upload input; the canvas shows both and the connection;
//      auto-layout puts worker left of web; the lights are grey;
//   3. save; the cluster badge says "Cluster connected" (not "No cluster");
//   4. Plan: both elements are listed with action `create` (deploy-plan.png);
//   5. Deploy from the dialog: both jobs are registered; the nodes' status
//      lights go (grey/amber ->) green within 90 s (deploy-progress.png while
//      amber if caught, deploy-green.png with the web node's hover tooltip
//      showing healthy and 1/1 running);
//   6. the deploy history lists a `succeeded` deploy of revision 2;
//   7. change web's env in the inspector, save (revision 3), plan (web:
//      update, worker: unchanged), deploy: web's light goes amber then green
//      again at job version 1, worker stays green; the history has two
//      succeeded deploys (deploy-redeploy.png, deploy-history.png).
//
// The Go test then checks the jobs through the Nomad API itself.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BASE_URL, api, check, dismissToasts, gone, hasText, headSchema, page, run, secs, setup, shot, step, textOf, tid, valueIs, visible, waitFor } from './lib.mjs';

const SLUG = 'e2e-live';
const NAME = 'E2E Live';
const REGION = 'global';
const IDS = ['web', 'worker'];
const GREEN_TIMEOUT = 90_000;

const SCHEMA = `version: 1
project: ${SLUG}
defaults: { driver: raw_exec }
elements:
  - id: web
    kind: app.command
    command: exec python3 -m http.server "$PORT" --bind 127.0.0.1
    port: 8000
    health: { interval: 1s, timeout: 1s, min_healthy_time: 1s }
    resources: { cpu: 50, memory: 64 }
  - id: worker
    kind: worker
    command: echo "web is at $WEB_URL"; exec sleep 3600
    resources: { cpu: 20, memory: 32 }
connections:
  - { from: worker, to: web }
`;

setup({ name: 'deploy.e2e', slug: SLUG, server: 'a running `backplane serve` with NOMAD_ADDR' });

// ---- helpers of this suite (the shared ones are in lib.mjs) ----

// absent throws msg (with the element's text) when [data-testid=id] is
// there. (Not check(count === 0, `${await textOf(...)}`): the message would
// be computed, and textOf wait for the missing element, on every call.)
async function absent(page, id, msg) {
  if ((await tid(page, id).count()) > 0) throw new Error(`${msg}: ${await textOf(page, id)}`);
}

// serverStatus is the server's view of the elements (GET /status), for the
// failure messages: element -> "state running/desired vN".
async function serverStatus() {
  const r = await api('GET', `/projects/${SLUG}/status`);
  if (r.status !== 200) return `GET /status: HTTP ${r.status} ${r.text}`;
  return (r.json?.statuses ?? []).map((s) => `${s.element}: ${s.state} ${s.running ?? 0}/${s.desired ?? 0} v${s.version ?? '?'}${s.last_event ? ` (${s.last_event})` : ''}`).join('; ');
}

// lights reads the data-light of every element's status light at once.
async function lights(page) {
  return page.evaluate((ids) => Object.fromEntries(ids.map((id) => [id, document.querySelector(`[data-testid="light-${id}"]`)?.getAttribute('data-light') ?? 'missing'])), IDS);
}

// watchLights polls the lights until every one in `want` is green, and
// returns the colours each light showed on the way (in order, without
// repeats). The first time `amber` shows, onAmber runs (a screenshot).
async function watchLights(page, want, { timeout = GREEN_TIMEOUT, onAmber } = {}) {
  const seen = Object.fromEntries(IDS.map((id) => [id, []]));
  let amberShot = false;
  const started = Date.now();
  await waitFor(
    async () => {
      const l = await lights(page);
      for (const id of IDS) if (seen[id].at(-1) !== l[id]) seen[id].push(l[id]);
      if (!amberShot && onAmber && Object.values(l).includes('amber')) {
        amberShot = true;
        await onAmber();
      }
      const red = want.filter((id) => l[id] === 'red');
      if (red.length) throw new Error(`red light on ${red.join(', ')}`);
      return want.every((id) => l[id] === 'green');
    },
    `the lights of ${want.join(' and ')} to turn green`,
    timeout,
    50,
  ).catch(async (e) => {
    throw new Error(`${e.message}; lights so far ${JSON.stringify(seen)}; server status: ${await serverStatus()}`);
  });
  console.log(`    lights green after ${secs(Date.now() - started)}: ${IDS.map((id) => `${id} ${seen[id].join('->')}`).join(', ')}`);
  return seen;
}

// tooltip hovers the node's head and returns its tooltip's text.
async function tooltip(page, id) {
  await tid(page, `node-${id}`).locator('.el-head').hover();
  await visible(page, `node-tooltip-${id}`, 3_000);
  return textOf(page, `node-tooltip-${id}`);
}

// openDeploys shows the History tab's Deploys list through the ⋯ menu.
async function openDeploys(page) {
  await tid(page, 'more').click();
  await visible(page, 'more-menu');
  await tid(page, 'open-deploys').click();
  await gone(page, 'more-menu');
  await visible(page, 'history-panel');
  check((await tid(page, 'history-tab-deploys').getAttribute('aria-selected')) === 'true', 'the Deploys sub-tab is not selected after "Deploy history"');
  await visible(page, 'deployments');
}

// deployEntries is the deploy list as shown: [{testid, text, status}] newest first.
async function deployEntries(page) {
  return page.locator('[data-testid="deployments"] [data-testid^="deployment-"]:not([data-testid^="deployment-status-"])').evaluateAll((els) =>
    els.map((e) => ({
      id: (e.getAttribute('data-testid') ?? '').replace(/^deployment-/, ''),
      text: (e.textContent ?? '').replace(/\s+/g, ' ').trim(),
      status: (e.querySelector('[data-testid^="deployment-status-"]')?.textContent ?? '').trim(),
    })),
  );
}

// planAndDeploy opens the plan dialog, checks each element's action, takes
// a screenshot, deploys and waits until the jobs are registered (or, for
// `unchanged`, left alone). Returns the deployment id from the dialog.
async function planAndDeploy(page, rev, actions, shotName) {
  await tid(page, 'plan').click();
  await visible(page, 'plan-dialog');
  check((await tid(page, 'plan-dialog').getAttribute('role')) === 'dialog', 'plan-dialog has no role="dialog"');
  check((await tid(page, 'no-cluster').count()) === 0, 'the plan dialog says no cluster is connected');
  check((await tid(page, 'plan-unsaved').count()) === 0, 'the plan dialog warns of unsaved changes');
  await visible(page, 'plan-items', 30_000).catch(async (e) => {
    const err = (await tid(page, 'plan-error').count()) ? await textOf(page, 'plan-error') : '';
    throw new Error(`${e.message}${err ? `; plan error: ${err}` : ''}`);
  });
  await hasText(page, 'plan-dialog', `Revision ${rev}`);
  for (const [id, action] of Object.entries(actions)) {
    const row = `plan-item-${id}-${REGION}`;
    await visible(page, row);
    const badge = ((await tid(page, row).locator('.badge').textContent()) ?? '').trim();
    if (badge !== action) throw new Error(`the plan says "${badge}" for ${id}, want "${action}" (row: ${await textOf(page, row)})`);
  }
  const rows = await tid(page, 'plan-items').locator('tbody tr').count();
  check(rows === Object.keys(actions).length, `the plan lists ${rows} rows, want ${Object.keys(actions).length}`);
  await absent(page, 'plan-problems', 'the plan has problems');
  if (shotName) await shot(page, shotName);

  const deploy = tid(page, 'deploy');
  await waitFor(() => deploy.isEnabled(), 'the Deploy button in the plan dialog to be enabled');
  await deploy.click();
  await visible(page, 'deploy-items', 60_000).catch(async (e) => {
    const err = (await tid(page, 'plan-error').count()) ? await textOf(page, 'plan-error') : '';
    throw new Error(`${e.message}${err ? `; error: ${err}` : ''}`);
  });
  await hasText(page, 'plan-dialog', 'Deploying');
  for (const [id, action] of Object.entries(actions)) {
    const want = action === 'unchanged' ? 'unchanged' : 'registered';
    const row = `deploy-item-${id}-${REGION}`;
    const outcome = ((await tid(page, row).locator('.badge').textContent()) ?? '').trim();
    if (outcome !== want) throw new Error(`the deploy outcome of ${id} is "${outcome}", want "${want}" (row: ${await textOf(page, row)})`);
  }
  const status = await hasText(page, 'deployment-status', /succeeded/, 15_000);
  const id = /Deployment (\S+):/.exec(status)?.[1];
  check(id, `no deployment id in "${status}"`);
  console.log(`    ${status}`);
  await tid(page, 'plan-close').click();
  await gone(page, 'plan-dialog');
  return id;
}

// ---- the steps ----

let tmp;
let firstDeploy;

step('1. create the project on the projects page and open it', async () => {
  const old = await api('GET', `/projects/${SLUG}`);
  if (old.status === 200) {
    const d = await api('DELETE', `/projects/${SLUG}`);
    check(d.status === 204, `cannot delete the leftover project ${SLUG}: HTTP ${d.status}`);
    console.log(`    deleted a leftover project ${SLUG}`);
  }
  await page.goto(`${BASE_URL}/`);
  await hasText(page, 'new-project', 'New project');
  await tid(page, 'new-project').click();
  await (await visible(page, 'new-project-slug')).fill(SLUG);
  await tid(page, 'new-project-name').fill(NAME);
  await tid(page, 'create-project').click();
  if (await tid(page, 'new-project-error').isVisible().catch(() => false)) throw new Error(`creating the project failed: ${await textOf(page, 'new-project-error')}`);
  await visible(page, `project-${SLUG}`);
  await hasText(page, `project-${SLUG}`, 'rev 1');
  await tid(page, `open-${SLUG}`).click();
  await waitFor(() => new URL(page.url()).pathname === `/p/${SLUG}`, `the URL to become /p/${SLUG} (is ${page.url()})`);
  await hasText(page, 'project-name', NAME);
  await hasText(page, 'revision', 'rev 1');
  await visible(page, 'canvas');
});

step('2. load the raw_exec schema through the YAML view (upload)', async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'deploy-e2e-'));
  const file = path.join(tmp, `${SLUG}.yaml`);
  writeFileSync(file, SCHEMA);
  await tid(page, 'yaml-toggle').click();
  await visible(page, 'yaml-view');
  await tid(page, 'yaml-upload-input').setInputFiles(file);
  await waitFor(() => page.getByTestId('toast').filter({ hasText: `Loaded ${SLUG}.yaml` }).isVisible(), `the toast "Loaded ${SLUG}.yaml"`);
  await absent(page, 'yaml-error', 'the YAML view shows an error');
  // The CodeMirror document follows the uploaded schema.
  await waitFor(
    async () => {
      const t = (await page.locator('[data-testid="yaml-view"] .cm-content').textContent()) ?? '';
      return t.includes('http.server') && t.includes('raw_exec');
    },
    'the YAML view to show the uploaded schema',
  );
  await visible(page, 'unsaved');
  await tid(page, 'yaml-toggle').click();
  await visible(page, 'canvas');
  for (const id of IDS) await visible(page, `node-${id}`);
  await waitFor(async () => (await page.locator('.react-flow__edge').count()) === 1, 'the worker -> web edge on the canvas');
  check((await page.locator('.react-flow__node').count()) === 2, 'expected exactly 2 nodes');
  await hasText(page, 'problem-count', /^0$/, 10_000).catch(async (e) => {
    throw new Error(`${e.message}; problems: ${await textOf(page, 'problems')}`);
  });
  // The uploaded schema has no layout: the editor places the elements in
  // schema order, web left of worker, so the worker -> web edge runs behind
  // both nodes. Auto-layout (elkjs) puts the source on the left.
  await tid(page, 'auto-layout').click();
  await waitFor(
    async () => {
      const [w, k] = [await tid(page, 'node-web').boundingBox(), await tid(page, 'node-worker').boundingBox()];
      return w && k && k.x + k.width < w.x;
    },
    'auto-layout to put worker left of web',
  );
  // Never deployed: the lights are grey.
  const l = await lights(page);
  check(IDS.every((id) => l[id] === 'grey'), `the lights before the deploy are ${JSON.stringify(l)}, want grey`);
});

step('3. save; the cluster is connected', async () => {
  await tid(page, 'save-message').fill('e2e: web + worker on raw_exec');
  await tid(page, 'save').click();
  await hasText(page, 'revision', 'rev 2');
  await gone(page, 'unsaved');
  const doc = await headSchema();
  check(doc.revision === 2, `the server's head is revision ${doc.revision}, want 2`);
  for (const want of ['id: web', 'kind: app.command', 'id: worker', 'http.server', 'driver: raw_exec', 'from: worker', 'to: web']) {
    check(doc.yaml.includes(want), `the saved YAML lacks "${want}":\n${doc.yaml}`);
  }
  const h = await api('GET', '/healthz');
  check(h.json?.cluster === 'connected', `GET /healthz says cluster "${h.json?.cluster}", want connected (is NOMAD_ADDR set for the server?)`);
  const badge = await hasText(page, 'cluster-badge', 'Cluster connected');
  check(!badge.includes('No cluster'), `the cluster badge says "${badge}"`);
  check(!(await page.getByText('No cluster connected').isVisible().catch(() => false)), '"No cluster connected" is shown although the server has a cluster');
  const title = await tid(page, 'deploy').getAttribute('title');
  check(title !== 'No cluster connected', `the top bar's Deploy says "${title}"`);
});

step('4-5. plan (both create), deploy, lights turn green', async () => {
  await dismissToasts(page);
  firstDeploy = await planAndDeploy(page, 2, { web: 'create', worker: 'create' }, 'deploy-plan.png');
  await page.mouse.move(5, 700); // no hover tooltip while watching
  const seen = await watchLights(page, IDS, {
    onAmber: async () => {
      await shot(page, 'deploy-progress.png');
    },
  });
  if (!Object.values(seen).some((s) => s.includes('amber'))) console.log('    (no amber light caught: deploy-progress.png not taken)');
  const l = await lights(page);
  for (const id of IDS) check(l[id] === 'green', `light-${id} is ${l[id]}`);
  // The node itself carries the colour too.
  for (const id of IDS) check((await tid(page, `node-${id}`).getAttribute('data-light')) === 'green', `node-${id} data-light is not green`);
  // Hover: healthy, 1/1 running, job version 0. (The shot hovers worker,
  // on the left: web's tooltip runs under the minimap.)
  const t = await tooltip(page, 'web');
  check(/healthy/.test(t) && /1\/1 running/.test(t) && /· v0(?!\d)/.test(t), `the web tooltip says "${t}", want healthy, 1/1 running, v0`);
  const tw = await tooltip(page, 'worker');
  check(/healthy/.test(tw) && /1\/1 running/.test(tw) && /· v0(?!\d)/.test(tw), `the worker tooltip says "${tw}", want healthy, 1/1 running, v0`);
  await hasText(page, `region-web-${REGION}`, REGION);
  await dismissToasts(page);
  await shot(page, 'deploy-green.png');
});

step('6. the deploy history lists the succeeded deploy of revision 2', async () => {
  await openDeploys(page);
  await visible(page, `deployment-${firstDeploy}`);
  await hasText(page, `deployment-status-${firstDeploy}`, 'succeeded');
  const cls = (await tid(page, `deployment-status-${firstDeploy}`).getAttribute('class')) ?? '';
  check(cls.includes('badge-green'), `the succeeded badge has the class "${cls}"`);
  await hasText(page, `deployment-${firstDeploy}`, 'rev 2');
  await hasText(page, `deployment-${firstDeploy}`, 'deploy');
  await hasText(page, `deployment-${firstDeploy}`, '2 registered');
  const list = await deployEntries(page);
  check(list.length === 1, `the history lists ${list.length} deployments, want 1: ${JSON.stringify(list)}`);
  const d = await api('GET', `/projects/${SLUG}/deployments`);
  const server = d.json?.deployments ?? [];
  check(server.length === 1 && server[0].status === 'succeeded' && server[0].revision === 2, `the server's deployments: ${d.text}`);
});

step('7. change web env in the inspector, save, redeploy: amber then green', async () => {
  await tid(page, 'tab-inspector').click();
  await tid(page, 'node-web').locator('.el-head').click();
  await visible(page, 'inspector-element');
  await valueIs(page, 'field-id', 'web');
  await tid(page, 'field-env-key-0').fill('GREETING');
  await tid(page, 'field-env-value-0').fill('hello from the editor');
  await valueIs(page, 'field-env-value-0', 'hello from the editor');
  await visible(page, 'unsaved');
  await tid(page, 'save').click();
  await hasText(page, 'revision', 'rev 3');
  await gone(page, 'unsaved');
  const doc = await headSchema();
  check(doc.yaml.includes('GREETING: hello from the editor'), `the saved YAML lacks the env var:\n${doc.yaml}`);
  // Saving alone deploys nothing: still green.
  const l0 = await lights(page);
  check(IDS.every((id) => l0[id] === 'green'), `after the save the lights are ${JSON.stringify(l0)}`);

  await dismissToasts(page);
  await planAndDeploy(page, 3, { web: 'update', worker: 'unchanged' }, 'deploy-plan-update.png');
  await page.mouse.move(5, 700);
  // Web goes amber (the new allocation is not healthy yet), then green at
  // job version 1.
  const seen = await watchLights(page, IDS, { onAmber: () => shot(page, 'deploy-redeploy-progress.png') });
  check(seen.web.includes('amber'), `the web light never went amber during the redeploy: ${seen.web.join('->')}`);
  check(!seen.worker.includes('amber') && !seen.worker.includes('grey'), `the worker light changed during web's redeploy: ${seen.worker.join('->')}`);
  const t = await waitFor(async () => {
    const s = await tooltip(page, 'web');
    return /healthy/.test(s) && /1\/1 running/.test(s) && /· v1(?!\d)/.test(s) ? s : false;
  }, 'the web tooltip to say healthy, 1/1 running, v1', 15_000);
  console.log(`    web tooltip: ${t}`);
  await dismissToasts(page);
  await shot(page, 'deploy-redeploy.png');

  await openDeploys(page);
  const list = await waitFor(async () => {
    const l = await deployEntries(page);
    return l.length === 2 && l.every((d) => d.status === 'succeeded') ? l : false;
  }, 'two succeeded deploys in the history', 15_000);
  check(list[0].text.includes('rev 3') && list[1].text.includes('rev 2'), `the history is not newest first: ${JSON.stringify(list)}`);
  check(list[1].id === String(firstDeploy), `the older entry is ${list[1].id}, want the first deploy ${firstDeploy}`);
  check(list[0].text.includes('1 registered, 1 unchanged'), `the redeploy's summary: ${list[0].text}`);
  await page.mouse.move(5, 700);
  await shot(page, 'deploy-history.png');
});

// ---- run ----

await run({
  pageLabel: 'page',
  failShots: (tag) => ({ pages: [[page, `fail-deploy-${tag}.png`]], shown: `fail-deploy-${tag}.png` }),
  cleanup: () => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  },
});
