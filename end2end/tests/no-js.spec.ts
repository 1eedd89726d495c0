import { expect, test } from '@playwright/test';

// Server-rendered HTML only: sign-in and the read-only pages work without JavaScript.
test('without JavaScript: sign in, list instances and consumers, open details by URL', async ({ page }) => {
  await page.goto('/instances');
  await expect(page).toHaveURL(/\/login/);
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill('e2e-admin-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('heading', { name: 'Instance list' })).toBeVisible();
  // Without a browser clock to ask, times are UTC and say so.
  await expect(page.getByRole('row', { name: /^gw-/ }).first().locator('time')).toHaveText(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);
  await page.getByRole('link', { name: /^gw-/ }).first().click();
  await page.getByRole('link', { name: 'Consumer', exact: true }).click();
  await expect(page.getByRole('heading', { name: 'Consumer', exact: true })).toBeVisible();
  await page.getByLabel('Search consumers by name').fill('chat');
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  await expect(page).toHaveURL(/q=chat/);
  await expect(page.getByRole('row', { name: /chat-assistant/ })).toBeVisible();
  await expect(page.getByRole('row', { name: /billing-service/ })).toHaveCount(0);
  await page.getByRole('link', { name: 'chat-assistant details' }).click();
  const panel = page.getByRole('complementary', { name: 'Consumer details' });
  await expect(panel.getByText('Authentication Method: API Key')).toBeVisible();
  await expect(panel.getByRole('cell', { name: 'chat-key', exact: true })).toBeVisible();
});

test('without JavaScript: the authorization rules, model APIs and environments render', async ({ page }) => {
  await page.goto('/login');
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill('e2e-admin-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('link', { name: /^gw-/ }).first().click();
  await page.getByRole('link', { name: 'Authorization', exact: true }).click();
  await expect(page.getByRole('row', { name: /internal \(group\).*qwen3-chat/ })).toBeVisible();
  await page.getByLabel('Consumer name').fill('billing');
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  await expect(page).toHaveURL(/who=billing/);
  await expect(page.getByRole('row', { name: /billing-service.*qwen3-chat/ })).toBeVisible();
  await expect(page.getByRole('row', { name: /internal \(group\)/ })).toHaveCount(0);
  await page.getByRole('link', { name: 'Model APIs', exact: true }).click();
  await expect(page.getByRole('row', { name: /text-embeddings/ })).toContainText('/v1/embeddings');
  await page.getByRole('link', { name: 'Environments', exact: true }).click();
  await expect(page.getByRole('row', { name: /default/ })).toContainText('Default');
});

test('without JavaScript: a wrong password sends the form back with the reason', async ({ page }) => {
  await page.goto('/instances');
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill('not-the-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/login\?error=failed&next=%2Finstances/);
  await expect(page.getByRole('alert')).toContainText('Wrong username or password');
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill('e2e-admin-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('heading', { name: 'Instance list' })).toBeVisible();
});

test('without JavaScript: the access check explains a consumer\'s request', async ({ page }) => {
  await page.goto('/login');
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill('e2e-admin-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('link', { name: /^gw-/ }).first().click();
  await page.getByRole('link', { name: 'Access check', exact: true }).click();
  await expect(page.getByLabel('Or an API key')).toHaveCount(0);
  await page.getByLabel('Consumer name').fill('billing-service');
  await page.getByLabel('Request path').fill('/v1/chat/completions');
  await page.getByRole('button', { name: 'Check access' }).click();
  await expect(page).toHaveURL(/consumer=billing-service/);
  await expect(page.getByRole('heading', { name: 'Decision: allowed (200)' })).toBeVisible();
  await expect(page.getByRole('row', { name: /the consumer qwen3-chat default never applies/ })).toBeVisible();
});

test('without JavaScript: the Usage page draws its charts and its filters work', async ({ page }) => {
  await page.goto('/login');
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill('e2e-admin-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('link', { name: /^gw-/ }).first().click();
  await page.getByRole('link', { name: 'Usage', exact: true }).click();
  await expect(page.getByRole('heading', { name: 'Usage', exact: true })).toBeVisible();
  await page.getByLabel('Range', { exact: true }).selectOption({ label: 'Last 7 days' });
  await page.getByRole('button', { name: 'Show usage' }).click();
  await expect(page).toHaveURL(/range=7d/);
  await expect(page.getByText(/, by hour\.$/)).toBeVisible();
  for (const chart of [/^Requests over time/, /^Tokens over time/, /^Top consumers by requests/, /^Top model APIs by requests/]) {
    const img = page.getByRole('img', { name: chart });
    await expect.poll(() => img.evaluate((i: HTMLImageElement) => i.complete && i.naturalWidth)).toBe(760);
  }
  await page.getByText('Requests over time as a table').click();
  await expect(page.getByRole('table', { name: /Requests per bucket by outcome/ })).toBeVisible();
});
