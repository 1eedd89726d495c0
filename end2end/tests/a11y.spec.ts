import AxeBuilder from '@axe-core/playwright';
import { expect, Page, test } from '@playwright/test';
import { signIn } from './helpers';

/** axe-core on the page as it is now: no serious or critical WCAG 2.1 A/AA violation. */
async function expectAccessible(page: Page, what: string) {
  const results = await new AxeBuilder({ page })
    .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'])
    .analyze();
  const bad = results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  expect(bad, what).toEqual([]);
}

/** Opens a dialog with a button, checks it, and closes it with Esc (every dialog must close
 * on Esc, wherever the focus is). */
async function checkDialog(page: Page, button: string, dialog: string) {
  await page.getByRole('button', { name: button, exact: true }).first().click();
  const d = page.getByRole('dialog', { name: dialog });
  await expect(d).toBeVisible();
  await expectAccessible(page, `dialog ${dialog}`);
  await page.keyboard.press('Escape');
  await expect(d).toBeHidden();
}

test('the sign-in page', async ({ page }) => {
  await page.goto('/login');
  await expect(page.locator('body[data-hydrated]')).toBeAttached();
  await expectAccessible(page, 'sign in');
});

test('every page of the console, and its dialogs', async ({ page }) => {
  test.setTimeout(120_000);
  await signIn(page);
  await expectAccessible(page, 'instance list');
  await checkDialog(page, 'New instance', 'New instance');

  await page.getByRole('link', { name: /^gw-/ }).first().click();
  await expect(page.getByRole('heading', { name: 'Basic information' })).toBeVisible();
  await expect(page.locator('body[data-hydrated]')).toBeAttached();
  await expectAccessible(page, 'instance overview');
  await checkDialog(page, 'Edit instance', 'Edit instance');
  await checkDialog(page, 'Delete instance', 'Delete instance');
  const nav = page.getByRole('navigation', { name: 'Instance' });
  const open = async (link: string, heading: string) => {
    await nav.getByRole('link', { name: link, exact: true }).click();
    await expect(page.getByRole('heading', { name: heading, exact: true })).toBeVisible();
    await expect(page.locator('body[data-hydrated]')).toBeAttached();
    await expectAccessible(page, `${link} page`);
  };

  await open('Consumer', 'Consumer');
  await checkDialog(page, 'New Consumer', 'New Consumer');
  await page.getByRole('link', { name: 'chat-assistant details' }).click();
  await expect(page.getByRole('complementary', { name: 'Consumer details' })).toBeVisible();
  await expectAccessible(page, 'consumer details');
  await checkDialog(page, 'Edit chat-assistant', 'Edit Consumer');
  await checkDialog(page, 'Delete chat-assistant', 'Delete Consumer');
  await checkDialog(page, 'Add Credential', 'Add Credential');
  await checkDialog(page, 'Unbind chat-key', 'Unbind');

  await open('Consumer group', 'Consumer group');
  await checkDialog(page, 'New consumer group', 'New consumer group');
  await page.getByRole('link', { name: 'partners details' }).click();
  await expect(page.getByRole('complementary', { name: 'Consumer group details' })).toBeVisible();
  await expectAccessible(page, 'group details');
  await checkDialog(page, 'Edit partners', 'Edit Consumer Group');
  await checkDialog(page, 'Delete partners', 'Delete Consumer Group');

  await open('Keys', 'Keys');
  await checkDialog(page, 'New Key', 'New Key');
  await checkDialog(page, 'Rotate key spare-key-2', 'Rotate Key');
  await checkDialog(page, 'Delete key spare-key-2', 'Delete Key');

  await open('Model APIs', 'Model APIs');
  await checkDialog(page, 'New model API', 'New model API');
  await checkDialog(page, 'Edit qwen3-chat', 'Edit model API');
  await checkDialog(page, 'Delete qwen3-chat', 'Delete model API');
  await open('Environments', 'Environments');
  await checkDialog(page, 'New environment', 'New environment');
  await checkDialog(page, 'Edit default', 'Edit environment');
  await open('Authorization', 'Authorization');
  await checkDialog(page, 'Grant authorization', 'Grant authorization');
  await checkDialog(page, 'Edit expiry of billing-service → qwen3-chat', 'Edit expiry');
  await checkDialog(page, 'Revoke billing-service → qwen3-chat', 'Revoke authorization');
  await open('Audit log', 'Audit log');
  await open('Access check', 'Access check');
  await page.getByLabel('Consumer name').fill('billing-service');
  await page.getByLabel('Request path').fill('/v1/chat');
  await page.getByRole('button', { name: 'Check access' }).click();
  await expect(page.getByRole('region', { name: 'Decision' })).toBeVisible();
  await expectAccessible(page, 'access check with a decision');
  await open('Import configuration', 'Import configuration');

  const top = async (link: string) => {
    await page.getByRole('banner').getByRole('link', { name: link }).click();
    await expect(page.getByRole('heading', { name: link, exact: true })).toBeVisible();
    await expect(page.locator('body[data-hydrated]')).toBeAttached();
    await expectAccessible(page, `${link} page`);
  };
  await top('Audit log');
  await top('API tokens');
  await checkDialog(page, 'New token', 'New token');
  await page.getByRole('button', { name: 'New token' }).click();
  const created = page.getByRole('dialog', { name: 'New token' });
  await created.getByLabel('Token name').fill('a11y-token');
  await created.getByRole('button', { name: 'OK' }).click();
  await expect(created.getByLabel('API token')).toBeVisible();
  await expectAccessible(page, 'dialog New token, showing the value once');
  await created.getByRole('button', { name: 'Done' }).click();
  await checkDialog(page, 'Revoke a11y-token', 'Revoke token');
  await top('Accounts');
  await checkDialog(page, 'New account', 'New account');
  await checkDialog(page, 'Reset password of viewer', 'Reset password');
});
