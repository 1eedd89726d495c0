import { expect, test } from '@playwright/test';
import { VIEWER, expectAudited, openSection, signIn, utcInput } from './helpers';

test('register a model API, grant it, see it in the consumer details, revoke it', async ({ page }) => {
  await signIn(page);
  await openSection(page, 'Model APIs', 'Model APIs');
  await page.getByRole('button', { name: 'New model API' }).click();
  const create = page.getByRole('dialog', { name: 'New model API' });
  await create.getByLabel('API name').fill('e2e-chat');
  await create.getByLabel('Base path').fill('v1/e2e');
  await expect(create.locator('#api-base-path-error')).toContainText('must start with "/"');
  await create.getByLabel('Base path').fill('/v1/e2e');
  await create.getByLabel('Model category').selectOption('Text');
  await create.getByLabel('Environments').selectOption({ label: 'default' });
  await create.getByRole('button', { name: 'OK' }).click();
  await expect(create).toBeHidden();
  await expect(page.getByRole('row', { name: /e2e-chat/ })).toContainText('/v1/e2e');
  await page.getByRole('button', { name: 'Edit e2e-chat' }).click();
  const edit = page.getByRole('dialog', { name: 'Edit model API' });
  await expect(edit.getByLabel('Base path')).toHaveValue('/v1/e2e');
  await edit.getByLabel('Model category').selectOption('Multimodal');
  await edit.getByRole('button', { name: 'OK' }).click();
  await expect(edit).toBeHidden();
  await expect(page.getByRole('row', { name: /e2e-chat/ })).toContainText('Multimodal');

  await page.getByRole('navigation', { name: 'Instance' }).getByRole('link', { name: 'Authorization', exact: true }).click();
  await expect(page.getByRole('heading', { name: 'Authorization', exact: true })).toBeVisible();
  await page.getByRole('button', { name: 'Grant authorization' }).click();
  const grant = page.getByRole('dialog', { name: 'Grant authorization' });
  await grant.getByLabel('Find consumers by name').fill('chat-assist');
  await grant.getByRole('button', { name: 'Find consumers' }).click();
  await expect(grant.getByText('1 match.')).toBeVisible();
  await expect(grant.getByLabel('Consumer', { exact: true })).toHaveValue(/^cs-/);
  await expect(grant.getByLabel('Consumer', { exact: true }).getByRole('option')).toHaveText(['chat-assistant']);
  await grant.getByLabel('Find model APIs by name').fill('e2e');
  await grant.getByLabel('Find model APIs by name').press('Enter');
  await expect(grant).toBeVisible();
  await grant.getByLabel('Model API', { exact: true }).selectOption({ label: 'e2e-chat (/v1/e2e)' });
  await grant.getByRole('button', { name: 'OK' }).click();
  await expect(grant).toBeHidden();
  const row = page.getByRole('row', { name: /chat-assistant.*e2e-chat/ });
  await expect(row).toContainText('In effect');
  await expect(row).toContainText('LongTerm');

  await row.getByRole('link', { name: 'chat-assistant' }).click();
  const panel = page.getByRole('complementary', { name: 'Consumer details' });
  const rules = panel.getByRole('table', { name: 'Authorized model APIs' });
  await expect(rules.getByRole('row', { name: /e2e-chat/ })).toContainText('This consumer');
  await panel.getByLabel('Search by API name').fill('nothing-like-this');
  await panel.getByRole('button', { name: 'Search' }).click();
  await expect(page).toHaveURL(/rq=nothing-like-this/);
  await expect(panel.getByText('No authorization rules.')).toBeVisible();

  await page.getByRole('navigation', { name: 'Instance' }).getByRole('link', { name: 'Authorization', exact: true }).click();
  await expect(page.getByRole('heading', { name: 'Authorization', level: 1 })).toBeVisible();
  await expect(page.locator('body[data-hydrated]')).toBeAttached();
  await page.getByRole('button', { name: 'Revoke chat-assistant → e2e-chat' }).click();
  const revoke = page.getByRole('dialog', { name: 'Revoke authorization' });
  await revoke.getByRole('button', { name: 'OK' }).click();
  await expect(revoke).toBeHidden();
  await expect(page.getByRole('row', { name: /chat-assistant.*e2e-chat/ })).toHaveCount(0);

  await expectAudited(page, 'Api', 'CreateHttpApi', 'name=e2e-chat', ['UpdateHttpApi']);
  await expectAudited(page, 'AuthorizationRule', 'CreateConsumerAuthorizationRule', '', ['DeleteConsumerAuthorizationRule']);
});

