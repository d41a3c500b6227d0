// What the browser suites (editor.e2e.mjs, deploy.e2e.mjs) share: the
// environment, small polling helpers on data-testid, the API client, and the
// step runner (browser launch, the steps in order, failure screenshots, exit
// code). A suite calls setup() first, registers its steps with step(), and
// ends with run().
//
// Environment (read here, checked by setup()):
//   BASE_URL  the root of a running `backplane serve` (required).
//   E2E_USER, E2E_PASSWORD  a server admin to sign in as (required: every
//             API call needs a caller). The suites sign in through the
//             sign-in page (signIn), and api() calls the API as that user
//             with a session of its own.
//   CHROMIUM  the Chromium executable (default /usr/bin/chromium).
//   OUT_DIR   folder for the screenshots (default ./e2e-out); created if missing.
//   E2E_SLOW  optional: milliseconds of slowMo, to watch a headed debug run.
//   E2E_STACK optional: print the stack of a failure too.

import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const BASE_URL = (process.env.BASE_URL ?? '').replace(/\/+$/, '');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const OUT_DIR = path.resolve(process.env.OUT_DIR || 'e2e-out');
export const API = `${BASE_URL}/api/v1`;
export const E2E_USER = process.env.E2E_USER ?? '';
export const E2E_PASSWORD = process.env.E2E_PASSWORD ?? '';

// The suite, as given to setup().
let suite = { name: 'e2e', slug: '', quiet: undefined };
let t0 = Date.now();

// setup names the suite (the prefix of its log lines, e.g. "editor.e2e") and
// its project (for headSchema), exits 2 when BASE_URL is not set (server
// says what it must point at), and creates OUT_DIR. quiet, a RegExp, hides
// the console errors it matches (expected ones) from the log.
export function setup({ name, slug, server = 'a running `backplane serve`', quiet }) {
  suite = { name, slug, quiet };
  if (!BASE_URL) {
    console.error(`${name}: BASE_URL is not set (the address of ${server}, e.g. http://127.0.0.1:40123)`);
    process.exit(2);
  }
  if (!E2E_USER || !E2E_PASSWORD) {
    console.error(`${name}: E2E_USER and E2E_PASSWORD are not set (a server admin of ${BASE_URL} to sign in as)`);
    process.exit(2);
  }
  mkdirSync(OUT_DIR, { recursive: true });
  t0 = Date.now();
}

// ---- small helpers ----

export const secs = (ms) => `${(ms / 1000).toFixed(1)}s`;
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// waitFor polls fn every `every` ms until it returns a truthy value (which it
// returns), or throws "timed out ... waiting for <what>" with the last value
// or error.
export async function waitFor(fn, what, timeout = 10_000, every = 100) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
      last = v;
    } catch (e) {
      last = e instanceof Error ? e.message.split('\n')[0] : String(e);
    }
    if (Date.now() > end) {
      throw new Error(`timed out after ${timeout} ms waiting for ${what}${last !== undefined ? ` (last: ${typeof last === 'string' ? last : JSON.stringify(last)})` : ''}`);
    }
    await sleep(every);
  }
}

export function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

export const tid = (page, id) => page.getByTestId(id); // exact match on data-testid

export async function visible(page, id, timeout = 10_000) {
  await waitFor(() => tid(page, id).isVisible(), `[data-testid="${id}"] to be visible`, timeout);
  return tid(page, id);
}

export async function gone(page, id, timeout = 10_000) {
  await waitFor(async () => (await tid(page, id).count()) === 0, `[data-testid="${id}"] to disappear`, timeout);
}

export async function textOf(page, id) {
  return ((await tid(page, id).textContent()) ?? '').trim();
}

export async function hasText(page, id, want, timeout = 10_000) {
  return waitFor(
    async () => {
      const t = await textOf(page, id);
      return (want instanceof RegExp ? want.test(t) : t.includes(want)) ? t : false;
    },
    `[data-testid="${id}"] to show ${want}`,
    timeout,
  );
}

export async function valueIs(page, id, want, timeout = 5_000) {
  await waitFor(async () => (await tid(page, id).inputValue()) === want, `input [data-testid="${id}"] to hold "${want}"`, timeout);
}

