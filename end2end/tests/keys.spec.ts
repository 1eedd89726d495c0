import { expect, test } from '@playwright/test';
import { VIEWER, expectAudited, openSection, signIn, utcInput } from './helpers';

test('a key with an expiry: shown once, disabled, enabled, rotated, deleted by typing its name', async ({ page }) => {
  await signIn(page);
  await openSection(page, 'Keys', 'Keys');

  await page.getByRole('button', { name: 'New Key' }).click();
  const create = page.getByRole('dialog', { name: 'New Key' });
  await create.getByLabel('Key name').fill('e2e-rotating');
  await create.getByLabel('Expiry time (UTC, optional)').fill(utcInput(-60_000));
  await create.getByRole('button', { name: 'OK' }).click();
  await expect(create.locator('#key-expiry-error')).toContainText('future');
  const expiry = utcInput(24 * 3600_000);
  await create.getByLabel('Expiry time (UTC, optional)').fill(expiry);
  await create.getByRole('button', { name: 'OK' }).click();
  const value = await create.getByLabel('API key').inputValue();
  expect(value).toMatch(/^gck_[A-Za-z0-9]{40}$/);
  await create.getByRole('button', { name: 'Done' }).click();
  await expect(create).toBeHidden();

  const row = page.getByRole('row', { name: /e2e-rotating/ });
  await expect(row).toContainText(expiry.slice(0, 10));
  await expect(row).toContainText(`${value.slice(0, 8)}…`);
  await page.reload();
  expect(await page.content()).not.toContain(value);
  await expect(page.locator('body[data-hydrated]')).toBeAttached();

  await page.getByRole('button', { name: 'Disable key e2e-rotating' }).click();
  await expect(row).toContainText('Disabled');
  await page.getByRole('button', { name: 'Enable key e2e-rotating' }).click();
  await expect(row).toContainText('Enabled');

  await page.getByRole('button', { name: 'Rotate key e2e-rotating' }).click();
  const rotate = page.getByRole('dialog', { name: 'Rotate Key' });
  await rotate.getByLabel('The old value keeps working for').selectOption({ label: '1 hour' });
  await rotate.getByRole('button', { name: 'OK' }).click();
  const rotated = await rotate.getByLabel('New API key').inputValue();
  expect(rotated).toMatch(/^gck_[A-Za-z0-9]{40}$/);
  expect(rotated).not.toBe(value);
  await rotate.getByRole('button', { name: 'Done' }).click();
  await expect(rotate).toBeHidden();
  await expect(row).toContainText(`${rotated.slice(0, 8)}…`);
  expect(await page.content()).not.toContain(rotated);

  await page.getByRole('button', { name: 'Delete key e2e-rotating' }).click();
  const del = page.getByRole('dialog', { name: 'Delete Key' });
  await expect(del.getByText('Can be safely deleted')).toBeVisible();
  await expect(del.getByRole('button', { name: 'OK' })).toBeDisabled();
  await del.getByLabel('Enter the key name "e2e-rotating" to confirm').fill('e2e-rotat');
  await expect(del.getByRole('button', { name: 'OK' })).toBeDisabled();
  await del.getByLabel('Enter the key name "e2e-rotating" to confirm').fill('e2e-rotating');
  await del.getByRole('button', { name: 'OK' }).click();
  await expect(del).toBeHidden();
  await expect(page.getByRole('row', { name: /e2e-rotating/ })).toHaveCount(0);

  await expectAudited(page, 'Key', 'CreateKey', 'name=e2e-rotating', ['UpdateKey', 'RotateKey', 'DeleteKey']);
});

test('a key with a custom value: checked as typed, shown once, masked in the list', async ({ page }) => {
  await signIn(page);
  await openSection(page, 'Keys', 'Keys');
  await page.getByRole('button', { name: 'New Key' }).click();
  const create = page.getByRole('dialog', { name: 'New Key' });
  await create.getByLabel('Key name').fill('e2e-custom');
  await create.getByLabel('Custom value', { exact: true }).check();
  await create.getByLabel('Custom value (32–256 characters)').fill('too short');
  await expect(create.locator('#key-custom-value-error')).toContainText('32 to 256 characters');
  await create.getByLabel('Custom value (32–256 characters)').fill('e2e-custom-secret-0123456789-abcdefXYZ');
  await create.getByRole('button', { name: 'OK' }).click();
  await expect(create.getByLabel('API key')).toHaveValue('e2e-custom-secret-0123456789-abcdefXYZ');
  await create.getByRole('button', { name: 'Done' }).click();
  await expect(page.getByRole('row', { name: /e2e-custom/ })).toContainText('e2e-cust…');
  await page.reload();
  expect(await page.content()).not.toContain('e2e-custom-secret-0123456789-abcdefXYZ');
});

