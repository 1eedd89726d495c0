import { expect, test } from '@playwright/test';
import { expectAudited, openSection, signIn } from './helpers';

test('a group: create, edit, add a member (seen in the consumer), refused delete, remove, delete; all audited', async ({ page }) => {
  await signIn(page);
  await openSection(page, 'Consumer group', 'Consumer group');
  await page.getByRole('button', { name: 'New consumer group' }).click();
  const create = page.getByRole('dialog', { name: 'New consumer group' });
  await create.getByLabel('Consumer group name').fill('e2e-team');
  await create.getByRole('button', { name: 'OK' }).click();
  await expect(create).toBeHidden();

  await page.getByRole('button', { name: 'Edit e2e-team' }).click();
  const edit = page.getByRole('dialog', { name: 'Edit Consumer Group' });
  await edit.getByLabel('Description').fill('edited in e2e');
  await edit.getByRole('button', { name: 'OK' }).click();
  await expect(edit).toBeHidden();
  await expect(page.getByRole('row', { name: /e2e-team/ })).toContainText('edited in e2e');

  await page.getByRole('link', { name: 'e2e-team details' }).click();
  const details = page.getByRole('complementary', { name: 'Consumer group details' });
  await expect(details.getByText('No members.')).toBeVisible();
  await details.getByLabel('Add a consumer').selectOption({ label: 'chat-assistant' });
  await details.getByRole('button', { name: 'Add' }).click();
  await expect(details.getByRole('table', { name: 'Members' })).toContainText('chat-assistant');

  await page.getByRole('button', { name: 'Delete e2e-team' }).click();
  const del = page.getByRole('dialog', { name: 'Delete Consumer Group' });
  await expect(del.getByText('There are unresolved dependencies')).toBeVisible();
  await expect(del.getByRole('link', { name: 'chat-assistant' })).toBeVisible();
  await expect(del.getByRole('button', { name: 'OK' })).toBeDisabled();
  await del.getByRole('button', { name: 'Cancel' }).click();

  // The membership shows in the consumer's details.
  await details.getByRole('link', { name: 'chat-assistant' }).click();
  const consumer = page.getByRole('complementary', { name: 'Consumer details' });
  await expect(consumer.getByRole('list').filter({ hasText: 'e2e-team' })).toBeVisible();
  await page.goBack();
  await expect(details.getByRole('table', { name: 'Members' })).toContainText('chat-assistant');
  await expect(page.locator('body[data-hydrated]')).toBeAttached();

  await details.getByRole('button', { name: 'Remove chat-assistant from the group' }).click();
  await expect(details.getByText('No members.')).toBeVisible();
  await page.getByRole('button', { name: 'Delete e2e-team' }).click();
  await del.getByRole('button', { name: 'Recheck' }).click();
  await expect(del.getByText('Can be safely deleted')).toBeVisible();
  await del.getByRole('button', { name: 'OK' }).click();
  await expect(del).toBeHidden();
  await expect(page.getByRole('row', { name: /e2e-team/ })).toHaveCount(0);

  await expectAudited(page, 'ConsumerGroup', 'CreateConsumerGroup', 'name=e2e-team', ['UpdateConsumerGroup', 'DeleteConsumerGroup']);
  await expectAudited(page, 'Consumer', 'CreateConsumer', 'name=chat-assistant', ['AddGroupMembership', 'RemoveGroupMembership']);
});

test('the default consumer group cannot be deleted', async ({ page }) => {
  await signIn(page);
  await openSection(page, 'Consumer group', 'Consumer group');
  await expect(page.getByRole('button', { name: 'Edit Default-consumer-group' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Delete Default-consumer-group' })).toHaveCount(0);
});
