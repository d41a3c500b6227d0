// End-to-end test of the editor's metrics (the live figure on a node, the
// element's Metrics tab with its uPlot charts) in a real headless Chromium
// driven by playwright-core, against a `backplane serve` on a real Nomad.
// Same style as the other suites; the helpers and the step runner are in
// lib.mjs.
//
// Run by test/metrics_browser_test.go (TestMetricsBrowser), which starts a
// Nomad dev agent and serve with NOMAD_ADDR, and deploys through the API
// the project e2e-metrics: one raw_exec element `app` (python3's
// http.server, cpu 100, memory 128). Afterwards it reads the same series
// through the API. By hand:
//
//   cd web/ui
//   BASE_URL=http://127.0.0.1:18555 E2E_USER=mira E2E_PASSWORD=… node e2e/metrics.e2e.mjs
//
// Environment:
//   BASE_URL, E2E_USER, E2E_PASSWORD  the server and a server admin.
//   E2E_SLUG     the project (default e2e-metrics), deployed and running.
//   E2E_ELEMENT  its element (default app).
//   CHROMIUM, OUT_DIR, E2E_SLOW  as in lib.mjs.
//
// Steps:
//   1. sign in at /p/e2e-metrics: the element's node shows;
//   2. the node shows its live figure "CPU n% · MEM n%" from the `metrics`
//      events, and its status card the instance's figures
//      (metrics-node.png);
//   3. select the element, open the Metrics tab: the instance is listed,
//      and the memory, CPU and restarts charts draw points (the chart
//      wrapper's data-points, counted from uPlot's data), the legend names
//      the region and short alloc ID (metrics-tab-*.png in both themes);
//   4. the range picker: 15m chosen; without Prometheus (source "nomad")
//      1h, 6h, 24h and 7d are disabled, their tooltip saying why;
//   5. it refreshes by itself: the range is read again every 5 s and the
//      memory chart gains points;
//   6. the charts follow their container's width, are made anew for the
//      other theme, and are destroyed when the tab closes (nothing is
//      read after that);
//   7. mocked answers: 503 no_cluster says no cluster is connected
//      (metrics-no-cluster.png); a range Prometheus would answer then a
//      400 "needs Prometheus" for 1h says so and goes back to 15 minutes
//      (metrics-needs-prometheus.png); no instance and no samples yet each
//      say so, and with no `metrics` event the node shows no figure
//      (metrics-empty.png).

import { BASE_URL, check, dismissToasts, gone, hasText, page, run, setup, shot, signIn, step, textOf, tid, visible, waitFor } from './lib.mjs';

const SLUG = process.env.E2E_SLUG || 'e2e-metrics';
const EL = process.env.E2E_ELEMENT || 'app';

// Expected in the log: 401 (signed out at first), 400 and 503 (mocked).
setup({ name: 'metrics.e2e', slug: SLUG, quiet: /status of (400|401|503)/ });

// ---- helpers of this suite ----

const theme = (p) => p.evaluate(() => document.documentElement.dataset.theme || 'dark');

// shotBoth takes a screenshot in the current theme and one in the other
// (name-dark.png, name-light.png), and switches back; check runs in each.
async function shotBoth(p, name, check_ = async () => {}) {
  await p.mouse.move(2, 715);
  await dismissToasts(p);
  const first = await theme(p);
  await check_(first);
  await shot(p, `${name}-${first}.png`);
  await tid(p, 'theme-toggle').click();
  await waitFor(async () => (await theme(p)) !== first, 'the theme to change');
  const second = first === 'dark' ? 'light' : 'dark';
  await check_(second);
  await shot(p, `${name}-${second}.png`);
  await tid(p, 'theme-toggle').click();
  await waitFor(async () => (await theme(p)) === first, 'the theme to switch back');
}

// points is the number of values a chart's uPlot holds (data-points on
// its wrapper), or -1 while it is not there.
async function points(p, id) {
  const el = tid(p, id);
  if ((await el.count()) === 0) return -1;
  return Number((await el.getAttribute('data-points')) ?? -1);
}

async function waitPoints(p, id, min = 1, timeout = 40_000) {
  return waitFor(
    async () => {
      const n = await points(p, id);
      return n >= min ? n : false;
    },
    `the chart ${id} to draw at least ${min} point${min === 1 ? '' : 's'}`,
    timeout,
    250,
  );
}

// selectElement selects the element on the canvas (a click on its head)
// and opens the Metrics tab.
async function openMetrics(p) {
  await tid(p, `node-${EL}`).locator('.el-head').click();
  await tid(p, 'tab-metrics').click();
  await visible(p, 'metrics-tab');
}

