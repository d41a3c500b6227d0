// End-to-end test of the Backplane editor in a real headless Chromium, driven
// by playwright-core (no @playwright/test, no downloaded browsers).
//
// Run by test/editor_test.go (TestEditorInBrowser), or by hand:
//
//   cd web/ui
//   BASE_URL=http://127.0.0.1:18555 E2E_USER=erin E2E_PASSWORD=… CHROMIUM=/usr/bin/chromium OUT_DIR=/tmp/e2e-out npm run e2e
//
// Environment:
//   BASE_URL  the root of a running `backplane serve` (required), e.g.
//             http://127.0.0.1:40123. The run creates the project `e2e-shop`
//             (and deletes a leftover one of a previous run first).
//   E2E_USER, E2E_PASSWORD  a server admin to sign in as (required).
//   CHROMIUM  the Chromium executable (default /usr/bin/chromium).
//   OUT_DIR   folder for the screenshots (default ./e2e-out); created if missing.
//             On a failure, fail-<step>-a.png (and -b.png for the second
//             page of step 7) shows the page at that moment.
//   E2E_SLOW  optional: milliseconds of slowMo, to watch a headed debug run.
//
// The helpers and the step runner are in lib.mjs, shared with deploy.e2e.mjs.
//
// It exits 0 when every step passed, 1 with the failing step and reason
// otherwise. Steps:
//   1. sign in through the sign-in page (a signed-out browser is sent
//      there); create the project through the projects page and open its
//      editor;
//   2. drag app.nodejs and db.mongodb from the palette onto the canvas (real
//      HTML5 drag and drop);
//   3. connect them by dragging from a source handle to a target handle;
//   4. fill the inspector (repo, start command, an env var);
//   5. save;
//   6. reload and check everything persisted; the preview shows the
//      MONGODB_URL wiring, the YAML view the connection;
//   7. a stale save from a second page gives the conflict dialog (reload in
//      one page, overwrite in the other);
//   8. theme screenshots and the projects page;
//   9. the deploy history (History tab, Deploys): the server's list (empty
//      without a cluster), then a mocked list to check the rendering; with
//      no cluster, Rollback, Destroy element and Destroy… are disabled with
//      the tooltip "No cluster connected".

import { BASE_URL, E2E_USER, api, check, context, dismissToasts, gone, hasText, headSchema, page, run, setup, shot, signIn, step, textOf, tid, valueIs, visible, waitFor, watch } from './lib.mjs';

const SLUG = 'e2e-shop';
const NAME = 'E2E Shop';
const REPO = 'https://github.com/acme/api.git';

// 409 on a stale save is expected (step 7); 503 no_cluster from /status
// too; and the 401 of GET /auth/me before signing in.
setup({ name: 'editor.e2e', slug: SLUG, quiet: /status of (401|409|503)/ });

// ---- helpers of this suite (the shared ones are in lib.mjs) ----

async function center(locator, what) {
  const b = await locator.boundingBox();
  check(b, `${what} has no bounding box (not rendered or hidden)`);
  return { x: b.x + b.width / 2, y: b.y + b.height / 2, box: b };
}

// The editor's id for a new element is the last part of its kind.
const NODE = 'nodejs';
const MONGO = 'mongodb';

// The text of the YAML view (CodeMirror). CodeMirror only renders the lines
// near the viewport, so scroll through the editor and collect them all.
async function yamlViewText(page) {
  return page.evaluate(async () => {
    const scroller = document.querySelector('[data-testid="yaml-view"] .cm-scroller');
    if (!scroller) return '';
    const frame = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r())));
    const lines = new Map(); // offset of the line from the top of the document -> text
    const collect = () => {
      const top = scroller.getBoundingClientRect().top - scroller.scrollTop;
      for (const el of scroller.querySelectorAll('.cm-line')) lines.set(Math.round(el.getBoundingClientRect().top - top), el.textContent ?? '');
    };
    const start = scroller.scrollTop;
    scroller.scrollTop = 0;
    await frame();
    collect();
    while (scroller.scrollTop + scroller.clientHeight < scroller.scrollHeight - 1) {
      const before = scroller.scrollTop;
      scroller.scrollTop += Math.max(50, scroller.clientHeight - 40);
      await frame();
      collect();
      if (scroller.scrollTop === before) break;
    }
    scroller.scrollTop = start;
    await frame();
    return [...lines.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1]).join('\n');
  });
}

