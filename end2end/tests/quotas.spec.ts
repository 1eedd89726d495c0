import { expect, test } from '@playwright/test';
import { VIEWER, expectAudited, openSection, signIn } from './helpers';

test('set a quota on a consumer, see bad values refused, change, reset and remove it; its bar is in the consumer details', async ({ page }) => {
  await signIn(page);
  await openSection(page, 'Quotas', 'Quotas');
  await page.getByRole('button', { name: 'New quota' }).click();
  const create = page.getByRole('dialog', { name: 'New quota' });
  await create.getByLabel('Limit for').selectOption({ label: 'A consumer' });
  await create.getByLabel('Consumer', { exact: true }).selectOption({ label: 'search-frontend' });
  await create.getByLabel('Counts').selectOption('requests');
  await create.getByLabel('Per', { exact: true }).selectOption('week');

  // Checked as typed, with the server's words.
  await create.getByRole('button', { name: 'OK' }).click();
  await expect(create.locator('#quota-amount-error')).toContainText('The amount is a whole number of requests from 1 to');
  await create.getByLabel('Amount').fill('5000');
  await create.getByLabel('Warn at (% used)').fill('120');
  await create.getByRole('button', { name: 'OK' }).click();
  await expect(create.locator('#quota-warn-error')).toHaveText('The warning threshold is a percentage from 1 to 100.');
  await create.getByLabel('Warn at (% used)').fill('75');
  // A zone the server does not know: its answer, at the field.
  await create.getByLabel('Time zone (IANA name, such as Europe/Berlin)').fill('Mars/Olympus_Mons');
  await create.getByRole('button', { name: 'OK' }).click();
  await expect(create.locator('#quota-time-zone-error')).toContainText('not a time zone the server knows');
  await create.getByLabel('Time zone (IANA name, such as Europe/Berlin)').fill('Asia/Shanghai');
  await create.getByRole('button', { name: 'OK' }).click();
  await expect(create).toBeHidden();
  const row = page.getByRole('row', { name: /consumer search-frontend/ });
  await expect(row).toContainText('5,000 requests a week');
  await expect(row).toContainText('(Asia/Shanghai)');
  await expect(row.getByRole('meter', { name: 'consumer search-frontend used of 5,000 requests a week' })).toBeVisible();
  await expect(row).toContainText('0 of 5,000 (OK)');

  await page.getByRole('button', { name: 'Edit the week quota of consumer search-frontend' }).click();
  const edit = page.getByRole('dialog', { name: 'Edit quota' });
  await expect(edit.getByLabel('Amount')).toHaveValue('5000');
  await edit.getByLabel('Amount').fill('8,000');
  await edit.getByRole('button', { name: 'OK' }).click();
  await expect(edit).toBeHidden();
  await expect(row).toContainText('8,000 requests a week');

  await page.getByRole('button', { name: 'Reset the week quota of consumer search-frontend' }).click();
  const reset = page.getByRole('dialog', { name: 'Reset quota' });
  await expect(reset).toContainText('no longer count');
  await reset.getByRole('button', { name: 'Reset' }).click();
  await expect(reset).toBeHidden();
  await expect(page.getByRole('status')).toContainText('starts anew');

  // In the consumer's details: the bar, and the way to all its quotas.
  // (Searched for: other tests add consumers, so it need not be on the first page.)
  await page.goto(page.url().split('/quotas')[0] + '/consumers?q=search-frontend');
  await expect(page.locator('body[data-hydrated]')).toBeAttached();
  await page.getByRole('link', { name: 'search-frontend details' }).click();
  const panel = page.getByRole('complementary', { name: 'Consumer details' });
  await expect(panel.getByRole('meter', { name: 'consumer search-frontend used of 8,000 requests a week' })).toBeVisible();
  await panel.getByRole('link', { name: 'Quotas that cover this consumer' }).click();
  await expect(page.getByRole('heading', { name: 'Quotas', exact: true })).toBeVisible();
  await expect(page.getByText('Showing the quotas that cover the consumer')).toBeVisible();
  await expect(page.locator('body[data-hydrated]')).toBeAttached();

  // A Viewer sees it and cannot change it.
  const viewer = await page.context().browser()!.newPage();
  await signIn(viewer, VIEWER);
  await openSection(viewer, 'Quotas', 'Quotas');
  await expect(viewer.getByRole('row', { name: /consumer search-frontend/ })).toBeVisible();
  await expect(viewer.getByRole('button', { name: 'New quota' })).toHaveCount(0);
  await expect(viewer.getByRole('button', { name: /^Reset the/ })).toHaveCount(0);
  await viewer.close();

  await page.getByRole('button', { name: 'Remove the week quota of consumer search-frontend' }).click();
  const remove = page.getByRole('dialog', { name: 'Remove quota' });
  await remove.getByRole('button', { name: 'Remove' }).click();
  await expect(remove).toBeHidden();
  await expect(page.getByRole('row', { name: /consumer search-frontend/ })).toHaveCount(0);

  await expectAudited(page, 'Quota', 'CreateQuota', 'requests a week', ['UpdateQuota', 'ResetQuota', 'DeleteQuota']);
});
