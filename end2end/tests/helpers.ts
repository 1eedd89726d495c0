import { expect, Locator, Page } from '@playwright/test';

export const ADMIN = { username: 'admin', password: 'e2e-admin-password' };
export const VIEWER = { username: 'viewer', password: 'e2e-viewer-password' };

/**
 * The Origin a page of the console sends with its own state changes: requests a test makes
 * beside the page (`page.request`) must carry it too, or the console refuses them (CSRF).
 */
export function own(page: Page) {
  return { Origin: new URL(page.url()).origin };
}

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

/** Opens a page of the demo instance from its sidebar, hydrated. */
export async function openSection(page: Page, link: string, heading: string) {
  await page.getByRole('link', { name: /^gw-/ }).first().click();
  await expect(page.getByRole('heading', { name: 'Basic information' })).toBeVisible();
  await page.getByRole('navigation', { name: 'Instance' }).getByRole('link', { name: link, exact: true }).click();
  await expect(page.getByRole('heading', { name: heading, exact: true })).toBeVisible();
  await expect(page.locator('body[data-hydrated]')).toBeAttached();
}

/** A `datetime-local` value (UTC) `ms` milliseconds from now. */
export function utcInput(ms: number) {
  return new Date(Date.now() + ms).toISOString().slice(0, 19);
}

/** Opens the demo instance's consumer page, hydrated. */
export async function openDemoConsumers(page: Page) {
  await page.getByRole('link', { name: /^gw-/ }).first().click();
  await expect(page.getByRole('heading', { name: 'Basic information' })).toBeVisible();
  await page.getByRole('link', { name: 'Consumer', exact: true }).click();
  await expect(page.getByRole('heading', { name: 'Consumer', exact: true })).toBeVisible();
  await expect(page.locator('body[data-hydrated]')).toBeAttached();
}

/**
 * Asserts that the global audit log holds each of `actions` for one resource: the one whose
 * `created` entry (newest first) matches `mention` in its summary. Returns the resource ID.
 */
export async function expectAudited(page: Page, type: string, created: string, mention: string, actions: string[]) {
  await page.goto(`/audit?type=${type}&size=100`);
  const first = page.getByRole('row', { name: new RegExp(`${created}.*${mention}`) }).first();
  await expect(first).toBeVisible();
  const id = (await first.getByRole('cell').nth(3).innerText()).match(/[a-z]+-[0-9a-z]{20}/)![0];
  await page.goto(`/audit?rid=${id}&size=100`);
  const table = page.getByRole('table', { name: 'Audit entries' });
  for (const action of [created, ...actions]) {
    await expect(table.getByRole('row', { name: new RegExp(`\\b${action}\\b`) }).first(), `${action} of ${id}`).toBeVisible();
  }
  for (const row of await table.getByRole('row').allInnerTexts()) {
    if (!row.includes('Request ID')) expect(row).toContain(id);
  }
  return id;
}
