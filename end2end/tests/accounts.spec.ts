import { expect, test } from '@playwright/test';
import { expectAudited, signIn, VIEWER } from './helpers';

test('an Admin creates an account, promotes, disables, resets its password; the last Admin is kept', async ({ page, browser }) => {
  await signIn(page);
  await page.getByRole('link', { name: 'Accounts' }).click();
  await expect(page.getByRole('heading', { name: 'Accounts' })).toBeVisible();
  await expect(page.locator('body[data-hydrated]')).toBeAttached();

  // The only Admin cannot step down.
  await page.getByRole('button', { name: 'Make admin Viewer' }).click();
  await expect(page.getByRole('status')).toContainText('last enabled Admin');
  await expect(page.getByRole('row', { name: /^admin/ })).toContainText('Admin');

  await page.getByRole('button', { name: 'New account' }).click();
  const create = page.getByRole('dialog', { name: 'New account' });
  await create.getByLabel('Username').fill('e2e-ops');
  await create.getByLabel('Password (at least 10 characters)').fill('short');
  await create.getByRole('button', { name: 'OK' }).click();
  await expect(create.getByRole('alert')).toContainText('at least 10 characters');
  await create.getByLabel('Password (at least 10 characters)').fill('e2e-ops-password');
  await create.getByRole('button', { name: 'OK' }).click();
  await expect(create).toBeHidden();
  const row = page.getByRole('row', { name: /e2e-ops/ });
  await expect(row).toContainText('Viewer');

  await page.getByRole('button', { name: 'Make e2e-ops Admin' }).click();
  await expect(row).toContainText('Admin');
  await page.getByRole('button', { name: 'Disable account e2e-ops' }).click();
  await expect(row).toContainText('Disabled');
  await page.getByRole('button', { name: 'Enable account e2e-ops' }).click();
  await expect(row).toContainText('Enabled');

  await page.getByRole('button', { name: 'Reset password of e2e-ops' }).click();
  const reset = page.getByRole('dialog', { name: 'Reset password' });
  await reset.getByLabel('New password (at least 10 characters)').fill('e2e-ops-password-2');
  await reset.getByRole('button', { name: 'OK' }).click();
  await expect(reset).toBeHidden();

  const other = await browser.newPage();
  await signIn(other, { username: 'e2e-ops', password: 'e2e-ops-password-2' });
  await expect(other.getByRole('link', { name: 'Accounts' })).toBeVisible();
  await other.close();

  await expectAudited(page, 'Account', 'CreateAccount', 'username=e2e-ops', ['ChangeAccountRole', 'DisableAccount', 'EnableAccount', 'ResetAccountPassword']);
});

test('a Viewer has no Accounts page', async ({ page }) => {
  await signIn(page, VIEWER);
  await expect(page.getByRole('link', { name: 'API tokens' })).toBeVisible();
  await expect(page.getByRole('link', { name: 'Accounts' })).toHaveCount(0);
  await page.goto('/accounts');
  await expect(page.getByRole('alert')).toContainText('may view but not change');
});
