import { APIRequestContext, expect, Page, test } from '@playwright/test';
import { openSection, own, signIn } from './helpers';

/** A consumer of the demo's `internal` group (whose rule grants qwen3-chat) with a key. */
async function consumerWithKey(page: Page, gw: string, name: string) {
  const value = `${name}-0123456789abcdefghijklmnop`;
  const key = await page.request.post('/v1/keys', { headers: own(page), data: { gatewayId: gw, name: `${name}-key`, value } });
  expect(key.ok()).toBeTruthy();
  const keyId = (await key.json()).data.key.keyId;
  const groups = await (await page.request.get(`/v1/consumer-groups?gatewayId=${gw}&nameLike=internal`)).json();
  const internal = groups.data.items.find((g: { name: string }) => g.name === 'internal').consumerGroupId;
  const consumer = await page.request.post('/v1/consumers', { headers: own(page),
    data: { gatewayId: gw, name, keyIds: [keyId], consumerGroupIds: [internal] } });
  expect(consumer.ok()).toBeTruthy();
  return { value, id: (await consumer.json()).data.consumerId as string };
}

/** What the proxy asks: may this key call this path? */
async function check(request: APIRequestContext, gw: string, key: string, path: string) {
  const r = await request.get('/authz/check', { headers: { 'x-gateway-id': gw, 'x-original-uri': path, authorization: `Bearer ${key}` } });
  return r.status();
}

test('the Usage page charts what the check decided, narrows to a consumer, shows tables and downloads CSV', async ({ page }) => {
  await signIn(page);
  await openSection(page, 'Usage', 'Usage');
  const gw = page.url().match(/\/instances\/(gw-[a-z0-9]+)/)![1];
  const name = `e2e-usage-${Date.now()}`;
  const { value, id } = await consumerWithKey(page, gw, name);
  // The replica learns of the new key with its next snapshot poll.
  await expect.poll(() => check(page.request, gw, value, '/v1/chat/completions'), { timeout: 15_000 }).toBe(200);
  expect(await check(page.request, gw, value, '/v1/chat/completions')).toBe(200);
  expect(await check(page.request, gw, value, '/v1/embeddings')).toBe(403);

  await page.getByLabel('Range', { exact: true }).selectOption({ label: 'Last hour' });
  await page.getByLabel('Consumer (name or ID)').fill(name);
  await page.getByRole('button', { name: 'Show usage' }).click();
  await expect(page).toHaveURL(/range=1h/);
  await expect(page).toHaveURL(new RegExp(`consumer=${name}`));
  // Counted in memory, written by the next flush (every second in these tests).
  const requests = page.getByRole('img', { name: /^Requests over time/ });
  await expect(async () => {
    await page.reload();
    await expect(requests).toHaveAttribute('alt', /3 requests \(2 allowed, 1 (no-api|no-rule)\)/, { timeout: 1_000 });
  }).toPass({ timeout: 20_000 });
  await expect(page.locator('body[data-hydrated]')).toBeAttached();
  // Each chart is an image the browser drew.
  for (const chart of [/^Requests over time/, /^Tokens over time/, /^Top consumers by requests/, /^Top model APIs by requests/]) {
    const img = page.getByRole('img', { name: chart });
    await expect(img).toBeVisible();
    await expect.poll(() => img.evaluate((i: HTMLImageElement) => i.complete && i.naturalWidth)).toBe(760);
  }
  await expect(page.getByRole('img', { name: /^Top consumers by requests/ })).toHaveAttribute('alt', new RegExp(`${name} 3`));

  // The table view says the same in rows and columns.
  await page.getByText('Top consumers as a table').click();
  const row = page.getByRole('row', { name: new RegExp(name) });
  await expect(row).toContainText('3');
  await expect(row.getByRole('cell').first()).toHaveText('3');

  // CSV of what a chart shows.
  const download = page.waitForEvent('download');
  await page.getByRole('link', { name: 'Download Top consumers as CSV' }).click();
  const file = await download;
  expect(file.suggestedFilename()).toBe(`usage-consumers-${gw}.csv`);
  const csv = await (await page.request.get(await page.getByRole('link', { name: 'Download Top consumers as CSV' }).getAttribute('href') as string)).text();
  expect(csv.split('\r\n')[1]).toBe(`${id},${name},3,2,1,0`);

  // A ranked consumer is a link that narrows the page to it.
  await page.getByLabel('Consumer (name or ID)').fill('');
  await page.getByRole('button', { name: 'Show usage' }).click();
  await expect(page).toHaveURL(/consumer=&/);
  await page.getByText('Top consumers as a table').click();
  await page.getByRole('link', { name, exact: true }).click();
  await expect(page).toHaveURL(new RegExp(`consumer=${id}`));
  await expect(page.getByLabel('Consumer (name or ID)')).toHaveValue(id);

  // The consumer's details panel charts its last 7 days, and leads to its usage.
  await page.goto(page.url().split('/usage')[0] + `/consumers?q=${name}`);
  await expect(page.locator('body[data-hydrated]')).toBeAttached();
  await page.getByRole('link', { name: `${name} details` }).click();
  const panel = page.getByRole('complementary', { name: 'Consumer details' });
  const week = panel.getByRole('img', { name: /^Requests over time, .* by hour: 3 requests \(2 allowed, 1 / });
  await expect.poll(() => week.evaluate((i: HTMLImageElement) => i.complete && i.naturalWidth)).toBe(760);
  await panel.getByRole('link', { name: 'Usage of this consumer' }).click();
  await expect(page).toHaveURL(new RegExp(`range=7d&consumer=${id}`));
  await expect(page.getByRole('heading', { name: 'Usage', exact: true })).toBeVisible();

  // A question that cannot be answered says why.
  await page.getByLabel('Range', { exact: true }).selectOption({ label: 'From – to (UTC)' });
  await page.getByRole('button', { name: 'Show usage' }).click();
  await expect(page.getByRole('alert')).toContainText('From is a date and time in UTC');
});
