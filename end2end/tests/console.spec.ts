import { expect, test } from '@playwright/test';
import { openDemoConsumers, selectByText, signIn, VIEWER, own } from './helpers';

test('unauthenticated access is redirected to sign in', async ({ page }) => {
  await page.goto('/instances');
  await expect(page).toHaveURL(/\/login\?next=%2Finstances/);
  await expect(page.getByRole('button', { name: 'Sign in' })).toBeVisible();
});

test('a wrong password is refused', async ({ page }) => {
  await page.goto('/login');
  await expect(page.locator('body[data-hydrated]')).toBeAttached();
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill('not-the-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toContainText('Wrong username or password');
  await expect(page).toHaveURL(/\/login/);
});

test('sign in, open an instance and its consumers', async ({ page }) => {
  await signIn(page);
  await expect(page.getByRole('cell', { name: 'demo-ai-gateway' })).toBeVisible();
  await openDemoConsumers(page);
  await expect(page.getByRole('cell', { name: 'partners' }).first()).toBeVisible();
});

test('create a consumer with a group and a key', async ({ page }) => {
  await signIn(page);
  await openDemoConsumers(page);
  await page.getByRole('button', { name: 'New Consumer' }).click();
  const dialog = page.getByRole('dialog', { name: 'New Consumer' });
  await expect(dialog).toBeVisible();
  await dialog.getByLabel('Consumer name').fill('reporting-app');
  await dialog.getByLabel('Consumer group').selectOption({ label: 'internal' });
  await selectByText(dialog.getByLabel('Selecting a secret'), /spare-key-1/);
  await dialog.getByLabel('Description').fill('<script>alert(1)</script>');
  await dialog.getByRole('button', { name: 'OK' }).click();
  await expect(dialog).toBeHidden();
  await expect(page.getByRole('status')).toContainText(/Consumer reporting-app created with ID cs-/);
  const row = page.getByRole('row', { name: /reporting-app/ });
  await expect(row).toContainText('internal');
  await expect(row).toContainText('<script>alert(1)</script>');
});

test('invalid names show an inline error and create nothing', async ({ page }) => {
  await signIn(page);
  await openDemoConsumers(page);
  await page.getByRole('button', { name: 'New Consumer' }).click();
  const dialog = page.getByRole('dialog', { name: 'New Consumer' });
  const name = dialog.getByLabel('Consumer name');
  const cases: [string, RegExp][] = [
    ['1app', /cannot start with a digit/],
    ['-app', /cannot start with a separator/],
    ['app_', /cannot end with a separator/],
    ['my app', /cannot contain/],
    ['a'.repeat(61), /up to 60 characters/],
  ];
  for (const [value, message] of cases) {
    await name.fill(value);
    await expect(dialog.locator('#consumer-name-error')).toHaveText(message);
    await expect(name).toHaveAttribute('aria-invalid', 'true');
  }
  await dialog.getByRole('button', { name: 'OK' }).click();
  await expect(dialog).toBeVisible();
  await expect(name).toHaveValue('a'.repeat(61));
  await page.keyboard.press('Escape');
  await expect(dialog).toBeHidden();
  await expect(page.getByRole('row', { name: /aaaaaaaa/ })).toHaveCount(0);
});

test('details open by URL; add and unbind a credential', async ({ page }) => {
  await signIn(page);
  await openDemoConsumers(page);
  await page.getByRole('link', { name: 'chat-assistant details' }).click();
  await expect(page).toHaveURL(/consumer=cs-/);
  await page.reload();
  const panel = page.getByRole('complementary', { name: 'Consumer details' });
  await expect(panel.getByRole('heading', { name: 'Basic Information' })).toBeVisible();
  await expect(page.locator('body[data-hydrated]')).toBeAttached();
  await panel.getByRole('button', { name: 'Add Credential' }).click();
  const add = page.getByRole('dialog', { name: 'Add Credential' });
  await selectByText(add.getByLabel('Key', { exact: true }), /spare-key-2/);
  await add.getByRole('button', { name: 'OK' }).click();
  await expect(add).toBeHidden();
  await expect(panel.getByRole('cell', { name: 'spare-key-2', exact: true })).toBeVisible();

  await panel.getByRole('button', { name: 'Unbind spare-key-2' }).click();
  const unbind = page.getByRole('dialog', { name: 'Unbind' });
  const ok = unbind.getByRole('button', { name: 'OK' });
  await unbind.getByLabel(/Enter the key name/).fill('spare-key');
  await expect(ok).toBeDisabled();
  await unbind.getByLabel(/Enter the key name/).fill('spare-key-2');
  await expect(ok).toBeEnabled();
  await ok.click();
  await expect(unbind).toBeHidden();
  await expect(panel.getByRole('cell', { name: 'spare-key-2', exact: true })).toHaveCount(0);
});

test('edit a consumer, and a stale edit shows a conflict and keeps the input', async ({ page, browser }) => {
  await signIn(page);
  await openDemoConsumers(page);
  const other = await browser.newPage();
  await signIn(other);
  await openDemoConsumers(other);

  await other.getByRole('button', { name: 'Edit search-frontend' }).click();
  await page.getByRole('button', { name: 'Edit search-frontend' }).click();
  const first = page.getByRole('dialog', { name: 'Edit Consumer' });
  await expect(first).toContainText('cannot be changed here');
  await first.getByLabel('Description').fill('edited first');
  await first.getByRole('button', { name: 'OK' }).click();
  await expect(first).toBeHidden();
  await expect(page.getByRole('row', { name: /search-frontend/ })).toContainText('edited first');

  const stale = other.getByRole('dialog', { name: 'Edit Consumer' });
  await stale.getByLabel('Description').fill('edited second');
  await stale.getByRole('button', { name: 'OK' }).click();
  await expect(stale.getByRole('alert')).toContainText('changed by someone else');
  await expect(stale.getByLabel('Description')).toHaveValue('edited second');
  await other.close();
});

test('delete is refused with dependencies, then resolved, rechecked and done', async ({ page }) => {
  await signIn(page);
  await openDemoConsumers(page);
  // A consumer whose only dependency is a credential, on a key of its own.
  const key = await page.request.post('/api/create_key', { headers: own(page),
    data: { input: { gatewayId: page.url().split('/')[4], name: 'delete-dep-key' } },
  });
  expect(key.status()).toBe(200);
  await page.getByRole('button', { name: 'New Consumer' }).click();
  const create = page.getByRole('dialog', { name: 'New Consumer' });
  await create.getByLabel('Consumer name').fill('short-lived');
  await selectByText(create.getByLabel('Selecting a secret'), /delete-dep-key/);
  await create.getByRole('button', { name: 'OK' }).click();
  await expect(create).toBeHidden();

  await page.getByRole('button', { name: 'Delete short-lived' }).click();
  const del = page.getByRole('dialog', { name: 'Delete Consumer' });
  await expect(del).toContainText('There are unresolved dependencies');
  await expect(del.getByRole('link', { name: 'delete-dep-key' })).toBeVisible();
  await expect(del.getByRole('button', { name: 'OK' })).toBeDisabled();

  // Resolve it in a second tab, then Recheck.
  const fix = await page.context().newPage();
  await fix.goto(page.url());
  await expect(fix.locator('body[data-hydrated]')).toBeAttached();
  await fix.getByRole('link', { name: 'short-lived details' }).click();
  await fix.getByRole('button', { name: 'Unbind delete-dep-key' }).click();
  const unbind = fix.getByRole('dialog', { name: 'Unbind' });
  await unbind.getByLabel(/Enter the key name/).fill('delete-dep-key');
  await unbind.getByRole('button', { name: 'OK' }).click();
  await expect(unbind).toBeHidden();
  await fix.close();

  await del.getByRole('button', { name: 'Recheck' }).click();
  await expect(del).toContainText('Can be safely deleted');
  await del.getByRole('button', { name: 'OK' }).click();
  await expect(del).toBeHidden();
  await expect(page.getByRole('row', { name: /short-lived/ })).toHaveCount(0);
});

test('search and paginate', async ({ page }) => {
  await signIn(page);
  await openDemoConsumers(page);
  for (let i = 0; i < 25; i++) {
    const res = await page.request.post('/api/create_consumer', { headers: own(page),
      data: { input: { gatewayId: page.url().split('/')[4], name: `bulk-${String(i).padStart(2, '0')}` } },
    });
    expect(res.status()).toBe(200);
  }
  await page.getByLabel('Search consumers by name').fill('bulk');
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  await expect(page.getByText('Total 25 items')).toBeVisible();
  await expect(page.getByRole('row', { name: /bulk-/ })).toHaveCount(10);
  await page.getByRole('link', { name: 'Next' }).click();
  await expect(page).toHaveURL(/q=bulk&page=2/);
  await expect(page.getByText('Page 2 of 3')).toBeVisible();
  await page.getByRole('link', { name: '50 per page' }).click();
  await expect(page.getByRole('row', { name: /bulk-/ })).toHaveCount(25);
  await page.reload();
  await expect(page.getByRole('row', { name: /bulk-/ })).toHaveCount(25);
});

test('a viewer sees everything and can change nothing', async ({ page }) => {
  await signIn(page, VIEWER);
  await expect(page.getByRole('button', { name: 'New instance' })).toHaveCount(0);
  await openDemoConsumers(page);
  await expect(page.getByRole('link', { name: / details$/ }).first()).toBeVisible();
  await expect(page.getByRole('button', { name: 'New Consumer' })).toHaveCount(0);
  await expect(page.getByRole('button', { name: /^Edit / })).toHaveCount(0);
  await expect(page.getByRole('button', { name: /^Delete / })).toHaveCount(0);
  const res = await page.request.post('/api/create_consumer', { headers: own(page),
    data: { input: { gatewayId: page.url().split('/')[4], name: 'viewer-made' } },
  });
  expect(res.status()).toBe(403);
  expect(await res.json()).toBe('Forbidden');
});

test('remove a consumer from a group in the details panel', async ({ page }) => {
  await signIn(page);
  await openDemoConsumers(page);
  const instanceId = page.url().split('/')[4];
  const groups = await (await page.request.post('/api/list_groups', { headers: own(page), form: { instance_id: instanceId, search: 'internal' } })).json();
  const created = await page.request.post('/api/create_consumer', { headers: own(page),
    data: { input: { gatewayId: instanceId, name: 'group-leaver', consumerGroupIds: [groups.items[0].consumerGroupId] } },
  });
  expect(created.status()).toBe(200);
  await page.goto(`/instances/${instanceId}/consumers?consumer=${(await created.json()).consumerId}`);
  await expect(page.locator('body[data-hydrated]')).toBeAttached();
  const panel = page.getByRole('complementary', { name: 'Consumer details' });
  await panel.getByRole('button', { name: 'Remove from internal' }).click();
  await expect(page.getByRole('status')).toContainText('Removed from consumer group internal');
  await expect(panel.getByRole('button', { name: 'Remove from internal' })).toHaveCount(0);
});
