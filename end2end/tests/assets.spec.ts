import { CDPSession, expect, Page, test } from '@playwright/test';
import { createHash } from 'node:crypto';
import { openDemoConsumers, signIn } from './helpers';

/** Every response of a page load, with the bytes that crossed the network for it. */
type Loaded = { url: string; bytes: number; encoding: string; cache: string; fromCache: boolean };

async function recordLoad(page: Page, cdp: CDPSession, go: () => Promise<unknown>): Promise<Loaded[]> {
  const byId = new Map<string, Loaded>();
  const onResponse = (e: any) => {
    const h = Object.fromEntries(Object.entries(e.response.headers).map(([k, v]) => [k.toLowerCase(), String(v)]));
    byId.set(e.requestId, {
      url: e.response.url,
      bytes: 0,
      encoding: h['content-encoding'] ?? '',
      cache: h['cache-control'] ?? '',
      fromCache: Boolean(e.response.fromDiskCache || e.response.fromMemoryCache),
    });
  };
  const onCached = (e: any) => {
    const r = byId.get(e.requestId);
    if (r) r.fromCache = true;
  };
  const onFinished = (e: any) => {
    const r = byId.get(e.requestId);
    if (r) r.bytes = e.encodedDataLength;
  };
  cdp.on('Network.responseReceived', onResponse);
  cdp.on('Network.requestServedFromCache', onCached);
  cdp.on('Network.loadingFinished', onFinished);
  await go();
  await expect(page.locator('body[data-hydrated]')).toBeAttached();
  await page.waitForLoadState('networkidle');
  cdp.off('Network.responseReceived', onResponse);
  cdp.off('Network.requestServedFromCache', onCached);
  cdp.off('Network.loadingFinished', onFinished);
  return [...byId.values()];
}

/** The WASM split loader: its name is fixed, so the browser revalidates it on each visit. */
const LOADER = /\/pkg\/__wasm_split\._{22}\.js$/;

test('the browser files come precompressed, are cached for a year, and a second visit fetches none of them', async ({ page }) => {
  await signIn(page);
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.clearBrowserCache');

  const cold = await recordLoad(page, cdp, () => page.goto('/instances'));
  const wasm = cold.find((r) => /\/pkg\/gateway-console\.[^/]+\.wasm$/.test(r.url));
  expect(wasm, cold.map((r) => r.url).join('\n')).toBeTruthy();
  // Named by their content hash, sent as brotli, kept for a year.
  expect(wasm!.url).toMatch(/\/pkg\/gateway-console\.[A-Za-z0-9_-]{22}\.wasm$/);
  expect(wasm!.encoding).toBe('br');
  expect(wasm!.cache).toBe('public, max-age=31536000, immutable');
  for (const file of cold.filter((r) => r.url.includes('/pkg/'))) {
    expect(file.cache, file.url).toBe(LOADER.test(file.url) ? 'no-cache' : 'public, max-age=31536000, immutable');
    expect(['br', 'gzip'], file.url).toContain(file.encoding);
  }
  // The page itself is compressed too.
  const html = cold.find((r) => r.url.endsWith('/instances'))!;
  expect(['br', 'gzip']).toContain(html.encoding);

  // A warm visit: everything but the page and its data comes from the cache (a memory-cache
  // hit crosses no network: 0 bytes); the split loader is only revalidated (a 304).
  const warm = await recordLoad(page, cdp, () => page.goto('/instances'));
  const fetched = warm.filter((r) => !r.fromCache && r.bytes > 0 && !r.url.endsWith('/instances'));
  const bytes = fetched.reduce((sum, r) => sum + r.bytes, 0);
  expect(bytes, fetched.map((r) => `${r.url} ${r.bytes}`).join('\n')).toBeLessThanOrEqual(20_000);
  const code = fetched.filter((r) => r.url.includes('/pkg/') && !LOADER.test(r.url));
  expect(code.map((r) => r.url)).toEqual([]);
});