// rawApi calls the API with the headers given and nothing else: no
// session, no CSRF token.
export async function rawApi(method, p, body, headers = {}) {
  let res;
  try {
    res = await fetch(`${API}${p}`, {
      method,
      headers: { ...(body ? { 'Content-Type': 'application/json' } : {}), ...headers },
      body: body ? JSON.stringify(body) : undefined,
    });
  } catch (e) {
    throw new Error(`${method} ${API}${p}: ${e instanceof Error ? (e.cause?.message ?? e.message) : e} (is backplane serving at BASE_URL=${BASE_URL}?)`);
  }
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text, headers: res.headers };
}

// ApiSession is a user signed in from this script (POST /auth/login): its
// session cookie goes with every call, its CSRF token with every change,
// as the editor does it.
export class ApiSession {
  constructor(name, password) {
    this.name = name;
    this.password = password;
    this.cookie = '';
    this.csrf = '';
  }

  async signIn() {
    const r = await rawApi('POST', '/auth/login', { name: this.name, password: this.password });
    check(r.status === 200, `sign in as ${this.name} through the API: HTTP ${r.status}: ${r.text}`);
    const c = r.headers.getSetCookie().find((v) => v.startsWith('backplane_session='));
    check(c, `POST /auth/login set no backplane_session cookie`);
    this.cookie = c.split(';')[0];
    this.csrf = r.json.csrf_token;
  }

  async call(method, p, body, headers = {}) {
    if (!this.cookie) await this.signIn();
    const h = { Cookie: this.cookie, ...headers };
    if (method !== 'GET' && method !== 'HEAD') h['X-CSRF-Token'] = this.csrf;
    return rawApi(method, p, body, h);
  }
}

let adminSession;

// api calls the API as E2E_USER (signed in once, on first use).
export async function api(method, p, body, headers = {}) {
  adminSession ??= new ApiSession(E2E_USER, E2E_PASSWORD);
  return adminSession.call(method, p, body, headers);
}

// signIn signs in through the sign-in page: it opens `path` (default the
// projects list), which sends a signed-out browser to /sign-in?next=<path>,
// fills the form and waits to be back at `path`, signed in as name.
export async function signIn(page, name = E2E_USER, password = E2E_PASSWORD, path = '/') {
  await page.goto(`${BASE_URL}${path}`);
  await visible(page, 'sign-in-name', 15_000);
  // The sign-in form shows at once; the address changes right after it.
  await waitFor(() => new URL(page.url()).pathname === '/sign-in', `a signed-out browser at ${path} to be sent to /sign-in (at ${page.url()})`, 5_000);
  const u = new URL(page.url());
  if (path !== '/') check(u.searchParams.get('next') === path, `the sign-in page does not remember ${path}: ${page.url()}`);
  await tid(page, 'sign-in-name').fill(name);
  await tid(page, 'sign-in-password').fill(password);
  await tid(page, 'sign-in-submit').click();
  await hasText(page, 'user-name', name).catch(async (e) => {
    const err = (await tid(page, 'sign-in-error').count()) ? await textOf(page, 'sign-in-error') : '';
    throw new Error(`${e.message}${err ? `; the sign-in page says: ${err}` : ''}`);
  });
  await waitFor(() => new URL(page.url()).pathname === path.split('?')[0], `to be back at ${path} after signing in (at ${page.url()})`);
}

// signOut signs out through the user menu and waits for the sign-in page.
export async function signOut(page) {
  await tid(page, 'user-menu').click();
  await tid(page, 'sign-out').click();
  await visible(page, 'sign-in-name');
  await waitFor(() => new URL(page.url()).pathname === '/sign-in', `the sign-in page after signing out (at ${page.url()})`);
}

// headSchema is the server's head schema of the suite's project.
export async function headSchema() {
  const r = await api('GET', `/projects/${suite.slug}/schema`);
  check(r.status === 200, `GET /projects/${suite.slug}/schema: HTTP ${r.status}: ${r.text}`);
  return r.json;
}

export async function shot(page, name) {
  const file = path.join(OUT_DIR, name);
  await page.screenshot({ path: file });
  console.log(`    screenshot ${file}`);
}

