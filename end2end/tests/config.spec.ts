import { expect, test } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { signIn, VIEWER } from './helpers';

/** Opens an instance's overview from the instance list; returns its ID. */
async function openInstance(page: import('@playwright/test').Page) {
  await page.getByRole('link', { name: /^gw-/ }).first().click();
  await expect(page.getByRole('heading', { name: 'Basic information' })).toBeVisible();
  await expect(page.locator('body[data-hydrated]')).toBeAttached();
  return page.url().match(/\/instances\/(gw-[a-z0-9]+)/)![1];
}

for (const who of ['an Admin', 'a Viewer']) {
  test(`${who} downloads an instance's configuration as YAML, without key values or hashes`, async ({ page }) => {
    await signIn(page, who === 'a Viewer' ? VIEWER : undefined);
    const gw = await openInstance(page);
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Download configuration' }).click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/\.yaml$/);
    const yaml = readFileSync((await download.path())!, 'utf8');
    expect(yaml).toContain('\nversion: gateway-console/v1\n');
    expect(yaml).toContain(`\ngateway:\n  id: ${gw}\n`);
    expect(yaml).toMatch(/\nconsumers:\n- name: /);
    expect(yaml).not.toContain('hash:');
    // The page is still there: the link downloads, it does not navigate.
    await expect(page.getByRole('heading', { name: 'Basic information' })).toBeVisible();
  });
}