// isMetricsRead: a request of the range endpoint (not /metrics/now).
const isRangeUrl = (u) => new URL(u).pathname === `/api/v1/projects/${SLUG}/metrics`;
const isNowUrl = (u) => new URL(u).pathname === `/api/v1/projects/${SLUG}/metrics/now`;
const isEventsUrl = (u) => new URL(u).pathname === `/api/v1/projects/${SLUG}/events`;

const json = (r, status, body) => r.fulfill({ status, contentType: 'application/json', body: JSON.stringify(body) });

// A few minutes of made-up series of one instance, as Prometheus would
// answer (for the mocked steps).
function fakeRange(source, range = '15m') {
  const now = Math.floor(Date.now() / 1000);
  const alloc = 'feedbeef-0000-4000-8000-000000000001';
  const pts = (f) => Array.from({ length: 20 }, (_, i) => [now - (20 - i) * 15, f(i)]);
  const s = (metric, unit, f) => ({ element: EL, region: 'global', alloc, metric, unit, points: pts(f) });
  return {
    source,
    range,
    step: '15s',
    series: [
      s('cpu_mhz', 'MHz', (i) => 10 + i),
      s('cpu_percent', '%', (i) => 10 + i),
      s('memory_bytes', 'bytes', (i) => (20 + i) * 1024 * 1024),
      s('memory_percent', '%', (i) => ((20 + i) / 128) * 100),
      s('restarts', 'count', (i) => (i > 12 ? 1 : 0)),
    ],
  };
}

let allocId = '';

// ---- the steps ----

step('1. sign in and open the project', async () => {
  await signIn(page, undefined, undefined, `/p/${SLUG}`);
  await visible(page, `node-${EL}`);
});

step('2. the node shows its live CPU and memory', async () => {
  const text = await hasText(page, `node-metrics-${EL}`, /^CPU [<\d.]+% · MEM [<\d.]+%$/, 40_000);
  const fig = tid(page, `node-metrics-${EL}`);
  const mem = Number(await fig.getAttribute('data-memory'));
  check(mem > 0 && mem < 100, `the node's memory figure is ${mem}%, want between 0 and 100 (of the 128 MiB limit)`);
  console.log(`    node-metrics-${EL}: ${text}`);
  // The status card (hover) lists the instance's figures.
  await tid(page, `node-${EL}`).hover();
  const detail = await hasText(page, `node-metrics-detail-${EL}`, /^global · [0-9a-f]{8}: CPU .* of 100 MHz \(.*%\), memory .* of 128 MiB \(.*%\), \d+ restarts?$/);
  allocId = /global · ([0-9a-f]{8})/.exec(detail)[1];
  await shot(page, 'metrics-node.png');
  await page.mouse.move(2, 715);
});

step('3. the Metrics tab charts memory, CPU and restarts per instance', async () => {
  await openMetrics(page);
  const panel = tid(page, 'metrics-tab');
  check((await panel.getAttribute('data-element')) === EL, `the Metrics tab is of ${await panel.getAttribute('data-element')}, want ${EL}`);
  await visible(page, `metrics-instance-${allocId}`, 20_000);
  const mem = await waitPoints(page, 'metrics-chart-memory');
  const cpu = await waitPoints(page, 'metrics-chart-cpu');
  const restarts = await waitPoints(page, 'metrics-chart-restarts');
  check((await panel.getAttribute('data-state')) === 'ready', `the panel is ${await panel.getAttribute('data-state')}, want ready`);
  check((await panel.getAttribute('data-source')) === 'nomad', `the source is ${await panel.getAttribute('data-source')}, want nomad`);
  for (const id of ['metrics-chart-memory', 'metrics-chart-cpu', 'metrics-chart-restarts']) {
    const series = Number(await tid(page, id).getAttribute('data-series'));
    check(series >= 1, `${id} has ${series} series`);
    const legend = (await tid(page, id).locator('.u-legend').textContent()) ?? '';
    check(legend.includes(`global · ${allocId}`), `the legend of ${id} does not name the instance global · ${allocId}: ${legend}`);
  }
  // Memory and CPU have a dashed reservation line besides the instance's.
  const legend = (await tid(page, 'metrics-chart-memory').locator('.u-legend').textContent()) ?? '';
  check(/limit 128 MiB/.test(legend), `the memory legend has no "limit 128 MiB": ${legend}`);
  await hasText(page, 'metrics-status', 'From serve’s samples of Nomad');
  console.log(`    points: memory ${mem}, cpu ${cpu}, restarts ${restarts}`);
  await shotBoth(page, 'metrics-tab', async (t) => {
    await waitPoints(page, 'metrics-chart-memory', 1, 10_000);
    check((await theme(page)) === t, 'theme');
  });
});