// revealText scrolls the element [data-testid=id] (a scrollable box such as
// a <pre>) so that the first occurrence of text is inside it, and returns
// true when that text is then within both the box and the window.
async function revealText(page, id, text) {
  return page.evaluate(
    ([id, text]) => {
      const box = document.querySelector(`[data-testid="${id}"]`);
      if (!box) return false;
      const walker = document.createTreeWalker(box, NodeFilter.SHOW_TEXT);
      for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        const i = n.data.indexOf(text);
        if (i < 0) continue;
        const range = document.createRange();
        range.setStart(n, i);
        range.setEnd(n, i + text.length);
        box.scrollIntoView({ block: 'nearest' });
        let r = range.getBoundingClientRect();
        let b = box.getBoundingClientRect();
        box.scrollTop += r.top - b.top - b.height / 2;
        // Lines do not wrap: scroll sideways to a little before the text, so
        // what follows it (the value) shows too.
        if (r.right > b.right - 24) box.scrollLeft += r.left - b.left - 80;
        r = range.getBoundingClientRect();
        b = box.getBoundingClientRect();
        const inBox = r.left >= b.left && r.right <= b.right && r.top >= b.top && r.bottom <= b.bottom;
        const inWindow = r.left >= 0 && r.right <= innerWidth && r.top >= 0 && r.bottom <= innerHeight;
        return r.width > 0 && inBox && inWindow;
      }
      return false;
    },
    [id, text],
  );
}

// dragFromPalette drags a palette item onto the canvas at (fx, fy), fractions
// of the canvas size, with a real HTML5 drag and drop: Playwright's Chromium
// backend intercepts the drag started by the mouse (CDP
// Input.setInterceptDrags) and dispatches dragenter/dragover/drop with a real
// DataTransfer, so Palette's onDragStart sets the kind MIME type and
// CanvasView's onDrop reads it back.
async function dragFromPalette(page, kind, fx, fy) {
  const canvas = tid(page, 'canvas');
  const cb = await canvas.boundingBox();
  check(cb, 'the canvas is not rendered');
  const target = { x: cb.width * fx, y: cb.height * fy };
  const before = await page.locator('.react-flow__node').count();
  await tid(page, `palette-${kind}`).dragTo(canvas, { targetPosition: target });
  await waitFor(async () => (await page.locator('.react-flow__node').count()) === before + 1, `a node for ${kind} to appear on the canvas after dropping it`);
  return { x: cb.x + target.x, y: cb.y + target.y };
}

// ---- the steps ----

let pageB; // page A is lib.mjs's page

