import { expect, test } from '@playwright/test';
import { VIEWER, expectAudited, openSection, signIn } from './helpers';

test('set a rate limit on a group, see bad values and a second limit refused, change it, remove it', async ({ page }) => {
  await signIn(page);
  await openSection(page, 'Rate limits', 'Rate limits');
  await page.getByRole('button', { name: 'New rate limit' }).click();
  const create = page.getByRole('dialog', { name: 'New rate limit' });
  await create.getByLabel('Limit for').selectOption({ label: 'A consumer group (shared by its members)' });
  await create.getByLabel('Consumer group', { exact: true }).selectOption({ label: 'partners' });
  const perSecond = create.getByLabel('Requests per second (empty: none)');
  const perMinute = create.getByLabel('Requests per minute (empty: none)');

  // Checked as typed, with the server's words; nothing is sent.
  await perSecond.fill('-3');
  await create.getByRole('button', { name: 'OK' }).click();
  await expect(create.locator('#limit-per-second-error')).toHaveText('Requests per second is a whole number from 1 to 1,000,000.');
  await perSecond.fill('');
  await create.getByRole('button', { name: 'OK' }).click();
  await expect(create.locator('#limit-per-second-error')).toHaveText('Give requests per second, per minute, or both.');
  await perMinute.fill('ten');
  await create.getByRole('button', { name: 'OK' }).click();
  await expect(create.locator('#limit-per-minute-error')).toContainText('whole number');

  await perSecond.fill('20');
  await perMinute.fill('600');
  await create.getByLabel('Counted').selectOption('cluster');
  await create.getByRole('button', { name: 'OK' }).click();
  await expect(create).toBeHidden();
  const row = page.getByRole('row', { name: /consumer group partners/ });
  await expect(row.getByRole('cell').nth(1)).toHaveText('20');
  await expect(row.getByRole('cell').nth(2)).toHaveText('600');
  await expect(row).toContainText('Shared by all replicas');

  // One limit per subject: a second one is refused, and says what to do.
  await page.getByRole('button', { name: 'New rate limit' }).click();
  const again = page.getByRole('dialog', { name: 'New rate limit' });
  await again.getByLabel('Limit for').selectOption({ label: 'A consumer group (shared by its members)' });
  await again.getByLabel('Consumer group', { exact: true }).selectOption({ label: 'partners' });
  await again.getByLabel('Requests per minute (empty: none)').fill('5');
  await again.getByRole('button', { name: 'OK' }).click();
  await expect(again.getByRole('alert').filter({ hasText: 'has a rate limit already' })).toBeVisible();
  await again.getByRole('button', { name: 'Cancel' }).click();
  await expect(again).toBeHidden();
  await expect(page.getByRole('row', { name: /consumer group partners/ })).toHaveCount(1);

  // Changed: per minute only, counted per replica.
  await page.getByRole('button', { name: 'Edit the rate limit of consumer group partners' }).click();
  const edit = page.getByRole('dialog', { name: 'Edit rate limit' });
  await expect(edit.getByLabel('Requests per second (empty: none)')).toHaveValue('20');
  await edit.getByLabel('Requests per second (empty: none)').fill('');
  await edit.getByLabel('Requests per minute (empty: none)').fill('1,200');
  await edit.getByLabel('Counted').selectOption('local');
  await edit.getByRole('button', { name: 'OK' }).click();
  await expect(edit).toBeHidden();
  await expect(row.getByRole('cell').nth(1)).toHaveText('—');
  await expect(row.getByRole('cell').nth(2)).toHaveText('1,200');
  await expect(row).toContainText('Per replica');

  // A Viewer sees it and cannot change it.
  const viewer = await page.context().browser()!.newPage();
  await signIn(viewer, VIEWER);
  await openSection(viewer, 'Rate limits', 'Rate limits');
  await expect(viewer.getByRole('row', { name: /consumer group partners/ })).toBeVisible();
  await expect(viewer.getByRole('button', { name: 'New rate limit' })).toHaveCount(0);
  await expect(viewer.getByRole('button', { name: /^Edit the rate limit/ })).toHaveCount(0);
  await viewer.close();

  await page.getByRole('button', { name: 'Remove the rate limit of consumer group partners' }).click();
  const remove = page.getByRole('dialog', { name: 'Remove rate limit' });
  await remove.getByRole('button', { name: 'Remove' }).click();
  await expect(remove).toBeHidden();
  await expect(page.getByRole('row', { name: /consumer group partners/ })).toHaveCount(0);

  await expectAudited(page, 'RateLimit', 'CreateRateLimit', 'consumer group', ['UpdateRateLimit', 'DeleteRateLimit']);
});

test('a limit on a key names the consumer it is bound to, and the consumer filter finds it', async ({ page }) => {
  await signIn(page);
  await openSection(page, 'Rate limits', 'Rate limits');
  await page.getByRole('button', { name: 'New rate limit' }).click();
  const create = page.getByRole('dialog', { name: 'New rate limit' });
  await create.getByLabel('Limit for').selectOption({ label: 'A key' });
  await create.getByLabel('Find keys by name').fill('billing-key');
  await create.getByRole('button', { name: 'Find keys' }).click();
  await expect(create.getByLabel('Key', { exact: true })).toHaveValue(/^key-/);
  await create.getByLabel('Requests per second (empty: none)').fill('5');
  await create.getByRole('button', { name: 'OK' }).click();
  await expect(create).toBeHidden();
  const row = page.getByRole('row', { name: /key billing-key \(of billing-service\)/ });
  await expect(row.getByRole('cell').nth(1)).toHaveText('5');

  // From the consumer's details, the limits that cover its requests.
  // (Searched for: other tests add consumers, so it need not be on the first page.)
  await page.goto(page.url().split('/limits')[0] + '/consumers?q=billing-service');
  await expect(page.locator('body[data-hydrated]')).toBeAttached();
  await page.getByRole('link', { name: 'billing-service details' }).click();
  const panel = page.getByRole('complementary', { name: 'Consumer details' });
  await panel.getByRole('link', { name: 'Rate limits that cover this consumer' }).click();
  await expect(page.getByRole('heading', { name: 'Rate limits', exact: true })).toBeVisible();
  await expect(page.getByText('Showing the limits that cover the consumer')).toBeVisible();
  await expect(page.getByRole('row', { name: /key billing-key/ })).toBeVisible();
  await expect(page.locator('body[data-hydrated]')).toBeAttached();
  await page.getByRole('button', { name: 'Remove the rate limit of key billing-key (of billing-service)' }).click();
  await page.getByRole('dialog', { name: 'Remove rate limit' }).getByRole('button', { name: 'Remove' }).click();
  await expect(page.getByRole('row', { name: /key billing-key/ })).toHaveCount(0);
});