step('4. without Prometheus only the last 15 minutes can be chosen', async () => {
  check((await tid(page, 'metrics-range-15m').getAttribute('aria-pressed')) === 'true', '15m is not the chosen range');
  check(await tid(page, 'metrics-range-15m').isEnabled(), '15m is disabled');
  for (const r of ['1h', '6h', '24h', '7d']) {
    const b = tid(page, `metrics-range-${r}`);
    check(await b.isDisabled(), `the range ${r} is not disabled without Prometheus`);
    const title = (await b.getAttribute('title')) ?? '';
    check(/Prometheus/.test(title) && /BACKPLANE_PROMETHEUS_URL/.test(title), `the range ${r}'s tooltip does not say it needs Prometheus: "${title}"`);
  }
});

step('5. the charts refresh by themselves', async () => {
  const reads = [];
  const onRequest = (r) => isRangeUrl(r.url()) && reads.push(Date.now());
  page.on('request', onRequest);
  try {
    const before = await points(page, 'metrics-chart-memory');
    const t0 = Date.now();
    // A 15 s step: a new point within about 15 s of the last; and three
    // reads (two intervals) at least.
    const after = await waitFor(
      async () => {
        const n = await points(page, 'metrics-chart-memory');
        return n > before && reads.length >= 3 ? n : false;
      },
      `the memory chart to gain points (${before} so far) and the range to be read again`,
      40_000,
      250,
    );
    const gaps = reads.slice(1).map((t, i) => t - reads[i]);
    check(gaps.every((g) => g >= 3_500 && g <= 9_000), `reads ${gaps.join(', ')} ms apart, want about 5 s`);
    console.log(`    memory points ${before} → ${after} in ${((Date.now() - t0) / 1000).toFixed(1)} s; ${reads.length} reads, ${gaps.join(', ')} ms apart`);
  } finally {
    page.off('request', onRequest);
  }
});

step('6. the charts follow their container and theme, and go with the tab', async () => {
  const width = () => tid(page, 'metrics-chart-memory').locator('.uplot canvas').first().evaluate((c) => c.getBoundingClientRect().width);
  const w0 = await width();
  await page.setViewportSize({ width: 1600, height: 720 });
  // The panel keeps its width; the chart must still fit it exactly.
  const fits = async () => {
    const [chart, wrap] = await tid(page, 'metrics-chart-memory').evaluate((el) => [el.querySelector('.uplot').getBoundingClientRect().width, el.getBoundingClientRect().width]);
    return Math.abs(chart - wrap) <= 2 ? chart : false;
  };
  await waitFor(fits, 'the chart to fit its container');
  // Narrower: the side panel stays 600 px wide, so shrink it by hand.
  await page.evaluate(() => {
    document.querySelector('.workspace').style.gridTemplateColumns = '228px minmax(0, 1fr) 460px';
  });
  await waitFor(async () => (await width()) < w0 - 60, `the chart to narrow with its container (was ${w0} px)`);
  await waitFor(fits, 'the chart to fit its narrower container');
  const w1 = await width();
  await page.evaluate(() => {
    document.querySelector('.workspace').style.gridTemplateColumns = '';
  });
  await waitFor(async () => Math.abs((await width()) - w0) <= 2, `the chart to widen back to ${w0} px`);
  await page.setViewportSize({ width: 1280, height: 720 });
  console.log(`    chart width ${w0.toFixed(0)} → ${w1.toFixed(0)} → ${w0.toFixed(0)} px`);

  // Another theme: made anew (the old uPlot element is gone), with points.
  await page.evaluate(() => {
    document.querySelector('[data-testid="metrics-chart-memory"] .uplot').dataset.old = 'yes';
  });
  await tid(page, 'theme-toggle').click();
  await waitFor(async () => (await page.locator('[data-testid="metrics-chart-memory"] .uplot').count()) === 1 && (await page.locator('.uplot[data-old]').count()) === 0, 'the chart to be made anew for the theme');
  await waitPoints(page, 'metrics-chart-memory');
  check((await page.locator('[data-testid="metrics-chart-memory"] .uplot').count()) === 1, 'more than one chart in the memory wrapper');
  await tid(page, 'theme-toggle').click();

  // Closing the tab destroys the charts and stops reading.
  await tid(page, 'tab-inspector').click();
  await gone(page, 'metrics-tab');
  check((await page.locator('.uplot').count()) === 0, 'a uPlot chart is left in the page after the tab closed');
  let reads = 0;
  const onRequest = (r) => isRangeUrl(r.url()) && reads++;
  page.on('request', onRequest);
  await page.waitForTimeout(6_000);
  page.off('request', onRequest);
  check(reads === 0, `the range was read ${reads} times after the tab closed`);
});

