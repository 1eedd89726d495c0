import { expect, test } from '@playwright/test';
import { own, signIn, VIEWER } from './helpers';

/**
 * Import a configuration file from the instance page: choose the file, see the diff grouped by
 * kind with counts, apply it, and find the change set in the audit log. A file with problems
 * is refused with each problem at its place, nothing applied. Each test uses an instance of
 * its own, so that no other test's change moves its revision between preview and apply, and
 * removes it afterwards (other tests open the newest instance in the list, the demo one).
 */
async function freshInstance(page: import('@playwright/test').Page) {
  const name = `e2e-import-${Date.now()}`;
  const created = await page.request.post('/v1/gateways', {
    headers: own(page),
    data: { name, region: 'local', engineVersion: '1', description: '' },
  });
  expect(created.ok()).toBeTruthy();
  const gw = (await created.json()).data.gatewayId as string;
  const exported = await page.request.get(`/v1/gateways/${gw}/export`);
  return { gw, yaml: await exported.text() };
}

async function openImport(page: import('@playwright/test').Page, gw: string) {
  await page.goto(`/instances/${gw}`);
  await expect(page.getByRole('heading', { name: 'Basic information' })).toBeVisible();
  await expect(page.locator('body[data-hydrated]')).toBeAttached();
  await page.getByRole('link', { name: 'Import configuration' }).first().click();
  await expect(page.getByRole('heading', { name: 'Import configuration', exact: true })).toBeVisible();
  await expect(page.locator('body[data-hydrated]')).toBeAttached();
}

/** Empties the test's instance (its first export, applied with prune) and deletes it. */
async function remove(page: import('@playwright/test').Page, gw: string, original: string) {
  const headers = { ...own(page), 'Content-Type': 'application/yaml' };
  const emptied = await page.request.post(`/v1/gateways/${gw}/import?prune=true`, { headers, data: original });
  expect(emptied.ok(), await emptied.text()).toBeTruthy();
  const deleted = await page.request.delete(`/v1/gateways/${gw}`, { headers: own(page) });
  expect(deleted.ok(), await deleted.text()).toBeTruthy();
}

function file(text: string) {
  return { name: 'gateway.yaml', mimeType: 'application/yaml', buffer: Buffer.from(text) };
}

test('an Admin previews a configuration file, applies it, and finds it in the audit log', async ({ page }) => {
  await signIn(page);
  const { gw, yaml } = await freshInstance(page);
  try {
    const edited = yaml.replace(
      /\nconsumerGroups:\n/,
      '\nconsumerGroups:\n- name: imported-team\n  description: from a file\n',
    ) + 'consumers:\n- name: imported-alice\n  groups:\n  - imported-team\n';
    await openImport(page, gw);
    await page.getByLabel('Configuration file').setInputFiles(file(edited));
    await page.getByRole('button', { name: 'Preview changes' }).click();

    const diff = page.getByRole('region', { name: 'Changes' });
    await expect(diff.getByRole('heading', { name: '3 changes' })).toBeVisible();
    await expect(diff.getByRole('heading', { name: 'Consumer groups (1 created)' })).toBeVisible();
    await expect(diff.getByRole('heading', { name: 'Consumers (1 created)' })).toBeVisible();
    await expect(diff.getByRole('heading', { name: 'Group memberships (1 created)' })).toBeVisible();
    await expect(diff.getByRole('row', { name: /Create imported-alice in imported-team/ })).toBeVisible();

    // Nothing is applied by a preview.
    const before = await (await page.request.get(`/v1/gateways/${gw}/export`)).text();
    expect(before).not.toContain('imported-alice');

    await page.getByRole('button', { name: 'Apply 3 changes' }).click();
    const done = page.getByRole('status').filter({ hasText: 'Applied:' }).first();
    await expect(done).toContainText('1 consumer group created, 1 consumer created, 1 group membership created');
    const after = await (await page.request.get(`/v1/gateways/${gw}/export`)).text();
    expect(after).toContain('- name: imported-alice\n  groups:\n  - imported-team\n');

    await page.getByRole('link', { name: 'See it in the audit log' }).click();
    await expect(page.getByRole('row', { name: /ApplyConfiguration/ }).first()).toBeVisible();

    // The same file again: nothing to change.
    await openImport(page, gw);
    await page.getByLabel('Configuration file').setInputFiles(file(edited));
    await page.getByRole('button', { name: 'Preview changes' }).click();
    await expect(page.getByRole('heading', { name: 'No changes' })).toBeVisible();
    await expect(page.getByRole('button', { name: /^Apply/ })).toHaveCount(0);
  } finally {
    await remove(page, gw, yaml);
  }
});

test('a file with problems is refused with each at its place, and nothing is applied', async ({ page }) => {
  await signIn(page);
  const { gw, yaml } = await freshInstance(page);
  try {
    const bad = yaml + 'consumers:\n- name: orphan\n  groups:\n  - nowhere\n';
    await openImport(page, gw);
    await page.getByLabel('Configuration file').setInputFiles(file(bad));
    await page.getByRole('button', { name: 'Preview changes' }).click();
    await expect(page.getByRole('alert').filter({ hasText: 'consumers[0].groups[0]: no consumer group named "nowhere"' })).toBeVisible();
    await expect(page.getByRole('button', { name: /^Apply/ })).toHaveCount(0);
    const after = await (await page.request.get(`/v1/gateways/${gw}/export`)).text();
    expect(after).not.toContain('orphan');
  } finally {
    await remove(page, gw, yaml);
  }
});

test('a Viewer is told that importing is for Admins', async ({ page }) => {
  await signIn(page, VIEWER);
  const gw = (await (await page.request.get('/v1/gateways')).json()).data.items[0].gatewayId;
  await page.goto(`/instances/${gw}/import`);
  await expect(page.locator('body[data-hydrated]')).toBeAttached();
  await expect(page.getByRole('alert').filter({ hasText: 'importing is for Admins' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Preview changes' })).toBeDisabled();
});