test('a bound key cannot be deleted: its consumer is the dependency', async ({ page }) => {
  await signIn(page);
  await openSection(page, 'Keys', 'Keys');
  await page.getByRole('button', { name: 'Delete key billing-key' }).click();
  const del = page.getByRole('dialog', { name: 'Delete Key' });
  await expect(del.getByText('There are unresolved dependencies')).toBeVisible();
  await expect(del.getByRole('link', { name: 'billing-service' })).toBeVisible();
  await del.getByLabel('Enter the key name "billing-key" to confirm').fill('billing-key');
  await expect(del.getByRole('button', { name: 'OK' })).toBeDisabled();
  await del.getByRole('button', { name: 'Cancel' }).click();
  await expect(del).toBeHidden();
});

test('disable and enable a consumer in its details, and a consumer group in the list', async ({ page }) => {
  await signIn(page);
  await openSection(page, 'Consumer', 'Consumer');
  await page.getByLabel('Search consumers by name').fill('search-frontend');
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  await page.getByRole('link', { name: 'search-frontend details' }).click();
  const details = page.getByRole('complementary', { name: 'Consumer details' });
  await expect(details.getByRole('definition').filter({ hasText: /^Enabled/ })).toBeVisible();
  await details.getByRole('button', { name: 'Disable consumer' }).click();
  await expect(details.getByRole('definition').filter({ hasText: /^Disabled/ })).toBeVisible();
  await expect(details.getByRole('button', { name: 'Enable consumer' })).toBeVisible();
  await expect(page.getByRole('row', { name: /search-frontend/ })).toContainText('Disabled');
  await details.getByRole('button', { name: 'Enable consumer' }).click();
  await expect(details.getByRole('button', { name: 'Disable consumer' })).toBeVisible();
  await expect(page.getByRole('row', { name: /search-frontend/ })).not.toContainText('Disabled');

  await page.getByRole('navigation', { name: 'Instance' }).getByRole('link', { name: 'Consumer group', exact: true }).click();
  await expect(page.getByRole('heading', { name: 'Consumer group', exact: true })).toBeVisible();
  const partners = page.getByRole('row', { name: /partners/ });
  await page.getByRole('button', { name: 'Disable consumer group partners' }).click();
  await expect(partners).toContainText('Disabled');
  await page.getByRole('button', { name: 'Enable consumer group partners' }).click();
  await expect(partners).toContainText('Enabled');

  await expectAudited(page, 'Consumer', 'CreateConsumer', 'name=search-frontend', ['DisableConsumer', 'EnableConsumer']);
  await expectAudited(page, 'ConsumerGroup', 'CreateConsumerGroup', 'name=partners', ['DisableConsumerGroup', 'EnableConsumerGroup']);
});

test('a Viewer sees keys and groups but no buttons that change them', async ({ page }) => {
  await signIn(page, VIEWER);
  await openSection(page, 'Keys', 'Keys');
  await expect(page.getByRole('row', { name: /billing-key/ })).toBeVisible();
  await expect(page.getByRole('button', { name: /^(Disable|Enable|Rotate|Delete) key/ })).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'New Key' })).toHaveCount(0);
  await page.getByRole('navigation', { name: 'Instance' }).getByRole('link', { name: 'Consumer group', exact: true }).click();
  await expect(page.getByRole('row', { name: /partners/ })).toBeVisible();
  await expect(page.getByRole('button', { name: /consumer group/ })).toHaveCount(0);
});

test('the consumer list finds a group\'s members and the holder of a key', async ({ page }) => {
  await signIn(page);
  await openSection(page, 'Consumer', 'Consumer');
  await page.getByLabel('Holding a key named or starting with').fill('billing-key');
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  await expect(page).toHaveURL(/key=billing-key/);
  const list = page.getByRole('region', { name: 'Consumer list' });
  await expect(list.getByRole('row', { name: /billing-service/ })).toBeVisible();
  await expect(list.getByRole('row', { name: /details/ })).toHaveCount(1);
  await page.getByLabel('Holding a key named or starting with').fill('');
  await page.getByLabel('Only members of').selectOption({ label: 'internal' });
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  await expect(list.getByRole('row', { name: /search-frontend/ })).toBeVisible();
  await expect(list.getByRole('row', { name: /billing-service|chat-assistant/ })).toHaveCount(0);
});

test('New Key from the New Consumer dialog creates a key and comes back to the dialog', async ({ page }) => {
  await signIn(page);
  await openSection(page, 'Consumer', 'Consumer');
  await page.getByRole('button', { name: 'New Consumer' }).click();
  await page.getByRole('dialog', { name: 'New Consumer' }).getByRole('link', { name: 'New Key' }).click();
  const create = page.getByRole('dialog', { name: 'New Key' });
  await create.getByLabel('Key name').fill('e2e-linked');
  await create.getByRole('button', { name: 'OK' }).click();
  await create.getByRole('button', { name: 'Done' }).click();
  await expect(page).toHaveURL(/\/consumers\?new=1/);
  const back = page.getByRole('dialog', { name: 'New Consumer' });
  await expect(back).toBeVisible();
  await expect(back.getByLabel('Selecting a secret').getByRole('option', { name: /e2e-linked/ })).toBeAttached();
});