step('7. no cluster, a range that needs Prometheus, and empty states say so', async () => {
  const routes = [];
  const route = async (match, handler) => {
    routes.push([match, handler]);
    await page.route(match, handler);
  };
  try {
    // 503 no_cluster.
    const noCluster = { error: { code: 'no_cluster', message: 'no cluster connected (set NOMAD_ADDR)' } };
    await route((u) => isRangeUrl(u.href) || isNowUrl(u.href), (r) => json(r, 503, noCluster));
    await page.reload();
    await visible(page, `node-${EL}`);
    await openMetrics(page);
    await visible(page, 'metrics-no-cluster');
    await hasText(page, 'metrics-no-cluster', 'No cluster connected: metrics come from Nomad');
    check((await tid(page, 'metrics-tab').getAttribute('data-state')) === 'no-cluster', 'the panel is not in the no-cluster state');
    await shot(page, 'metrics-no-cluster.png');
    for (const [m, h] of routes.splice(0)) await page.unroute(m, h);

    // Prometheus answers 15m; then 1h needs Prometheus after all (a
    // server whose Prometheus went away): the error says so, and the
    // button goes back to 15 minutes.
    let source = 'prometheus';
    await route(
      (u) => isRangeUrl(u.href),
      (r) => {
        const range = new URL(r.request().url()).searchParams.get('range');
        if (range === '15m') return json(r, 200, fakeRange(source));
        source = 'nomad';
        return json(r, 400, { error: { code: 'bad_request', path: 'range', message: 'ranges beyond 15m0s need Prometheus (BACKPLANE_PROMETHEUS_URL): serve keeps only the last 15m0s of its own samples' } });
      },
    );
    await page.reload();
    await visible(page, `node-${EL}`);
    await openMetrics(page);
    await waitPoints(page, 'metrics-chart-memory', 20);
    check((await tid(page, 'metrics-tab').getAttribute('data-source')) === 'prometheus', 'the mocked source is not prometheus');
    check(await tid(page, 'metrics-range-1h').isEnabled(), '1h is disabled with Prometheus');
    await tid(page, 'metrics-range-1h').click();
    const err = await visible(page, 'metrics-error');
    check((await err.getAttribute('data-code')) === 'needs_prometheus', `the error is ${await err.getAttribute('data-code')}, want needs_prometheus`);
    await hasText(page, 'metrics-error', 'need Prometheus (BACKPLANE_PROMETHEUS_URL)');
    check(await tid(page, 'metrics-range-6h').isDisabled(), '6h is not disabled once the server said it needs Prometheus');
    await shot(page, 'metrics-needs-prometheus.png');
    await tid(page, 'metrics-range-reset').click();
    await waitFor(async () => (await tid(page, 'metrics-range-15m').getAttribute('aria-pressed')) === 'true', '15m to be chosen again');
    await gone(page, 'metrics-error');
    await waitPoints(page, 'metrics-chart-memory', 20);
    for (const [m, h] of routes.splice(0)) await page.unroute(m, h);

    // No instance: no `metrics` event (the stream carries none), none now
    // and no series.
    let instances = [];
    await route((u) => isEventsUrl(u.href), (r) => r.fulfill({ status: 200, contentType: 'text/event-stream', body: ': nothing\n\n' }));
    await route((u) => isNowUrl(u.href), (r) => json(r, 200, { instances, at: new Date().toISOString() }));
    await route((u) => isRangeUrl(u.href), (r) => json(r, 200, { source: 'nomad', range: '15m', step: '15s', series: [] }));
    await page.reload();
    await visible(page, `node-${EL}`);
    await openMetrics(page);
    await visible(page, 'metrics-empty');
    check((await tid(page, 'metrics-empty').getAttribute('data-reason')) === 'no-instance', `the empty state is ${await tid(page, 'metrics-empty').getAttribute('data-reason')}, want no-instance`);
    await hasText(page, 'metrics-empty', 'No running instance');
    check((await tid(page, `node-metrics-${EL}`).count()) === 0, 'the node shows a figure with no metrics event');
    check((await tid(page, 'metrics-chart-memory').count()) === 0, 'a chart shows with no samples');
    await shot(page, 'metrics-empty.png');
    // An instance that has no samples yet.
    instances = [{ element: EL, region: 'global', alloc: 'c0ffee00-0000-4000-8000-000000000009', state: 'pending', restarts: 0 }];
    await page.reload();
    await visible(page, `node-${EL}`);
    await openMetrics(page);
    await hasText(page, 'metrics-empty', 'No samples yet');
    check((await tid(page, 'metrics-empty').getAttribute('data-reason')) === 'no-samples', 'the empty state is not no-samples');
    await visible(page, 'metrics-instance-c0ffee00');
    check((await tid(page, `node-metrics-${EL}`).count()) === 0, 'the node shows a figure for an instance without figures');
  } finally {
    for (const [m, h] of routes) await page.unroute(m, h);
  }
  console.log(`    ${await textOf(page, 'metrics-empty')}`);
});

await run({ pageLabel: 'editor' });
