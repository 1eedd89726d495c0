import { expect, test } from '@playwright/test';
import { expectAudited, openSection, signIn } from './helpers';

test('an environment: create, edit, refused delete while an API is deployed to it, recheck, delete', async ({ page }) => {
  await signIn(page);
  await openSection(page, 'Environments', 'Environments');
  await expect(page.getByRole('button', { name: 'Delete default' })).toHaveCount(0);

  await page.getByRole('button', { name: 'New environment' }).click();
  const create = page.getByRole('dialog', { name: 'New environment' });
  await create.getByLabel('Environment name').fill('-staging');
  await expect(create.locator('#environment-name-error')).not.toBeEmpty();
  await create.getByLabel('Environment name').fill('e2e-staging');
  await create.getByRole('button', { name: 'OK' }).click();
  await expect(create).toBeHidden();
  const row = page.getByRole('row', { name: /e2e-staging/ });
  await expect(row).toBeVisible();

  await page.getByRole('button', { name: 'Edit e2e-staging' }).click();
  const edit = page.getByRole('dialog', { name: 'Edit environment' });
  await edit.getByLabel('Alias (optional; the name when empty)').fill('Staging (EU)');
  await edit.getByRole('button', { name: 'OK' }).click();
  await expect(edit).toBeHidden();
  await expect(row).toContainText('Staging (EU)');

  // Deploy a model API to it: the environment cannot go while the API is there.
  await page.getByRole('navigation', { name: 'Instance' }).getByRole('link', { name: 'Model APIs', exact: true }).click();
  await expect(page.locator('body[data-hydrated]')).toBeAttached();
  await page.getByRole('button', { name: 'New model API' }).click();
  const api = page.getByRole('dialog', { name: 'New model API' });
  await api.getByLabel('API name').fill('e2e-staged');
  await api.getByLabel('Base path').fill('/v1/staged');
  await api.getByLabel('Environments').selectOption({ label: 'e2e-staging' });
  await api.getByRole('button', { name: 'OK' }).click();
  await expect(api).toBeHidden();

  await page.getByRole('navigation', { name: 'Instance' }).getByRole('link', { name: 'Environments', exact: true }).click();
  await expect(page.locator('body[data-hydrated]')).toBeAttached();
  await page.getByRole('button', { name: 'Delete e2e-staging' }).click();
  const del = page.getByRole('dialog', { name: 'Delete environment' });
  await expect(del.getByText('There are unresolved dependencies')).toBeVisible();
  await expect(del.getByRole('link', { name: 'e2e-staged' })).toBeVisible();
  await expect(del.getByRole('button', { name: 'OK' })).toBeDisabled();
  await del.getByRole('link', { name: 'e2e-staged' }).click();
  await expect(page.getByRole('heading', { name: 'Model APIs' })).toBeVisible();
  await expect(page.locator('body[data-hydrated]')).toBeAttached();
  await page.getByRole('button', { name: 'Delete e2e-staged' }).click();
  const delApi = page.getByRole('dialog', { name: 'Delete model API' });
  await delApi.getByRole('button', { name: 'OK' }).click();
  await expect(delApi).toBeHidden();

  await page.getByRole('navigation', { name: 'Instance' }).getByRole('link', { name: 'Environments', exact: true }).click();
  await expect(page.locator('body[data-hydrated]')).toBeAttached();
  await page.getByRole('button', { name: 'Delete e2e-staging' }).click();
  await del.getByRole('button', { name: 'Recheck' }).click();
  await expect(del.getByText('Can be safely deleted')).toBeVisible();
  await del.getByRole('button', { name: 'OK' }).click();
  await expect(del).toBeHidden();
  await expect(page.getByRole('row', { name: /e2e-staging/ })).toHaveCount(0);

  await expectAudited(page, 'Environment', 'CreateEnvironment', 'name=e2e-staging', ['UpdateEnvironment', 'DeleteEnvironment']);
});
