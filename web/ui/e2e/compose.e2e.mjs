// End-to-end test of the projects page's "Import compose" in a real
// headless Chromium driven by playwright-core, against a running
// `backplane serve`. Same style as the other suites; the helpers and the
// step runner are in lib.mjs.
//
// Run by test/compose_browser_test.go (TestComposeImportBrowser), which
// writes a compose project (docker-compose.yml, an override and a .env) and
// a compose file that names /etc/passwd to temp files, and afterwards
// checks through the API what the import made. By hand:
//
//   cd web/ui
//   BASE_URL=http://127.0.0.1:18555 E2E_USER=ivy E2E_PASSWORD=… \
//     E2E_COMPOSE_FILES=/tmp/c/docker-compose.override.yml:/tmp/c/.env:/tmp/c/docker-compose.yml \
//     E2E_BAD_COMPOSE=/tmp/bad/docker-compose.yml E2E_SLUG=storefront E2E_SECRET=STRIPE_SECRET_KEY \
//     E2E_ELEMENTS=web,db,cache node e2e/compose.e2e.mjs
//
// Environment:
//   BASE_URL, E2E_USER, E2E_PASSWORD  the server and a server admin.
//   E2E_COMPOSE_FILES  the files to pick, separated by ":", in any order
//             (the page sorts them: the main file first, the .env apart).
//   E2E_SLUG  the project the compose files name (`name:`); the slug field
//             is left empty.
//   E2E_SECRET  an env var of the compose files that must become a secret
//             (a warning names it).
//   E2E_ELEMENTS  the element IDs the import makes, separated by ",".
//   E2E_BAD_COMPOSE  a compose file whose env_file is outside the upload.
//   E2E_BAD_SLUG  the slug typed for the refused import (default passwd-leak).
//   CHROMIUM, OUT_DIR, E2E_SLOW  as in lib.mjs.
//
// Steps:
//   1. a server admin signs in at the projects page; "Import compose" opens
//      the form (compose-form.png);
//   2. the compose files are picked (in the wrong order): the page shows
//      them merged with docker-compose.yml first and the .env apart, and
//      offers the compose project's name as the slug; Import makes the
//      project: a toast, the result panel with the warnings (one names
//      the secret env var), the project in the list (compose-result.png);
//   3. "Open <slug>" goes to the editor, whose canvas shows a node per
//      imported element (compose-canvas.png);
//   4. back on the projects page, a compose file with env_file: /etc/passwd
//      is refused: the form shows the server's message, the file stays
//      picked, and no project is made (compose-refused.png).

import { BASE_URL, api, check, hasText, page, run, setup, shot, signIn, step, textOf, tid, visible, waitFor } from './lib.mjs';

const FILES = (process.env.E2E_COMPOSE_FILES ?? '').split(':').filter(Boolean);
const SLUG = process.env.E2E_SLUG ?? '';
const SECRET = process.env.E2E_SECRET ?? '';
const ELEMENTS = (process.env.E2E_ELEMENTS ?? '').split(',').filter(Boolean);
const BAD = process.env.E2E_BAD_COMPOSE ?? '';
const BAD_SLUG = process.env.E2E_BAD_SLUG || 'passwd-leak';

// Expected in the log: the 401 before signing in, the 400 of the refused
// import, and 503 (no cluster) in the editor.
setup({ name: 'compose.e2e', slug: SLUG, quiet: /status of (400|401|503)/ });
if (FILES.length === 0 || !SLUG || !SECRET || ELEMENTS.length === 0 || !BAD) {
  console.error('compose.e2e: E2E_COMPOSE_FILES, E2E_SLUG, E2E_SECRET, E2E_ELEMENTS and E2E_BAD_COMPOSE must be set (see test/compose_browser_test.go)');
  process.exit(2);
}

const base = (p) => p.slice(p.lastIndexOf('/') + 1);

step('1. sign in as a server admin; Import compose opens the form', async () => {
  await signIn(page);
  await visible(page, 'import-compose');
  check((await tid(page, 'import-compose-form').count()) === 0, 'the import form shows before Import compose is clicked');
  await tid(page, 'import-compose').click();
  await visible(page, 'import-compose-files');
  await visible(page, 'import-compose-slug');
  await visible(page, 'import-compose-profiles');
  const input = tid(page, 'import-compose-files');
  check((await input.getAttribute('type')) === 'file', 'import-compose-files is not a file input');
  check((await input.getAttribute('multiple')) !== null, 'import-compose-files does not take several files');
  check((await input.getAttribute('accept')) === '.yml,.yaml,.env', `import-compose-files accepts ${await input.getAttribute('accept')}`);
  await shot(page, 'compose-form.png');
});