// dismissToasts closes the toasts (they last a few seconds), for a clean shot.
export async function dismissToasts(page) {
  await waitFor(async () => {
    const close = page.locator('[data-testid="toast"] .toast-close');
    if ((await close.count()) === 0) return true;
    await close.first().click({ timeout: 1_000 }).catch(() => {});
    return false;
  }, 'the toasts to close', 5_000);
}

// ---- the steps ----

const steps = [];
export const step = (name, fn) => steps.push({ name, fn });

// Set by run(); live bindings, so the steps of a suite see them.
export let browser;
export let context;
export let page;
const pageErrors = [];

// watch records the uncaught errors of page p (they fail the step) and logs
// its console errors, but those matching the suite's quiet.
export function watch(p, label) {
  p.on('pageerror', (e) => pageErrors.push(`${label}: ${e.message}`));
  p.on('console', (m) => {
    if (m.type() !== 'error') return;
    const text = m.text();
    if (suite.quiet?.test(text)) return;
    console.log(`    [${label} console.error] ${text}`);
  });
}

// ---- run ----

// run launches Chromium, opens `page` (watched as pageLabel) and runs the
// steps in order until one fails, then exits 0 when all passed, 1 otherwise.
// On a failure, failShots(tag) (tag: the step's number) gives the pages to
// take a screenshot of, as [page, file name] (an undefined or closed page is
// skipped), and how to show those files in the log (a name or a pattern).
// cleanup runs at the end, after the browser is closed.
export async function run({ pageLabel = 'page', failShots, cleanup } = {}) {
  const { name } = suite;

  // A hung step must not outlive the Go test's 5-minute limit silently.
  const watchdog = setTimeout(() => {
    console.log(`${name}: FAILED: still running after 4 minutes, giving up`);
    process.exit(1);
  }, 240_000);
  watchdog.unref();

  let failed = false;
  try {
    const h = await api('GET', '/healthz');
    check(h.status === 200, `GET ${API}/healthz: HTTP ${h.status}: ${h.text}`);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
      slowMo: Number(process.env.E2E_SLOW) || undefined,
      timeout: 60_000,
    });
    console.log(`${name}: ${browser.browserType().name()} ${browser.version()} against ${BASE_URL}, screenshots in ${OUT_DIR}`);
    context = await browser.newContext({ viewport: { width: 1280, height: 720 }, deviceScaleFactor: 1 });
    context.setDefaultTimeout(15_000);
    context.setDefaultNavigationTimeout(30_000);
    page = await context.newPage();
    watch(page, pageLabel);

    for (const s of steps) {
      const started = Date.now();
      console.log(`- ${s.name}`);
      try {
        await s.fn();
        if (pageErrors.length) throw new Error(`uncaught error in the page: ${pageErrors.join('; ')}`);
      } catch (e) {
        failed = true;
        // stdout only, so the messages keep their order in a combined log.
        console.log(`FAIL ${s.name}\n  ${e instanceof Error ? e.message : e}`);
        if (e instanceof Error && e.stack && process.env.E2E_STACK) console.log(e.stack);
        const tag = s.name.split('.')[0];
        const { pages, shown } = failShots ? failShots(tag) : { pages: [[page, `fail-${tag}.png`]], shown: `fail-${tag}.png` };
        for (const [p, file] of pages) {
          if (p && !p.isClosed()) {
            await p.screenshot({ path: path.join(OUT_DIR, file) }).catch(() => {});
          }
        }
        console.log(`  (screenshot${pages.length > 1 ? 's' : ''} of the failure: ${path.join(OUT_DIR, shown)})`);
        break;
      }
      console.log(`  ok (${secs(Date.now() - started)})`);
    }
  } catch (e) {
    failed = true;
    console.log(`${name}: ${e instanceof Error ? e.message : e}`);
  } finally {
    await browser?.close().catch(() => {});
    await cleanup?.();
  }

  console.log(`${name}: ${failed ? 'FAILED' : 'passed'} in ${secs(Date.now() - t0)}`);
  process.exit(failed ? 1 : 0);
}
