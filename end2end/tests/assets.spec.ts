import { CDPSession, expect, Page, test } from '@playwright/test';
import { createHash } from 'node:crypto';
import { signIn } from './helpers';

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

test('the browser files come precompressed, are cached for a year, and a second visit fetches none of them', async ({ page }) => {
  await signIn(page);
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.clearBrowserCache');

  const cold = await recordLoad(page, cdp, () => page.goto('/instances'));
  const wasm = cold.find((r) => /\/pkg\/.*\.wasm$/.test(r.url));
  expect(wasm, cold.map((r) => r.url).join('\n')).toBeTruthy();
  // Named by their content hash, sent as brotli, kept for a year.
  expect(wasm!.url).toMatch(/\/pkg\/gateway-console\.[A-Za-z0-9_-]+\.wasm$/);
  expect(wasm!.encoding).toBe('br');
  expect(wasm!.cache).toBe('public, max-age=31536000, immutable');
  for (const file of cold.filter((r) => r.url.includes('/pkg/'))) {
    expect(file.cache, file.url).toContain('immutable');
    expect(['br', 'gzip'], file.url).toContain(file.encoding);
  }
  // The page itself is compressed too.
  const html = cold.find((r) => r.url.endsWith('/instances'))!;
  expect(['br', 'gzip']).toContain(html.encoding);

  // A warm visit: everything but the page and its data comes from the cache (a memory-cache
  // hit crosses no network: 0 bytes).
  const warm = await recordLoad(page, cdp, () => page.goto('/instances'));
  const fetched = warm.filter((r) => !r.fromCache && r.bytes > 0 && !r.url.endsWith('/instances'));
  const bytes = fetched.reduce((sum, r) => sum + r.bytes, 0);
  expect(bytes, fetched.map((r) => `${r.url} ${r.bytes}`).join('\n')).toBeLessThanOrEqual(20_000);
  expect(fetched.filter((r) => r.url.includes('/pkg/'))).toEqual([]);
});

test('the WASM and the stylesheet are named by their content, so a new build is never served stale', async ({ page }) => {
  await signIn(page);
  const html = await (await page.request.get('/instances')).text();
  const named = [...html.matchAll(/\/pkg\/gateway-console\.([A-Za-z0-9_-]{22})\.(wasm|css|js)/g)];
  const kinds = new Set(named.map((m) => m[2]));
  expect([...kinds].sort(), html.slice(0, 2000)).toEqual(['css', 'js', 'wasm']);
  // The name carries the MD5 of the file's bytes (base64url), as cargo-leptos' hash-files
  // makes it: different bytes, a different name. (The JS glue is named by its content before
  // the build writes the hashed names into it, so only the WASM and CSS are checked byte for
  // byte; the glue's name changes whenever the WASM's imports do.)
  for (const [url, hash, kind] of named.map((m) => [m[0], m[1], m[2]])) {
    if (kind === 'js') continue;
    const body = await (await page.request.get(url)).body();
    expect(createHash('md5').update(body).digest('base64url'), url).toBe(hash);
  }
});
