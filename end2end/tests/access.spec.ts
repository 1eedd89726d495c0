import { expect, Page, test } from '@playwright/test';
import { openSection, own, signIn, VIEWER } from './helpers';

async function ask(page: Page, consumer: string, path: string) {
  await page.getByLabel('Consumer name').fill(consumer);
  await page.getByLabel('Request path').fill(path);
  await page.getByRole('button', { name: 'Check access' }).click();
}

test('the access check explains a consumer\'s request: allowed by its rule, refused for another API', async ({ page }) => {
  await signIn(page);
  await openSection(page, 'Access check', 'Access check');
  await ask(page, 'billing-service', '/v1/chat/completions');
  const decision = page.getByRole('region', { name: 'Decision' });
  await expect(decision.getByRole('heading', { name: 'Decision: allowed (200)' })).toBeVisible();
  await expect(page).toHaveURL(/consumer=billing-service/);
  await expect(decision.getByRole('row', { name: /the consumer qwen3-chat default never applies/ })).toBeVisible();
  await expect(decision.getByText(/matched by base path \/v1\/chat/)).toBeVisible();

  await ask(page, 'billing-service', '/v1/embeddings');
  await expect(decision.getByRole('heading', { name: 'Decision: refused (403)' })).toBeVisible();
  await expect(decision.getByRole('status')).toContainText('no rule in effect');
  await expect(decision.getByRole('row', { name: /the consumer qwen3-chat default never another model API/ })).toBeVisible();

  await ask(page, 'nobody-of-this-name', '/v1/chat');
  await expect(page.getByRole('alert')).toContainText('no consumer named nobody-of-this-name');
});

test('an Admin checks a typed key, which never lands in the URL; a Viewer is not offered it', async ({ page }) => {
  await signIn(page);
  await openSection(page, 'Access check', 'Access check');
  const gw = page.url().match(/\/instances\/(gw-[a-z0-9]+)/)![1];
  const value = `e2e-access-${Date.now()}-0123456789abcdefghijklmnop`;
  const key = await page.request.post('/v1/keys', { headers: own(page), data: { gatewayId: gw, name: `e2e-access-${Date.now()}`, value } });
  expect(key.ok()).toBeTruthy();
  const keyId = (await key.json()).data.key.keyId;
  const consumer = await page.request.post('/v1/consumers', { headers: own(page), data: { gatewayId: gw, name: `e2e-access-${Date.now()}`, keyIds: [keyId] } });
  expect(consumer.ok()).toBeTruthy();

  await page.getByLabel('Or an API key').fill(value);
  await page.getByLabel('Request path').fill('/v1/chat');
  await page.getByRole('button', { name: 'Check access' }).click();
  const decision = page.getByRole('region', { name: 'Decision' });
  await expect(decision.getByRole('heading', { name: 'Decision: refused (403)' })).toBeVisible();
  await expect(decision.getByText('found, enabled, does not expire')).toBeVisible();
  expect(page.url()).not.toContain(value);

  await page.getByLabel('Or an API key').fill(`${value}-wrong`);
  await page.getByRole('button', { name: 'Check access' }).click();
  await expect(decision.getByRole('heading', { name: 'Decision: refused (401)' })).toBeVisible();
  await expect(decision.getByText('no key bound to a consumer has this value', { exact: true })).toBeVisible();

  await page.context().clearCookies();
  await signIn(page, VIEWER);
  await openSection(page, 'Access check', 'Access check');
  await expect(page.getByLabel('Or an API key')).toHaveCount(0);
  await ask(page, 'billing-service', '/v1/chat');
  await expect(page.getByRole('heading', { name: 'Decision: allowed (200)' })).toBeVisible();
});