step('1. sign in; create the project on the projects page and open it', async () => {
  // A leftover of an earlier run against the same server would make the
  // create fail: remove it first.
  const old = await api('GET', `/projects/${SLUG}`);
  if (old.status === 200) {
    const d = await api('DELETE', `/projects/${SLUG}`);
    check(d.status === 204, `cannot delete the leftover project ${SLUG}: HTTP ${d.status}`);
    console.log(`    deleted a leftover project ${SLUG}`);
  }
  // Signed out, the projects list sends the browser to the sign-in page.
  await signIn(page);
  await hasText(page, 'user-name', E2E_USER);
  await hasText(page, 'new-project', 'New project');
  await tid(page, 'new-project').click();
  await (await visible(page, 'new-project-slug')).fill(SLUG);
  await tid(page, 'new-project-name').fill(NAME);
  await tid(page, 'create-project').click();
  if (await tid(page, 'new-project-error').isVisible().catch(() => false)) throw new Error(`creating the project failed: ${await textOf(page, 'new-project-error')}`);
  await visible(page, `project-${SLUG}`);
  await hasText(page, `open-${SLUG}`, NAME);
  await hasText(page, `project-${SLUG}`, 'rev 1');
  const p = await api('GET', `/projects/${SLUG}`);
  check(p.status === 200 && p.json.name === NAME, `the server does not have the project: HTTP ${p.status} ${p.text}`);

  await tid(page, `open-${SLUG}`).click();
  await waitFor(() => new URL(page.url()).pathname === `/p/${SLUG}`, `the URL to become /p/${SLUG} (is ${page.url()})`);
  await hasText(page, 'project-name', NAME);
  await hasText(page, 'revision', 'rev 1');
  await visible(page, 'canvas');
  await visible(page, `palette-app.nodejs`);
  check((await page.locator('.react-flow__node').count()) === 0, 'a new project should have an empty canvas');
});

step('2. drag app.nodejs and db.mongodb from the palette onto the canvas', async () => {
  const dropA = await dragFromPalette(page, 'app.nodejs', 0.3, 0.45);
  const nodeA = await visible(page, `node-${NODE}`);
  const dropB = await dragFromPalette(page, 'db.mongodb', 0.72, 0.45);
  const nodeB = await visible(page, `node-${MONGO}`);
  // Dropped where released (the click-to-add shortcut would put them at the
  // canvas centre): the node's centre is near the drop point.
  for (const [node, drop, id] of [
    [nodeA, dropA, NODE],
    [nodeB, dropB, MONGO],
  ]) {
    const c = await center(node, `node-${id}`);
    const d = Math.hypot(c.x - drop.x, c.y - drop.y);
    check(d < 60, `node-${id} is at (${c.x.toFixed(0)},${c.y.toFixed(0)}), ${d.toFixed(0)} px from where it was dropped (${drop.x.toFixed(0)},${drop.y.toFixed(0)})`);
  }
  await visible(page, 'unsaved');
  // The last dropped element is selected in the inspector.
  await visible(page, 'inspector-element');
  await valueIs(page, 'field-id', MONGO);
});

step('3. connect nodejs -> mongodb by dragging between the handles', async () => {
  const src = await center(tid(page, `handle-source-${NODE}`), `handle-source-${NODE}`);
  const dst = await center(tid(page, `handle-target-${MONGO}`), `handle-target-${MONGO}`);
  await page.mouse.move(src.x, src.y);
  await page.mouse.down();
  // React Flow starts a connection on pointer moves; go there in steps.
  await page.mouse.move(src.x + 20, src.y + 10, { steps: 4 });
  await page.mouse.move(dst.x, dst.y, { steps: 15 });
  await page.mouse.move(dst.x + 1, dst.y, { steps: 2 });
  await page.mouse.up();
  await waitFor(async () => (await page.locator('.react-flow__edge').count()) === 1, 'one .react-flow__edge after connecting the handles');
  // The new connection is selected: its inspector names both ends and the
  // env var the target injects.
  await visible(page, 'inspector-connection');
  await hasText(page, 'field-from', NODE);
  await hasText(page, 'field-to', MONGO);
  const ph = await tid(page, 'field-env').getAttribute('placeholder');
  check(ph === 'MONGODB_URL', `the connection's env var placeholder is "${ph}", want MONGODB_URL`);
  await hasText(page, 'inspector-connection', 'MONGODB_URL');
});

