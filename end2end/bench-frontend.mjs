// `make bench-frontend`: cold and warm loads of the console in Debian's Chromium under three
// emulated links, against the release binary with the demo data, plus the bundle's sizes.
//
// For each page (the instance list, a consumer list, a consumer's details panel) and link it
// reports, as the median of RUNS cold loads in a fresh browser context (empty cache):
// the bytes that crossed the network, the time until the HTML had arrived, and the time until
// the page was hydrated (`body[data-hydrated]`, set by the app once its WASM runs); then the
// bytes a second (warm) visit transfers besides the HTML and its data.
import { chromium } from '@playwright/test';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const ROOT = new URL('..', import.meta.url).pathname;
const PORT = Number(process.env.BENCH_PORT ?? 3390);
const BASE = `http://127.0.0.1:${PORT}`;
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const PASSWORD = 'bench-admin-password';
const LINKS = [
  { name: 'unthrottled', conditions: null },
  // Chrome's "Fast 4G" and Lighthouse's "Slow 4G".
  { name: '9 Mbit/s, 60 ms', conditions: { latency: 60, downloadThroughput: 9e6 / 8, uploadThroughput: 1.5e6 / 8 } },
  { name: '1.6 Mbit/s, 150 ms', conditions: { latency: 150, downloadThroughput: 1.6e6 / 8, uploadThroughput: 0.75e6 / 8 } },
];

function startServer() {
  const dir = mkdtempSync(join(tmpdir(), 'gc-bench-frontend-'));
  const server = spawn('./target/release/gateway-console', [], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      ...process.env,
      DATABASE_URL: `sqlite:${dir}/console.db`,
      LEPTOS_SITE_ADDR: `127.0.0.1:${PORT}`,
      LEPTOS_SITE_ROOT: 'target/site',
      CONSOLE_ADMIN_USERNAME: 'admin',
      CONSOLE_ADMIN_PASSWORD: PASSWORD,
      CONSOLE_DEMO: '1',
      RUST_LOG: 'warn',
    },
  });
  return { server, dir };
}

