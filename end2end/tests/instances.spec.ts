import { expect, test } from '@playwright/test';
import { expectAudited, signIn, VIEWER } from './helpers';

test('an instance is registered, edited, refused deletion while it holds things, and deleted by typing its name', async ({ page }) => {
  await signIn(page);
  await page.getByRole('button', { name: 'New instance' }).click();
  const create = page.getByRole('dialog', { name: 'New instance' });
  await create.getByLabel('Instance name').fill('e2e-edge');
  await create.getByLabel('Region').fill('eu-west-1');
  await create.getByRole('button', { name: 'OK' }).click();
  await expect(create).toBeHidden();
  await page.getByRole('row', { name: /e2e-edge/ }).getByRole('link').click();
  await expect(page.getByRole('heading', { name: 'Basic information' })).toBeVisible();
  await expect(page.locator('body[data-hydrated]')).toBeAttached();

  await page.getByRole('button', { name: 'Edit instance' }).click();
  const edit = page.getByRole('dialog', { name: 'Edit instance' });
  await expect(edit).toContainText('The region (eu-west-1) does not change.');
  await edit.getByLabel('Instance name').fill('e2e edge');
  await expect(edit.locator('#edit-instance-name-error')).not.toBeEmpty();
  await edit.getByLabel('Instance name').fill('e2e-edge-2');
  await edit.getByLabel('Engine version').fill('3.0.0');
  await edit.getByRole('button', { name: 'OK' }).click();
  await expect(edit).toBeHidden();
  const facts = page.locator('dl.facts');
  await expect(facts).toContainText('e2e-edge-2');
  await expect(facts).toContainText('3.0.0');

  // A consumer in it keeps it from being deleted.
  await page.getByRole('navigation', { name: 'Instance' }).getByRole('link', { name: 'Consumer', exact: true }).click();
  await expect(page.locator('body[data-hydrated]')).toBeAttached();
  await page.getByRole('button', { name: 'New Consumer' }).click();
  const nc = page.getByRole('dialog', { name: 'New Consumer' });
  await nc.getByLabel('Consumer name').fill('e2e-holder');
  await nc.getByRole('button', { name: 'OK' }).click();
  await expect(nc).toBeHidden();
  await page.getByRole('navigation', { name: 'Instance' }).getByRole('link', { name: 'Basic information' }).click();
  await expect(page.locator('body[data-hydrated]')).toBeAttached();
  await page.getByRole('button', { name: 'Delete instance' }).click();
  const del = page.getByRole('dialog', { name: 'Delete instance' });
  await expect(del.getByText('There are unresolved dependencies')).toBeVisible();
  await del.getByLabel('Enter the instance name "e2e-edge-2" to confirm').fill('e2e-edge-2');
  await expect(del.getByRole('button', { name: 'OK' })).toBeDisabled();
  await del.getByRole('link', { name: 'e2e-holder' }).click();
  await expect(page.getByRole('complementary', { name: 'Consumer details' })).toContainText('e2e-holder');
  await expect(page.locator('body[data-hydrated]')).toBeAttached();
  await page.getByRole('button', { name: 'Delete e2e-holder' }).click();
  const dc = page.getByRole('dialog', { name: 'Delete Consumer' });
  await dc.getByRole('button', { name: 'OK' }).click();
  await expect(dc).toBeHidden();

  await page.getByRole('navigation', { name: 'Instance' }).getByRole('link', { name: 'Basic information' }).click();
  await expect(page.locator('body[data-hydrated]')).toBeAttached();
  await page.getByRole('button', { name: 'Delete instance' }).click();
  await expect(del.getByText('Can be safely deleted')).toBeVisible();
  await expect(del.getByRole('button', { name: 'OK' })).toBeDisabled();
  await del.getByLabel('Enter the instance name "e2e-edge-2" to confirm').fill('e2e-edge');
  await expect(del.getByRole('button', { name: 'OK' })).toBeDisabled();
  await del.getByLabel('Enter the instance name "e2e-edge-2" to confirm').fill('e2e-edge-2');
  await del.getByRole('button', { name: 'OK' }).click();
  await expect(page.getByRole('heading', { name: 'Instance list' })).toBeVisible();
  await expect(page.getByRole('row', { name: /e2e-edge/ })).toHaveCount(0);

  await expectAudited(page, 'Gateway', 'CreateGateway', 'name=e2e-edge', ['UpdateGateway', 'DeleteGateway']);
});

test('a Viewer sees an instance without Edit or Delete', async ({ page }) => {
  await signIn(page, VIEWER);
  await page.getByRole('link', { name: /^gw-/ }).first().click();
  await expect(page.getByRole('heading', { name: 'Basic information' })).toBeVisible();
  await expect(page.locator('body[data-hydrated]')).toBeAttached();
  await expect(page.getByRole('button', { name: 'Edit instance' })).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Delete instance' })).toHaveCount(0);
});

test('the instance page is an overview: counts, today, quotas near their limit, the snapshot, and a proxy configuration to copy', async ({ page, context }) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  await signIn(page);
  await page.getByRole('link', { name: /^gw-/ }).first().click();
  await expect(page.getByRole('heading', { name: 'Basic information' })).toBeVisible();
  await expect(page.locator('body[data-hydrated]')).toBeAttached();
  const gw = page.url().match(/\/instances\/(gw-[a-z0-9]+)/)![1];

  const holds = page.getByRole('region', { name: 'What it holds' });
  await expect(holds.getByRole('link', { name: /^Consumers: \d/ })).toBeVisible();
  await holds.getByRole('link', { name: /^Model APIs: \d/ }).click();
  await expect(page.getByRole('heading', { name: 'Model APIs', exact: true })).toBeVisible();
  await page.goBack();

  const today = page.getByRole('region', { name: 'Today' });
  const chart = today.getByRole('img', { name: /^Requests today \(UTC, since midnight\): [\d,]+ allowed, [\d,]+ refused\.$/ });
  await expect.poll(() => chart.evaluate((i: HTMLImageElement) => i.complete && i.naturalWidth)).toBe(760);
  await expect(page.getByRole('region', { name: 'Quotas near their limit' })).toBeVisible();
  await expect(page.getByRole('region', { name: 'Enforcement snapshot' })).toContainText(/revision \d+|not loaded/);

  const connect = page.getByRole('region', { name: 'Connect a proxy' });
  const nginx = connect.getByLabel('nginx configuration', { exact: true });
  await expect(nginx).toContainText(`proxy_set_header X-Gateway-Id "${gw}";`);
  await expect(nginx).toContainText(`upstream console { server ${new URL(page.url()).host}; keepalive 64; }`);
  await connect.getByRole('button', { name: 'Copy the nginx configuration' }).click();
  await expect(connect.getByRole('button', { name: 'Copy the nginx configuration' })).toHaveText('Copied');
  expect(await page.evaluate(() => navigator.clipboard.readText())).toContain(`X-Gateway-Id "${gw}"`);
  await expect(connect.getByLabel('Envoy configuration', { exact: true })).toContainText(`CONSOLE_AUTHZ_GATEWAY_ID=${gw}`);
});