step('4. fill the nodejs inspector: repo, start command, an env var', async () => {
  await tid(page, `node-${NODE}`).locator('.el-head').click();
  await visible(page, 'inspector-element');
  await valueIs(page, 'field-id', NODE);
  await hasText(page, 'field-kind', 'app.nodejs');
  await tid(page, 'field-source.repo').fill(REPO);
  await tid(page, 'field-source.start').fill('npm start');
  await tid(page, 'field-env-key-0').fill('LOG_LEVEL');
  await tid(page, 'field-env-value-0').fill('debug');
  await valueIs(page, 'field-source.repo', REPO);
  await valueIs(page, 'field-env-key-0', 'LOG_LEVEL');
  await valueIs(page, 'field-env-value-0', 'debug');
  // A blank env row is always added after the last one.
  await valueIs(page, 'field-env-key-1', '');
  // The element (and the schema) validate: no problems left.
  await hasText(page, 'problem-count', /^0$/, 10_000).catch(async (e) => {
    const list = await textOf(page, 'problems');
    throw new Error(`${e.message}; problems: ${list}`);
  });
  await waitFor(async () => (await tid(page, `node-problem-${NODE}`).count()) === 0, `no problem badge on node-${NODE}`);
});

step('5. save', async () => {
  await tid(page, 'save-message').fill('e2e: nodejs + mongodb');
  await tid(page, 'save').click();
  await hasText(page, 'revision', 'rev 2');
  await gone(page, 'unsaved');
  await waitFor(() => page.getByTestId('toast').filter({ hasText: 'Saved revision 2' }).isVisible(), 'the toast "Saved revision 2"');
  const doc = await headSchema();
  check(doc.revision === 2, `the server's head is revision ${doc.revision}, want 2`);
  const y = doc.yaml;
  for (const want of [`id: ${NODE}`, `kind: app.nodejs`, `id: ${MONGO}`, `kind: db.mongodb`, `repo: ${REPO}`, 'start: npm start', 'LOG_LEVEL: debug', `from: ${NODE}`, `to: ${MONGO}`]) {
    check(y.includes(want), `the saved YAML on the server lacks "${want}":\n${y}`);
  }
  const revs = await api('GET', `/projects/${SLUG}/revisions`);
  check(revs.json?.revisions?.[0]?.message === 'e2e: nodejs + mongodb', `revision 2's message is ${JSON.stringify(revs.json?.revisions?.[0]?.message)}`);
  await shot(page, 'editor-saved.png');
});

step('6. reload: everything persisted; preview shows MONGODB_URL, YAML the connection', async () => {
  await page.reload();
  await hasText(page, 'revision', 'rev 2');
  await visible(page, `node-${NODE}`);
  await visible(page, `node-${MONGO}`);
  await waitFor(async () => (await page.locator('.react-flow__edge').count()) === 1, 'the edge after the reload');
  check((await page.locator('.react-flow__node').count()) === 2, 'expected exactly 2 nodes after the reload');
  check((await tid(page, 'unsaved').count()) === 0, 'a freshly loaded project shows "unsaved"');

  await tid(page, `node-${NODE}`).locator('.el-head').click();
  await visible(page, 'inspector-element');
  await valueIs(page, 'field-id', NODE);
  await valueIs(page, 'field-source.repo', REPO);
  await valueIs(page, 'field-source.start', 'npm start');
  await valueIs(page, 'field-env-key-0', 'LOG_LEVEL');
  await valueIs(page, 'field-env-value-0', 'debug');

  // Preview: the job the nodejs element renders to gets MONGODB_URL from the
  // connection.
  await tid(page, 'tab-preview').click();
  await visible(page, 'preview-panel');
  await tid(page, 'preview-tab-hcl').click();
  const hcl = await hasText(page, 'preview-content', 'MONGODB_URL', 15_000);
  check(hcl.includes('LOG_LEVEL'), 'the HCL preview lacks the LOG_LEVEL env var');
  check(hcl.includes('acme/api'), 'the HCL preview lacks the source repo');
  // The variable is deep in a long template line: scroll the preview to it
  // and check it is on screen, inside the preview box.
  await waitFor(() => revealText(page, 'preview-content', 'MONGODB_URL'), 'MONGODB_URL scrolled into view inside the preview');
  await shot(page, 'editor-preview.png');
  await tid(page, 'tab-inspector').click();

  // YAML view: the connection from nodejs to mongodb.
  await tid(page, 'yaml-toggle').click();
  await visible(page, 'yaml-view');
  const text = await waitFor(async () => {
    const t = await yamlViewText(page);
    return t.includes(`from: ${NODE}`) ? t : false;
  }, `the YAML view to show "from: ${NODE}"`);
  check(/\bfrom:\s*nodejs\b[\s,]*to:\s*mongodb\b/.test(text), `the YAML view has no connection nodejs -> mongodb:\n${text}`);
  for (const want of [`repo: ${REPO}`, 'LOG_LEVEL: debug', `kind: db.mongodb`]) check(text.includes(want), `the YAML view lacks "${want}":\n${text}`);
  await page.locator('[data-testid="yaml-view"] .cm-line', { hasText: `from: ${NODE}` }).scrollIntoViewIfNeeded();
  check((await tid(page, 'yaml-error').count()) === 0, 'the YAML view shows an error');
  await shot(page, 'editor-yaml.png');
  await tid(page, 'yaml-toggle').click();
  await visible(page, 'canvas');
  await visible(page, `node-${NODE}`);
});

