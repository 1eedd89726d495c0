import { expect, Locator, Page } from '@playwright/test';

export const ADMIN = { username: 'admin', password: 'e2e-admin-password' };
export const VIEWER = { username: 'viewer', password: 'e2e-viewer-password' };

/** Selects the option whose text matches, in a labelled <select>. */
export async function selectByText(select: Locator, text: RegExp) {
  const value = await select.getByRole('option', { name: text }).getAttribute('value');
  await select.selectOption(value!);
}

/** Signs in through the form and waits for the hydrated instance list. */
export async function signIn(page: Page, user = ADMIN) {
  await page.goto('/login');
  await expect(page.locator('body[data-hydrated]')).toBeAttached();
  await page.getByLabel('Username').fill(user.username);
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('heading', { name: 'Instance list' })).toBeVisible();
}

/** Opens the demo instance's consumer page, hydrated. */
export async function openDemoConsumers(page: Page) {
  await page.getByRole('link', { name: /^gw-/ }).first().click();
  await expect(page.getByRole('heading', { name: 'Basic information' })).toBeVisible();
  await page.getByRole('link', { name: 'Consumer', exact: true }).click();
  await expect(page.getByRole('heading', { name: 'Consumer', exact: true })).toBeVisible();
  await expect(page.locator('body[data-hydrated]')).toBeAttached();
}
