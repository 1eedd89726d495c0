import { expect, test } from '@playwright/test';
import { signIn, VIEWER } from './helpers';

test('a change made in the console is in the audit log, without its secret, and filters narrow it', async ({ page }) => {
  await signIn(page);
  await page.getByRole('link', { name: /^gw-/ }).first().click();
  await expect(page.getByRole('heading', { name: 'Basic information' })).toBeVisible();
  const nav = page.getByRole('navigation', { name: 'Instance' });
  await nav.getByRole('link', { name: 'Keys', exact: true }).click();
  await expect(page.locator('body[data-hydrated]')).toBeAttached();
  await page.getByRole('button', { name: 'New Key' }).click();
  const create = page.getByRole('dialog', { name: 'New Key' });
  await create.getByLabel('Key name').fill('e2e-audited');
  await create.getByRole('button', { name: 'OK' }).click();
  const value = await create.getByLabel('API key').inputValue();
  await create.getByRole('button', { name: 'Done' }).click();

  await nav.getByRole('link', { name: 'Audit log', exact: true }).click();
  await expect(page.getByRole('heading', { name: 'Audit log' })).toBeVisible();
  const entry = page.getByRole('row', { name: /CreateKey.*name=e2e-audited/ });
  await expect(entry).toContainText('admin');
  await expect(page.getByRole('row', { name: /demo-seed.*CreateConsumer/ }).first()).toBeVisible();
  expect(await page.content()).not.toContain(value);

  await page.getByLabel('Resource type').selectOption('Key');
  await page.getByLabel('Actor').fill('admin');
  await page.getByRole('button', { name: 'Filter' }).click();
  await expect(page).toHaveURL(/type=Key/);
  await expect(entry).toBeVisible();
  const rows = page.getByRole('table', { name: 'Audit entries' }).getByRole('row');
  for (const text of await rows.allInnerTexts()) {
    if (!text.includes('Request ID')) expect(text).toContain('Key');
  }
  await page.getByLabel('From (UTC)').fill(new Date(Date.now() + 3600_000).toISOString().slice(0, 19));
  await page.getByRole('button', { name: 'Filter' }).click();
  await expect(page.getByText('No audit entries match.')).toBeVisible();
});

test('the global audit log lists every gateway, and a Viewer can read it', async ({ page }) => {
  await signIn(page, VIEWER);
  await page.getByRole('link', { name: 'Audit log' }).click();
  await expect(page.getByRole('heading', { name: 'Audit log' })).toBeVisible();
  await expect(page.getByRole('table', { name: 'Audit entries' })).toBeVisible();
  await page.getByLabel('Resource type').selectOption('Gateway');
  await page.getByRole('button', { name: 'Filter' }).click();
  await expect(page.getByRole('row', { name: /demo-seed.*CreateGateway/ }).first()).toBeVisible();
  await page.goto('/audit?type=Nonsense');
  await expect(page.getByRole('alert')).toContainText('not a resource type');
});