step('7. a stale save from a second page gives the conflict dialog', async () => {
  pageB = await context.newPage();
  watch(pageB, 'page B');
  await pageB.goto(`${BASE_URL}/p/${SLUG}`);
  await hasText(pageB, 'revision', 'rev 2');
  await visible(pageB, `node-${NODE}`);

  // A: set the branch of nodejs and save: revision 3.
  await tid(page, `node-${NODE}`).locator('.el-head').click();
  await valueIs(page, 'field-id', NODE);
  await tid(page, 'field-source.branch').fill('release');
  await visible(page, 'unsaved');
  await tid(page, 'save').click();
  await hasText(page, 'revision', 'rev 3');
  await gone(page, 'unsaved');

  // B, still on revision 2: add an env var and save: conflict.
  await tid(pageB, `node-${NODE}`).locator('.el-head').click();
  await valueIs(pageB, 'field-id', NODE);
  await valueIs(pageB, 'field-source.branch', '');
  await tid(pageB, 'field-env-key-1').fill('FROM_B');
  await tid(pageB, 'field-env-value-1').fill('yes');
  await visible(pageB, 'unsaved');
  await tid(pageB, 'save').click();
  const dialog = await visible(pageB, 'conflict-dialog');
  check((await dialog.getAttribute('role')) === 'dialog', 'conflict-dialog has no role="dialog"');
  await hasText(pageB, 'conflict-dialog', /^Conflict/);
  await hasText(pageB, 'conflict-head', 'Revision 3');
  await hasText(pageB, 'revision', 'rev 2');
  check((await headSchema()).revision === 3, 'the stale save changed the head');
  await shot(pageB, 'editor-conflict.png');

  // B: Reload takes A's revision 3 and drops B's edit.
  await tid(pageB, 'conflict-reload').click();
  await gone(pageB, 'conflict-dialog');
  await hasText(pageB, 'revision', 'rev 3');
  await gone(pageB, 'unsaved');
  await tid(pageB, `node-${NODE}`).locator('.el-head').click();
  await valueIs(pageB, 'field-source.branch', 'release');
  await valueIs(pageB, 'field-env-key-0', 'LOG_LEVEL');
  await valueIs(pageB, 'field-env-key-1', '');
  // React Flow draws the edge once both nodes are measured, a moment
  // after the nodes themselves.
  await waitFor(async () => (await pageB.locator('.react-flow__edge').count()) === 1, 'page B to draw the edge after reloading');

  // The other way round: B saves revision 4, A (on 3) saves and overwrites.
  await tid(pageB, 'field-env-key-1').fill('FROM_B');
  await tid(pageB, 'field-env-value-1').fill('yes');
  await tid(pageB, 'save').click();
  await hasText(pageB, 'revision', 'rev 4');
  await gone(pageB, 'unsaved');

  await valueIs(page, 'field-id', NODE);
  await tid(page, 'field-source.branch').fill('main');
  await tid(page, 'save').click();
  await visible(page, 'conflict-dialog');
  await hasText(page, 'conflict-head', 'Revision 4');
  await tid(page, 'conflict-overwrite').click();
  await gone(page, 'conflict-dialog');
  await hasText(page, 'revision', 'rev 5');
  await gone(page, 'unsaved');
  await valueIs(page, 'field-source.branch', 'main');
  const head = await headSchema();
  check(head.revision === 5, `after overwriting, the head is revision ${head.revision}, want 5`);
  check(head.yaml.includes('branch: main'), `the overwritten head lacks A's "branch: main":\n${head.yaml}`);
  check(!head.yaml.includes('FROM_B'), `the overwritten head still has B's FROM_B:\n${head.yaml}`);
  check(head.yaml.includes(`from: ${NODE}`) && head.yaml.includes(`to: ${MONGO}`), `the overwritten head lost the connection:\n${head.yaml}`);

  // B learns about revision 5 from the server (the events stream).
  await visible(pageB, 'revision-notice', 15_000);
  await hasText(pageB, 'revision-notice', '5');
  await tid(pageB, 'revision-reload').click();
  await hasText(pageB, 'revision', 'rev 5');
  await gone(pageB, 'revision-notice');
  await pageB.close();
  pageB = undefined;
});