async function waitHealthy() {
  for (let i = 0; i < 600; i++) {
    try {
      if ((await fetch(`${BASE}/healthz`)).ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the server did not start');
}

// Records when the app marks the body as hydrated, in the page's own clock.
const HYDRATION_PROBE = () => {
  new MutationObserver((_, observer) => {
    if (document.body && document.body.hasAttribute('data-hydrated')) {
      window.__hydratedAt = performance.now();
      observer.disconnect();
    }
  }).observe(document, { attributes: true, subtree: true, attributeFilter: ['data-hydrated'] });
};

async function measure(browser, state, path, link) {
  const context = await browser.newContext({ storageState: state, baseURL: BASE });
  const page = await context.newPage();
  await page.addInitScript(HYDRATION_PROBE);
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  if (link.conditions) {
    await cdp.send('Network.emulateNetworkConditions', { offline: false, ...link.conditions });
  }
  const loads = new Map();
  cdp.on('Network.responseReceived', (e) => loads.set(e.requestId, { url: e.response.url, bytes: 0, cached: e.response.fromDiskCache || e.response.fromMemoryCache }));
  cdp.on('Network.requestServedFromCache', (e) => { const l = loads.get(e.requestId); if (l) l.cached = true; });
  cdp.on('Network.loadingFinished', (e) => { const l = loads.get(e.requestId); if (l) l.bytes = e.encodedDataLength; });

  await page.goto(path, { waitUntil: 'commit' });
  await page.locator('body[data-hydrated]').waitFor({ state: 'attached', timeout: 120_000 });
  await page.waitForLoadState('networkidle');
  const timing = await page.evaluate(() => ({
    html: performance.getEntriesByType('navigation')[0].responseEnd,
    hydrated: window.__hydratedAt,
  }));
  const cold = [...loads.values()].reduce((s, l) => s + l.bytes, 0);
  // The page's code: the WASM and JavaScript it fetched (the main bundle and the chunks of
  // its lazy routes), as transferred and as their files' raw size.
  const code = [...loads.values()].filter((l) => /\/pkg\/[^?]+\.(wasm|js)$/.test(l.url));
  const codeSent = code.reduce((s, l) => s + l.bytes, 0);
  const codeRaw = code.reduce((s, l) => s + rawSize(l.url), 0);

  loads.clear();
  await page.goto(path);
  await page.locator('body[data-hydrated]').waitFor({ state: 'attached', timeout: 120_000 });
  await page.waitForLoadState('networkidle');
  const page_url = new URL(path, BASE).href;
  const warm = [...loads.values()]
    .filter((l) => !l.cached && l.url !== page_url)
    .reduce((s, l) => s + l.bytes, 0);
  await context.close();
  return { cold, codeSent, codeRaw, files: code.length, html: timing.html, hydrated: timing.hydrated, warm };
}

const rawSize = (url) => statSync(join(ROOT, 'target/site', new URL(url).pathname)).size;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const kb = (n) => `${(n / 1000).toFixed(0)} KB`;
const ms = (n) => `${n.toFixed(0)} ms`;

function bundleSizes() {
  const pkg = join(ROOT, 'target/site/pkg');
  const rows = [];
  for (const name of readdirSync(pkg).filter((f) => /\.(wasm|js|css)$/.test(f))) {
    const raw = readFileSync(join(pkg, name));
    const gzip = gzipSync(raw, { level: 9 }).length;
    const brotli = brotliCompressSync(raw, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
    let served = '';
    try { served = kb(statSync(join(pkg, `${name}.br`)).size); } catch {}
    rows.push({ file: name, raw: kb(raw.length), gzip: kb(gzip), brotli: kb(brotli), 'served (.br)': served });
  }
  return rows;
}

const { server, dir } = startServer();
try {
  await waitHealthy();
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const signIn = await browser.newContext({ baseURL: BASE });
  const login = await signIn.newPage();
  await login.goto('/login');
  await login.locator('body[data-hydrated]').waitFor({ state: 'attached' });
  await login.getByLabel('Username').fill('admin');
  await login.getByLabel('Password').fill(PASSWORD);
  await login.getByRole('button', { name: 'Sign in' }).click();
  await login.getByRole('heading', { name: 'Instance list' }).waitFor();
  const gateways = await (await signIn.request.get('/v1/gateways')).json();
  const gw = gateways.data.items[0].gatewayId;
  const consumers = await (await signIn.request.get(`/v1/consumers?gatewayId=${gw}`)).json();
  const consumer = consumers.data.items[0].consumerId;
  const state = await signIn.storageState();
  await signIn.close();

  const pages = [
    ['instance list', '/instances'],
    ['consumer list', `/instances/${gw}/consumers`],
    ['details panel', `/instances/${gw}/consumers?consumer=${consumer}`],
  ];
  const rows = [];
  for (const link of LINKS) {
    for (const [name, path] of pages) {
      const runs = [];
      for (let i = 0; i < RUNS; i++) runs.push(await measure(browser, state, path, link));
      rows.push({
        link: link.name,
        page: name,
        transferred: kb(median(runs.map((r) => r.cold))),
        'WASM + JS (files)': `${kb(median(runs.map((r) => r.codeRaw)))} raw, ${kb(median(runs.map((r) => r.codeSent)))} sent (${median(runs.map((r) => r.files))})`,
        'HTML at': ms(median(runs.map((r) => r.html))),
        'hydrated at': ms(median(runs.map((r) => r.hydrated))),
        'warm visit (besides HTML)': kb(median(runs.map((r) => r.warm))),
      });
    }
  }
  await browser.close();
  console.log(`Cold loads, median of ${RUNS} (fresh browser context each):`);
  console.table(rows);
  console.log('The bundle (target/site/pkg; gzip -9 and brotli q11 computed here):');
  console.table(bundleSizes());
} finally {
  server.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}
