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
//   BASE_URL=http://127.0.0.1:18555 E2E_USER=erin E2E_PASSWORD=… CHROMIUM=/usr/bin/chromium OUT_DIR=/tmp/e2e-out node e2e/deploy.e2e.mjs
//
// Environment:
//   BASE_URL  the root of a running `backplane serve` WITH a cluster
//             (NOMAD_ADDR set, raw_exec enabled on the client; python3 on
//             the client's PATH). The run creates the project `e2e-live`
//             (and deletes a leftover one of a previous run first).
//   E2E_USER, E2E_PASSWORD  a server admin to sign in as (required).
//   CHROMIUM  the Chromium executable (default /usr/bin/chromium).
//   OUT_DIR   folder for the screenshots (default ./e2e-out); created if missing.
//             On a failure, fail-deploy-<step>.png shows the page at that moment.
//   E2E_SLOW  optional: milliseconds of slowMo, to watch a headed debug run.
//   NOMAD_ADDR the server's Nomad (the same as `backplane serve` has): step 9
//             acts as the Nomad Autoscaler through its scale API.
//
// It exits 0 when every step passed, 1 with the failing step and reason
// otherwise. Steps:
//   1. sign in through the sign-in page; create the project through the
//      projects page and open its editor;
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
//      succeeded deploys (deploy-redeploy.png, deploy-history.png);
//   8. give worker autoscaling in the inspector (scale count 1, min 1,
//      max 3): its node shows "×1 · 1..3" from the schema; save (revision
//      4), plan (web: unchanged, worker: update), deploy, green: the node's
//      scale now comes from the cluster, its card says "no scaling events";
//   9. act as the Nomad Autoscaler: scale worker's group to 3 through
//      Nomad's scale API (with the autoscaler's meta and reason); within
//      20 s, with no reload, worker's node shows "×3 · 1..3" and its status
//      card lists "scaled 1 → 3 by the autoscaler · … — scaling up because
//      …"; the light turns green again at 3/3 running (deploy-autoscaled.png
//      with the card open, and deploy-autoscaled-<other theme>.png); a plan
//      then changes no count of worker and notes that it keeps the
//      autoscaler's 3 (deploy-plan-autoscaled.png).
//
// The Go test then checks the jobs through the Nomad API itself.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { api, check, dismissToasts, gone, hasText, headSchema, page, run, secs, setup, shot, signIn, step, textOf, tid, valueIs, visible, waitFor } from './lib.mjs';

const SLUG = 'e2e-live';
const NAME = 'E2E Live';
const REGION = 'global';
const IDS = ['web', 'worker'];
const GREEN_TIMEOUT = 90_000;
const NOMAD_ADDR = (process.env.NOMAD_ADDR ?? '').replace(/\/+$/, '');
// The element steps 8-9 autoscale, and scale as the Nomad Autoscaler
// would: its group is named after the element, its job <project>-<element>.
const SCALED = 'worker';
const SCALE_REASON = 'scaling up because factor is 3.000000';

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

// The 401 of GET /auth/me before signing in is expected.
setup({ name: 'deploy.e2e', slug: SLUG, server: 'a running `backplane serve` with NOMAD_ADDR', quiet: /status of 401/ });

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