step('8. theme screenshots and the projects page', async () => {
  await tid(page, 'tab-inspector').click();
  const theme = () => page.evaluate(() => document.documentElement.dataset.theme || 'dark');
  const first = await theme();
  await page.mouse.move(5, 700); // no hover tooltip in the shots
  await dismissToasts(page);
  await shot(page, `editor-${first}.png`);
  await tid(page, 'theme-toggle').click();
  const second = await waitFor(async () => {
    const t = await theme();
    return t !== first ? t : false;
  }, 'the theme to change after theme-toggle');
  const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  await shot(page, `editor-${second}.png`);
  await tid(page, 'theme-toggle').click();
  await waitFor(async () => (await theme()) === first, 'the theme to switch back');
  const bg2 = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  check(bg !== bg2, `the page background did not change with the theme (${bg})`);

  await tid(page, 'back').click();
  await visible(page, `project-${SLUG}`);
  await hasText(page, `project-${SLUG}`, 'rev 5');
  await hasText(page, `open-${SLUG}`, NAME);
  await dismissToasts(page);
  await shot(page, 'projects.png');
});

step('9. deploy history; with no cluster, rollback and destroy are disabled', async () => {
  const h = await api('GET', '/healthz');
  const noCluster = h.json?.cluster !== 'connected';
  const deps = await api('GET', `/projects/${SLUG}/deployments`);
  check(deps.status === 200 && Array.isArray(deps.json?.deployments), `GET /projects/${SLUG}/deployments: HTTP ${deps.status}: ${deps.text}`);
  const real = deps.json.deployments;

  await tid(page, `open-${SLUG}`).click();
  await hasText(page, 'revision', 'rev 5');
  await visible(page, `node-${NODE}`);

  // The top bar's overflow menu: Destroy… (disabled without a cluster) and
  // the way to the deploy history.
  await tid(page, 'more').click();
  await visible(page, 'more-menu');
  if (noCluster) {
    check(await tid(page, 'destroy').isDisabled(), 'Destroy… is enabled with no cluster');
    const title = await tid(page, 'destroy').getAttribute('title');
    check(title === 'No cluster connected', `Destroy…'s tooltip is "${title}", want "No cluster connected"`);
  }
  await tid(page, 'open-deploys').click();
  await gone(page, 'more-menu');
  await visible(page, 'history-panel');
  check((await tid(page, 'history-tab-deploys').getAttribute('aria-selected')) === 'true', 'the Deploys sub-tab is not selected after "Deploy history"');
  await visible(page, 'deployments');
  if (real.length === 0) await hasText(page, 'deployments-empty', 'No deployments yet');
  else await visible(page, `deployment-${real[0].id}`);
  await page.mouse.move(5, 700);
  await dismissToasts(page);
  await shot(page, 'editor-history.png');

  // The revisions are the other sub-tab.
  await tid(page, 'history-tab-revisions').click();
  await visible(page, 'revision-5');
  await tid(page, 'history-tab-deploys').click();
  await visible(page, 'deployments');

  // A list (mocked: without a cluster the server has none) renders newest
  // first with coloured status badges.
  const mocked = [
    { id: 41, project: SLUG, revision: 4, action: 'deploy', author: 'ann', status: 'succeeded', summary: '2 registered, 0 unchanged, 0 removed, 0 failed, 0 conflicts', created_at: '2025-03-01T10:00:00Z', updated_at: '2025-03-01T10:01:00Z' },
    { id: 43, project: SLUG, revision: 5, action: 'deploy', author: 'bob', status: 'running', summary: '', created_at: '2025-03-02T09:00:00Z', updated_at: '2025-03-02T09:00:00Z' },
    { id: 42, project: SLUG, revision: 5, action: 'rollback', author: 'ann', status: 'failed', summary: '1 jobs: no earlier stable version', created_at: '2025-03-01T12:00:00Z', updated_at: '2025-03-01T12:00:00Z' },
  ];
  const route = `**/api/v1/projects/${SLUG}/deployments`;
  await page.route(route, (r) => r.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ deployments: mocked }) }));
  try {
    await tid(page, 'deployments-refresh').click();
    await visible(page, 'deployment-43');
    const order = await page.locator('[data-testid="deployments"] [data-testid^="deployment-"]:not([data-testid^="deployment-status-"])').evaluateAll((els) => els.map((e) => e.getAttribute('data-testid')));
    check(JSON.stringify(order) === JSON.stringify(['deployment-43', 'deployment-42', 'deployment-41']), `the deployments are in the order ${order}, want newest first 43, 42, 41`);
    for (const [id, status, cls] of [
      [43, 'running', 'badge-amber'],
      [42, 'failed', 'badge-red'],
      [41, 'succeeded', 'badge-green'],
    ]) {
      await hasText(page, `deployment-status-${id}`, status);
      const c = (await tid(page, `deployment-status-${id}`).getAttribute('class')) ?? '';
      check(c.includes(cls), `deployment ${id} (${status}) has the badge class "${c}", want ${cls}`);
    }
    await hasText(page, 'deployment-42', 'no earlier stable version');
    await hasText(page, 'deployment-43', 'bob');
    await shot(page, 'editor-history-list.png');
  } finally {
    await page.unroute(route);
  }

  // The element's cluster actions in the inspector.
  await tid(page, 'tab-inspector').click();
  await tid(page, `node-${NODE}`).locator('.el-head').click();
  await visible(page, 'inspector-element');
  await visible(page, 'rollback');
  await visible(page, 'destroy-element');
  if (noCluster) {
    for (const id of ['rollback', 'destroy-element']) {
      check(await tid(page, id).isDisabled(), `${id} is enabled with no cluster`);
      const title = await tid(page, id).getAttribute('title');
      check(title === 'No cluster connected', `${id}'s tooltip is "${title}", want "No cluster connected"`);
    }
    // And the server agrees.
    const rb = await api('POST', `/projects/${SLUG}/rollback`, { element: NODE });
    check(rb.status === 503 && rb.json?.error?.code === 'no_cluster', `POST rollback without a cluster: HTTP ${rb.status} ${rb.text}`);
  } else {
    console.log('    (the server has a cluster: the disabled checks are skipped)');
  }
});

// ---- run ----

await run({
  pageLabel: 'page A',
  failShots: (tag) => ({
    pages: [
      [page, `fail-${tag}-a.png`],
      [pageB, `fail-${tag}-b.png`],
    ],
    shown: `fail-${tag}-*.png`,
  }),
});