test('every WASM file and the stylesheet are named by their content, so a new build is never served stale', async ({ page }) => {
  await signIn(page);
  const gw = (await (await page.request.get('/v1/gateways')).json()).data.items[0].gatewayId;
  // A lazy page names its chunks in the head; the instance list names the main bundle.
  const pages = await Promise.all(['/instances', `/instances/${gw}/consumers`].map(async (path) => (await page.request.get(path)).text()));
  const named = new Map<string, [string, string]>();
  for (const html of pages) {
    for (const m of html.matchAll(/\/pkg\/[A-Za-z0-9_-]+\.([A-Za-z0-9_-]{22})\.(wasm|css|js)/g)) named.set(m[0], [m[1], m[2]]);
  }
  const kinds = new Set([...named.values()].map(([, kind]) => kind));
  expect([...kinds].sort(), pages[0].slice(0, 2000)).toEqual(['css', 'js', 'wasm']);
  const chunks = [...named.keys()].filter((url) => !url.includes('/gateway-console.') && url.endsWith('.wasm'));
  expect(chunks.length, pages[1].slice(0, 3000)).toBeGreaterThan(0);
  // The name carries the MD5 of the file's bytes as served (base64url): different bytes, a
  // different name. (The JS glue is named by its content before the build writes the hashed
  // names into it, so only the WASM and CSS are checked byte for byte; the glue's name
  // changes whenever the WASM's imports do.)
  for (const [url, [hash, kind]] of named) {
    if (kind === 'js') continue;
    const body = await (await page.request.get(url)).body();
    expect(createHash('md5').update(body).digest('base64url'), url).toBe(hash);
  }
});

test('each console page loads its own code: the instance list none of the others, a consumer list its module and the shared code when opened, the next page only its module', async ({ page }) => {
  const code: string[] = [];
  page.on('response', (r) => {
    if (/\/pkg\/.*\.wasm$/.test(r.url())) code.push(new URL(r.url()).pathname);
  });
  await signIn(page);
  await page.goto('/instances');
  await expect(page.locator('body[data-hydrated]')).toBeAttached();
  await page.waitForLoadState('networkidle');
  expect(code.filter((f) => f.includes('/split_')), code.join('\n')).toEqual([]);

  // Opened by a link (client-side navigation), the consumer list fetches its chunks and works.
  await openDemoConsumers(page);
  expect(code.filter((f) => f.includes('/split___consumers_view_')), code.join('\n')).toHaveLength(1);
  // The code lazy pages share comes as one file, not one per combination of pages sharing it.
  const shared = (files: string[]) => files.filter((f) => /\/pkg\/chunks?[._]/.test(f));
  expect(shared(code), code.join('\n')).toHaveLength(1);
  expect(shared(code)[0]).toMatch(/^\/pkg\/chunks\.[A-Za-z0-9_-]{22}\.wasm$/);
  const consumers = page.url();
  await page.getByRole('button', { name: 'New Consumer' }).click();
  const create = page.getByRole('dialog', { name: 'New Consumer' });
  await expect(create).toBeVisible();
  await create.getByRole('button', { name: 'Cancel' }).click();
  await expect(create).toBeHidden();

  // The next lazy page fetches only its own module; the shared file is already there.
  await page.getByRole('link', { name: 'Consumer group', exact: true }).click();
  await expect(page.getByRole('heading', { name: 'Consumer group', exact: true })).toBeVisible();
  expect(code.filter((f) => f.includes('/split___groups_view_')), code.join('\n')).toHaveLength(1);
  expect(shared(code), code.join('\n')).toHaveLength(1);
  await page.getByRole('button', { name: 'New consumer group' }).click();
  await expect(page.getByRole('dialog', { name: 'New consumer group' })).toBeVisible();

  // Loaded cold, a lazy page names its chunks in its head, to be fetched beside the main bundle.
  const html = await (await page.request.get(consumers)).text();
  const head = html.slice(0, html.indexOf('</head>'));
  const links = [...head.matchAll(/<link [^>]*>/g)].map((m) => m[0]);
  const preloads = links.filter((l) => l.includes('rel="preload"') && /href="\/pkg\/(split_|chunks?[._])[^"]+\.wasm"/.test(l));
  expect(preloads.filter((l) => l.includes('/pkg/split___consumers_view_')).length, head).toBeGreaterThanOrEqual(1);
  expect(preloads.filter((l) => /\/pkg\/chunks\./.test(l)).length, head).toBeGreaterThanOrEqual(1);
  expect(links.filter((l) => l.includes('rel="modulepreload"') && /href="\/pkg\/__wasm_split\._{22}\.js"/.test(l)).length).toBeGreaterThanOrEqual(1);
  // Ours are named once each, though the server walks the page more than once (Leptos may add
  // its own, with the nonce as their crossorigin value), and the instance list names none.
  const ours = preloads.filter((l) => l.includes('crossorigin="anonymous"'));
  expect(ours.length).toBeGreaterThan(0);
  expect(new Set(ours).size).toBe(ours.length);
  const list = await (await page.request.get('/instances')).text();
  expect(list.slice(0, list.indexOf('</head>'))).not.toContain('/pkg/split_');
});