step('1. sign in; create the project on the projects page and open it', async () => {
  const old = await api('GET', `/projects/${SLUG}`);
  if (old.status === 200) {
    const d = await api('DELETE', `/projects/${SLUG}`);
    check(d.status === 204, `cannot delete the leftover project ${SLUG}: HTTP ${d.status}`);
    console.log(`    deleted a leftover project ${SLUG}`);
  }
  await signIn(page);
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
  // Neither is autoscaled (yet): no scale on the nodes.
  for (const id of IDS) await absent(page, `node-scale-${id}`, `${id}, not autoscaled, shows a scale`);
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

// scaleOf is the node's scale text and whether it comes from the cluster.
async function scaleOf(page, id) {
  return { text: await textOf(page, `node-scale-${id}`), live: (await tid(page, `node-scale-${id}`).getAttribute('data-live')) === 'true' };
}

step('8. give worker autoscaling in the inspector, save and deploy it', async () => {
  await tid(page, 'tab-inspector').click();
  await tid(page, `node-${SCALED}`).locator('.el-head').click();
  await visible(page, 'inspector-element');
  await valueIs(page, 'field-id', SCALED);
  await tid(page, 'field-scale.count').fill('1');
  await tid(page, 'field-scale.min').fill('1');
  await tid(page, 'field-scale.max').fill('3');
  await valueIs(page, 'field-scale.max', '3');
  // From the schema until the cluster has it.
  await hasText(page, `node-scale-${SCALED}`, /^×1 · 1\.\.3$/);
  check(!(await scaleOf(page, SCALED)).live, `the ${SCALED} scale shows as live before it is deployed`);
  await absent(page, 'node-scale-web', 'web, not autoscaled, shows a scale');
  await tid(page, 'save').click();
  await hasText(page, 'revision', 'rev 4');
  await gone(page, 'unsaved');
  const doc = await headSchema();
  check(/scale:[^]*count: 1[^]*min: 1[^]*max: 3/.test(doc.yaml), `the saved YAML lacks worker's scale:\n${doc.yaml}`);

  await dismissToasts(page);
  await planAndDeploy(page, 4, { web: 'unchanged', [SCALED]: 'update' });
  await page.mouse.move(5, 700);
  await watchLights(page, IDS);
  // Live from the cluster now, still at the initial count, nothing scaled.
  await waitFor(async () => {
    const s = await scaleOf(page, SCALED);
    return s.live && s.text === '×1 · 1..3';
  }, `the ${SCALED} scale to come from the cluster: ×1 · 1..3`);
  const card = await tooltip(page, SCALED);
  check(/autoscaled 1\.\.3 · now ×1/.test(card) && /no scaling events yet/.test(card), `the ${SCALED} card before scaling says "${card}"`);
  await page.mouse.move(5, 700);
});

step('9. the autoscaler scales worker to 3: the node shows ×3 and the event', async () => {
  check(NOMAD_ADDR, 'NOMAD_ADDR is not set: this step scales through the Nomad the server uses');

  // What the Nomad Autoscaler sends when its policy fires. Nomad refuses
  // to scale while the job's deployment is still running (the light turns
  // green a moment before Nomad books its success): the autoscaler tries
  // again at its next evaluation; here, after a short pause.
  const job = `${SLUG}-${SCALED}`;
  const body = JSON.stringify({
    Count: 3,
    Target: { Group: SCALED },
    Message: SCALE_REASON,
    Meta: { 'nomad_autoscaler.count.original': 1, nomad_policy_id: 'e2e' },
  });
  const scaleAt = Date.now();
  const answer = await waitFor(
    async () => {
      let res;
      try {
        res = await fetch(`${NOMAD_ADDR}/v1/job/${job}/scale`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
      } catch (e) {
        throw new Error(`POST ${NOMAD_ADDR}/v1/job/${job}/scale: ${e instanceof Error ? (e.cause?.message ?? e.message) : e}`);
      }
      const text = await res.text();
      if (res.status === 400 && /active deployment/.test(text)) throw new Error(`HTTP 400: ${text.trim()}`);
      return { ok: res.ok, text: `HTTP ${res.status}: ${text.trim()}` };
    },
    `Nomad to scale ${job} (POST /v1/job/${job}/scale)`,
    30_000,
    500,
  );
  check(answer.ok, `Nomad's scale API answered ${answer.text}`);
  const started = Date.now();
  if (started - scaleAt > 1_000) console.log(`    Nomad took the scale after ${secs(started - scaleAt)} (its deployment was still running)`);

  // The status event carries the new count: the node follows it, no reload.
  await hasText(page, `node-scale-${SCALED}`, /^×3 · 1\.\.3$/, 20_000).catch(async (e) => {
    throw new Error(`${e.message}; server status: ${await serverStatus()}`);
  });
  console.log(`    ${SCALED} shows ×3 after ${secs(Date.now() - started)}`);
  const card = await waitFor(
    async () => {
      const t = await tooltip(page, SCALED);
      return /scaled 1 → 3 by the autoscaler · (just now|\d+s ago) — /.test(t) && t.includes(SCALE_REASON) ? t : false;
    },
    `the ${SCALED} card to list the scaling event`,
    20_000,
  );
  check(/autoscaled 1\.\.3 · now ×3/.test(card), `the ${SCALED} card says "${card}"`);
  const first = await textOf(page, `scaling-event-${SCALED}-${REGION}-0`);
  check(first.startsWith('scaled 1 → 3 by the autoscaler'), `the newest scaling event reads "${first}"`);
  await page.mouse.move(5, 700);
  // The two new instances start: green again at 3/3, web untouched.
  await watchLights(page, IDS, { timeout: 60_000 });
  const t3 = await waitFor(async () => {
    const s = await tooltip(page, SCALED);
    return /healthy/.test(s) && /3\/3 running/.test(s) ? s : false;
  }, `the ${SCALED} card to say healthy, 3/3 running`, 30_000);
  console.log(`    ${SCALED} card: ${t3}`);
  await dismissToasts(page);
  await shot(page, 'deploy-autoscaled.png');

  // The same card in the other theme, for a look at both.
  const theme = () => page.evaluate(() => document.documentElement.dataset.theme || 'dark');
  const was = await theme();
  await tid(page, 'theme-toggle').click();
  await waitFor(async () => (await theme()) !== was, 'the theme to change');
  await tooltip(page, SCALED);
  await shot(page, `deploy-autoscaled-${await theme()}.png`);
  await tid(page, 'theme-toggle').click();
  await waitFor(async () => (await theme()) === was, 'the theme to switch back');

  // A deploy would keep the autoscaler's count: the plan changes no count
  // of worker, and says it keeps 3.
  await page.mouse.move(5, 700);
  await tid(page, 'plan').click();
  await visible(page, 'plan-dialog');
  await visible(page, 'plan-items', 30_000);
  const webBadge = ((await (await visible(page, `plan-item-web-${REGION}`)).locator('.badge').textContent()) ?? '').trim();
  check(webBadge === 'unchanged', `after scaling, the plan says "${webBadge}" for web, want "unchanged"`);
  const row = await textOf(page, `plan-item-${SCALED}-${REGION}`);
  check(!/Count/.test(row), `after scaling, the plan changes ${SCALED}'s count: ${row}`);
  await hasText(page, `plan-notes-${SCALED}-${REGION}`, /count 3 kept/);
  console.log(`    plan after scaling: ${row}`);
  await shot(page, 'deploy-plan-autoscaled.png');
  await tid(page, 'plan-close').click();
  await gone(page, 'plan-dialog');
});

// ---- run ----

await run({
  pageLabel: 'page',
  failShots: (tag) => ({ pages: [[page, `fail-deploy-${tag}.png`]], shown: `fail-deploy-${tag}.png` }),
  cleanup: () => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  },
});
