import { expect, test } from '@playwright/test';
import { expectAudited, signIn } from './helpers';

test('create an API token with an expiry, shown once, use it, see its last use, revoke it', async ({ page, request }) => {
  await signIn(page);
  await page.getByRole('link', { name: 'API tokens' }).click();
  await expect(page.getByRole('heading', { name: 'API tokens' })).toBeVisible();
  await expect(page.locator('body[data-hydrated]')).toBeAttached();
  await page.getByRole('button', { name: 'New token' }).click();
  const dialog = page.getByRole('dialog', { name: 'New token' });
  await dialog.getByLabel('Token name').fill('e2e-script');
  await expect(dialog.getByLabel('Expires in')).toHaveValue('90');
  await dialog.getByLabel('Expires in').selectOption({ label: '7 days' });
  await dialog.getByRole('button', { name: 'OK' }).click();
  const value = await dialog.getByLabel('API token').inputValue();
  expect(value).toMatch(/^gct_[A-Za-z0-9]{40}$/);
  await dialog.getByRole('button', { name: 'Done' }).click();
  await expect(dialog).toBeHidden();

  const used = await request.get('/v1/gateways', { headers: { Authorization: `Bearer ${value}` } });
  expect(used.status()).toBe(200);
  expect((await used.json()).code).toBe('Ok');

  await page.reload();
  const row = page.getByRole('row', { name: /e2e-script/ });
  await expect(row).not.toContainText('Never');
  const inAWeek = new Date(Date.now() + 7 * 24 * 3600 * 1000).toISOString().slice(0, 10);
  await expect(row.getByRole('cell').nth(4)).toContainText(inAWeek);
  await expect(row.getByRole('cell').nth(2)).toHaveText('Everything this account may do');
  await expect(row).not.toContainText('Expired');
  expect(await page.content()).not.toContain(value);

  await expect(page.locator('body[data-hydrated]')).toBeAttached();
  await page.getByRole('button', { name: 'Revoke e2e-script' }).click();
  const revoke = page.getByRole('dialog', { name: 'Revoke token' });
  await revoke.getByRole('button', { name: 'OK' }).click();
  await expect(revoke).toBeHidden();
  await expect(page.getByRole('row', { name: /e2e-script/ })).toHaveCount(0);
  const refused = await request.get('/v1/gateways', { headers: { Authorization: `Bearer ${value}` } });
  expect(refused.status()).toBe(401);

  await expectAudited(page, 'ApiToken', 'CreateApiToken', 'name=e2e-script', ['RevokeApiToken']);
});

test('a token that only reports usage: created in the console, refused everything else', async ({ page, request }) => {
  await signIn(page);
  await page.getByRole('link', { name: 'API tokens' }).click();
  await expect(page.locator('body[data-hydrated]')).toBeAttached();
  await page.getByRole('button', { name: 'New token' }).click();
  const dialog = page.getByRole('dialog', { name: 'New token' });
  await dialog.getByLabel('Token name').fill('e2e-shipper');
  await dialog.getByLabel('Access').selectOption({ label: "Report usage only (a gateway's log shipper; Admins)" });
  await dialog.getByRole('button', { name: 'OK' }).click();
  const value = await dialog.getByLabel('API token').inputValue();
  await dialog.getByRole('button', { name: 'Done' }).click();
  await expect(dialog).toBeHidden();
  const row = page.getByRole('row', { name: /e2e-shipper/ });
  await expect(row.getByRole('cell').nth(2)).toHaveText("Report usage only (a gateway's log shipper; Admins)");

  const auth = { Authorization: `Bearer ${value}` };
  expect((await request.get('/v1/gateways', { headers: auth })).status()).toBe(403);
  const gateways = await (await page.request.get('/v1/gateways')).json();
  const gatewayId = gateways.data.items[0].gatewayId;
  const reported = await request.post('/v1/usage', { headers: auth, data: { gatewayId, records: [] } });
  expect(reported.status()).toBe(200);
  expect((await reported.json()).data).toEqual({ accepted: 0, duplicates: 0, rejected: [] });

  await page.getByRole('button', { name: 'Revoke e2e-shipper' }).click();
  const revoke = page.getByRole('dialog', { name: 'Revoke token' });
  await revoke.getByRole('button', { name: 'OK' }).click();
  await expect(revoke).toBeHidden();
  await expectAudited(page, 'ApiToken', 'CreateApiToken', 'scope=UsageWrite', ['RevokeApiToken']);
});