step('2. pick the compose files and import them: the warnings show, the list has the project', async () => {
  await tid(page, 'import-compose-files').setInputFiles(FILES);
  // Merged with the main file first, whatever the order picked; the .env apart.
  const picked = await hasText(page, 'import-compose-picked', 'docker-compose.yml →');
  check(/docker-compose\.yml → docker-compose\.override\.yml/.test(picked), `the page merges the files in the wrong order: ${picked}`);
  check(/Variables from \.env/.test(picked), `the page does not take .env as the variables: ${picked}`);
  check((await tid(page, 'import-compose-slug').getAttribute('placeholder')) === SLUG, `the slug field does not offer ${SLUG}`);
  await waitFor(() => tid(page, 'import-compose-submit').isEnabled(), 'the files to be read');
  await tid(page, 'import-compose-submit').click();

  await visible(page, 'import-compose-result', 15_000);
  await waitFor(async () => (await page.locator('[data-testid="toast"]', { hasText: `Imported project ${SLUG}` }).count()) > 0, `a toast saying the project ${SLUG} was imported`);
  check((await tid(page, 'import-compose-form').count()) === 0, 'the import form is still open after a successful import');
  const warnings = await tid(page, 'import-compose-warning').allTextContents();
  check(warnings.length > 0, 'the result lists no warnings');
  const secret = warnings.find((w) => w.includes(`environment.${SECRET}`) && /became secret/.test(w));
  check(secret, `no warning says ${SECRET} became a secret; the warnings:\n      ${warnings.join('\n      ')}`);
  check(/^docker-compose[.a-z]*\.yml: services\.web\.environment\./.test(secret), `the warning is not FILE: PATH: message: ${secret}`);
  for (const w of warnings) check(!/sk_live|not-in-the-schema/.test(w), `a warning shows a secret value: ${w}`);
  console.log(`    ${warnings.length} warnings, e.g. ${secret}`);
  // The list was refreshed: the new project is on it.
  await visible(page, `project-${SLUG}`);
  check((await textOf(page, 'import-compose-open')) === `Open ${SLUG}`, `the open link says "${await textOf(page, 'import-compose-open')}"`);
  await shot(page, 'compose-result.png');
});

step('3. Open goes to the editor: a node per imported element', async () => {
  await tid(page, 'import-compose-open').click();
  await waitFor(() => new URL(page.url()).pathname === `/p/${SLUG}`, `the editor of ${SLUG} (at ${page.url()})`);
  await visible(page, 'canvas', 15_000);
  for (const id of ELEMENTS) await visible(page, `node-${id}`);
  const n = await page.locator('.react-flow__node').count();
  check(n === ELEMENTS.length, `the canvas shows ${n} nodes, want ${ELEMENTS.length} (${ELEMENTS.join(', ')})`);
  // The connections the import drew (web → db, web → cache) are edges.
  await waitFor(async () => (await page.locator('.react-flow__edge').count()) >= 2, 'the imported connections as edges');
  await shot(page, 'compose-canvas.png');
});

step('4. a compose file naming /etc/passwd is refused in the form, and makes no project', async () => {
  await page.goto(`${BASE_URL}/`);
  await visible(page, 'import-compose');
  await tid(page, 'import-compose').click();
  await tid(page, 'import-compose-files').setInputFiles([BAD]);
  await tid(page, 'import-compose-slug').fill(BAD_SLUG);
  await waitFor(() => tid(page, 'import-compose-submit').isEnabled(), 'the file to be read');
  await tid(page, 'import-compose-submit').click();
  const msg = await hasText(page, 'import-compose-error', '/etc/passwd');
  check(/outside the uploaded files/.test(msg), `the refusal does not say why: ${msg}`);
  check((await tid(page, 'import-compose-result').count()) === 0, 'a result panel shows for a refused import');
  // The file stays picked, to fix and send again.
  const picked = await tid(page, 'import-compose-files').evaluate((el) => Array.from(el.files ?? []).map((f) => f.name));
  check(picked.length === 1 && picked[0] === base(BAD), `the picked files after the refusal: ${JSON.stringify(picked)}`);
  check((await tid(page, 'import-compose-slug').inputValue()) === BAD_SLUG, 'the slug typed was cleared');
  const r = await api('GET', `/projects/${BAD_SLUG}`);
  check(r.status === 404, `the refused import made ${BAD_SLUG}: HTTP ${r.status} ${r.text}`);
  check((await tid(page, `project-${BAD_SLUG}`).count()) === 0, `${BAD_SLUG} is in the project list`);
  await shot(page, 'compose-refused.png');
});

await run();