test('a ShortTerm rule expires at its time, and the expiry can be edited', async ({ page }) => {
  await signIn(page);
  await openSection(page, 'Authorization', 'Authorization');
  await page.getByRole('button', { name: 'Grant authorization' }).click();
  const grant = page.getByRole('dialog', { name: 'Grant authorization' });
  await grant.getByLabel('Authorize').selectOption({ label: 'Consumer' });
  await grant.getByLabel('Consumer', { exact: true }).selectOption({ label: 'chat-assistant' });
  await grant.getByLabel('Model API', { exact: true }).selectOption({ label: 'text-embeddings (/v1/embeddings)' });
  await grant.getByLabel('Expiry mode').selectOption('ShortTerm');
  await grant.getByLabel('Expiry time (UTC)').fill(utcInput(-60_000));
  await grant.getByRole('button', { name: 'OK' }).click();
  await expect(grant.locator('#rule-expire-at-error')).toContainText('must be in the future');
  await grant.getByLabel('Expiry time (UTC)').fill(utcInput(4_000));
  await grant.getByRole('button', { name: 'OK' }).click();
  await expect(grant).toBeHidden();
  const row = page.getByRole('row', { name: /chat-assistant.*text-embeddings/ });
  await expect(row).toContainText('In effect');
  await expect(row).toContainText('ShortTerm, until');

  // The status is computed from the clock: after the expiry time the rule shows Expired.
  await expect(async () => {
    await page.reload();
    await expect(page.getByRole('row', { name: /chat-assistant.*text-embeddings/ })).toContainText('Expired', { timeout: 1_000 });
  }).toPass({ timeout: 15_000 });
  await page.getByLabel('Status').selectOption('Expired');
  await page.getByRole('search', { name: 'Filter rules' }).getByRole('button', { name: 'Search' }).click();
  await expect(page).toHaveURL(/status=Expired/);
  await expect(page.getByRole('row', { name: /text-embeddings/ })).toHaveCount(1);

  await expect(page.locator('body[data-hydrated]')).toBeAttached();
  await page.getByRole('button', { name: 'Edit expiry of chat-assistant → text-embeddings' }).click();
  const edit = page.getByRole('dialog', { name: 'Edit expiry' });
  await edit.getByLabel('Expiry mode').selectOption('LongTerm');
  await edit.getByRole('button', { name: 'OK' }).click();
  await expect(edit).toBeHidden();
  await expect(page.getByText('No authorization rules match.')).toBeVisible();
  await page.getByLabel('Status').selectOption('InEffect');
  await page.getByRole('search', { name: 'Filter rules' }).getByRole('button', { name: 'Search' }).click();
  await expect(page.getByRole('row', { name: /chat-assistant.*text-embeddings/ })).toContainText('LongTerm');
});

test('a viewer sees rules and model APIs but cannot grant, edit or revoke', async ({ page }) => {
  await signIn(page, VIEWER);
  await openSection(page, 'Authorization', 'Authorization');
  await expect(page.getByRole('row', { name: /billing-service.*qwen3-chat/ })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Grant authorization' })).toHaveCount(0);
  await expect(page.getByRole('button', { name: /^Revoke / })).toHaveCount(0);
  await page.getByRole('navigation', { name: 'Instance' }).getByRole('link', { name: 'Model APIs', exact: true }).click();
  // The page's code is fetched when it is first opened: the rules stay until it is shown.
  await expect(page.getByRole('heading', { name: 'Model APIs', exact: true })).toBeVisible();
  await expect(page.getByRole('row', { name: /qwen3-chat/ })).toBeVisible();
  await expect(page.getByRole('button', { name: 'New model API' })).toHaveCount(0);
});
