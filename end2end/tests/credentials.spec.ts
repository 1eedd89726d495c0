import { expect, test } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expectAudited, openDemoConsumers, signIn } from './helpers';

test('an HMAC credential: added with its secret shown once, disabled, enabled, rotated, removed by typing its name', async ({ page }) => {
  await signIn(page);
  await openDemoConsumers(page);
  await page.getByRole('button', { name: 'New Consumer' }).click();
  const create = page.getByRole('dialog', { name: 'New Consumer' });
  await create.getByLabel('Consumer name').fill('e2e-signer');
  await create.getByRole('button', { name: 'OK' }).click();
  await expect(create).toBeHidden();
  await page.getByRole('link', { name: 'e2e-signer details' }).click();
  const panel = page.getByRole('complementary', { name: 'Consumer details' });
  await expect(panel.getByText('Authentication Method: none yet')).toBeVisible();

  await panel.getByRole('button', { name: 'Add Credential' }).click();
  const add = page.getByRole('dialog', { name: 'Add Credential' });
  await add.getByLabel('Authentication method').selectOption({ label: 'HMAC (AK/SK)' });
  // Inline checks from the domain's rules, before anything is sent.
  await add.getByLabel('Credential name').fill('e2e-signing');
  await add.getByLabel(/Clock skew in seconds/).fill('301');
  await add.getByRole('button', { name: 'OK' }).click();
  await expect(add.locator('#credential-skew-error')).toContainText('300');
  await add.getByLabel(/Clock skew in seconds/).fill('60');
  await add.getByLabel('Signature algorithm').selectOption('hmac-sha512');
  await add.getByRole('button', { name: 'OK' }).click();
  const accessKey = await add.getByLabel('Access key ID').inputValue();
  const secret = await add.getByLabel('Secret key').inputValue();
  expect(accessKey).toMatch(/^gcak_[A-Za-z0-9]{20}$/);
  expect(secret).toMatch(/^gcsk_[A-Za-z0-9]{40}$/);
  await expect(add).toContainText('encrypted and never shows it again');
  await add.getByRole('button', { name: 'Done' }).click();
  await expect(add).toBeHidden();

  const row = panel.getByRole('row', { name: /e2e-signing/ });
  await expect(row).toContainText('HMAC (AK/SK)');
  await expect(row).toContainText(accessKey);
  await expect(row).toContainText('Enabled');
  await expect(panel.getByText('Authentication Method: HMAC (AK/SK)')).toBeVisible();
  // The consumer list counts it among the consumer's credentials.
  await expect(page.getByRole('row', { name: /e2e-signer/ }).first().getByRole('cell').nth(2)).toHaveText('1');
  await page.reload();
  expect(await page.content()).not.toContain(secret);
  await expect(page.locator('body[data-hydrated]')).toBeAttached();

  await panel.getByRole('button', { name: 'Disable e2e-signing' }).click();
  await expect(row).toContainText('Disabled');
  await panel.getByRole('button', { name: 'Enable e2e-signing' }).click();
  await expect(row).toContainText('Enabled');

  await panel.getByRole('button', { name: 'Rotate e2e-signing' }).click();
  const rotate = page.getByRole('dialog', { name: 'Rotate Credential' });
  await rotate.getByLabel('The old secret keeps working for').selectOption({ label: '1 hour' });
  await rotate.getByRole('button', { name: 'OK' }).click();
  const rotated = await rotate.getByLabel('New secret key').inputValue();
  expect(rotated).toMatch(/^gcsk_[A-Za-z0-9]{40}$/);
  expect(rotated).not.toBe(secret);
  await rotate.getByRole('button', { name: 'Done' }).click();
  await expect(rotate).toBeHidden();
  await expect(row).toContainText(accessKey);

  await panel.getByRole('button', { name: 'Remove e2e-signing' }).click();
  const remove = page.getByRole('dialog', { name: 'Remove Credential' });
  const ok = remove.getByRole('button', { name: 'OK' });
  await remove.getByLabel(/Enter the credential name/).fill('e2e-sign');
  await expect(ok).toBeDisabled();
  await remove.getByLabel(/Enter the credential name/).fill('e2e-signing');
  await expect(ok).toBeEnabled();
  await ok.click();
  await expect(remove).toBeHidden();
  await expect(panel.getByRole('row', { name: /e2e-signing/ })).toHaveCount(0);

  await expectAudited(page, 'Credential', 'CreateCredential', 'name=e2e-signing', ['UpdateCredential', 'RotateCredential', 'DeleteCredential']);
});

test('a JWT credential: a public key with inline checks, a generated secret shown once and rotated, a JWKS URL', async ({ page }) => {
  const publicKey = readFileSync(join(__dirname, '..', '..', 'tests', 'fixtures', 'jwt', 'es256-public.pem'), 'utf8');
  await signIn(page);
  await openDemoConsumers(page);
  await page.getByRole('button', { name: 'New Consumer' }).click();
  const create = page.getByRole('dialog', { name: 'New Consumer' });
  await create.getByLabel('Consumer name').fill('e2e-token-holder');
  await create.getByRole('button', { name: 'OK' }).click();
  await expect(create).toBeHidden();
  await page.getByRole('link', { name: 'e2e-token-holder details' }).click();
  const panel = page.getByRole('complementary', { name: 'Consumer details' });

  await panel.getByRole('button', { name: 'Add Credential' }).click();
  const add = page.getByRole('dialog', { name: 'Add Credential' });
  await add.getByLabel('Authentication method').selectOption({ label: 'JWT' });
  await add.getByLabel('Credential name').fill('e2e-idp');
  await add.getByLabel('Issuer (iss)').fill('https://idp.example');
  await add.getByLabel('Consumer claim (default sub)').fill('client id');
  await add.getByLabel('Token algorithm').selectOption('ES256');
  await add.getByLabel('Public key').fill(publicKey);
  await add.getByRole('button', { name: 'OK' }).click();
  await expect(add.locator('#jwt-claim-error')).toContainText('claim name');
  await add.getByLabel('Consumer claim (default sub)').fill('');
  await add.getByLabel('Clock skew in seconds (0–300, default 60)').fill('301');
  await expect(add.locator('#jwt-skew-error')).toContainText('300');
  await add.getByLabel('Clock skew in seconds (0–300, default 60)').fill('30');
  await add.getByRole('button', { name: 'OK' }).click();
  await expect(add).toBeHidden();
  const idp = panel.getByRole('row', { name: /e2e-idp/ });
  await expect(idp).toContainText('JWT');
  await expect(idp).toContainText('https://idp.example');
  await expect(panel.getByRole('button', { name: 'Rotate e2e-idp' })).toHaveCount(0);

  await panel.getByRole('button', { name: 'Add Credential' }).click();
  await add.getByLabel('Authentication method').selectOption({ label: 'JWT' });
  await add.getByLabel('Credential name').fill('e2e-hs256');
  await add.getByLabel('Issuer (iss)').fill('https://tokens.example');
  await add.getByLabel('Verification key').selectOption({ label: 'Generated secret (HS256)' });
  await expect(add.getByLabel('Public key')).toHaveCount(0);
  await add.getByRole('button', { name: 'OK' }).click();
  const secret = await add.getByLabel('Token secret (HS256)').inputValue();
  expect(secret).toMatch(/^gcjs_[A-Za-z0-9]{40}$/);
  await add.getByRole('button', { name: 'Done' }).click();
  await expect(add).toBeHidden();
  await expect(panel.getByText('Authentication Method: JWT')).toBeVisible();

  await panel.getByRole('button', { name: 'Rotate e2e-hs256' }).click();
  const rotate = page.getByRole('dialog', { name: 'Rotate Credential' });
  await rotate.getByRole('button', { name: 'OK' }).click();
  const rotated = await rotate.getByLabel('New secret key').inputValue();
  expect(rotated).toMatch(/^gcjs_[A-Za-z0-9]{40}$/);
  expect(rotated).not.toBe(secret);
  await rotate.getByRole('button', { name: 'Done' }).click();

  // A JWKS URL: checked inline (https://, or http:// to this machine only), then added.
  await panel.getByRole('button', { name: 'Add Credential' }).click();
  await add.getByLabel('Authentication method').selectOption({ label: 'JWT' });
  await add.getByLabel('Credential name').fill('e2e-jwks');
  await add.getByLabel('Issuer (iss)').fill('https://login.example');
  await add.getByLabel('Verification key').selectOption({ label: 'JWKS URL (fetched and refreshed)' });
  await expect(add.getByLabel('Public key')).toHaveCount(0);
  await add.getByRole('textbox', { name: 'JWKS URL', exact: true }).fill('http://login.example/jwks');
  await expect(add.locator('#jwt-jwks-url-error')).toContainText('https://');
  await add.getByRole('textbox', { name: 'JWKS URL', exact: true }).fill('https://login.example/.well-known/jwks.json');
  await add.getByLabel(/JWKS refresh interval/).fill('30');
  await expect(add.locator('#jwt-jwks-refresh-error')).toContainText('60');
  await add.getByLabel(/JWKS refresh interval/).fill('600');
  await add.getByLabel('Token algorithm').selectOption('RS256');
  await add.getByRole('button', { name: 'OK' }).click();
  await expect(add).toBeHidden();
  const jwksRow = panel.getByRole('row', { name: /e2e-jwks/ });
  await expect(jwksRow).toContainText('JWT');
  await expect(jwksRow).toContainText('https://login.example');

  for (const name of ['e2e-idp', 'e2e-hs256', 'e2e-jwks']) {
    await panel.getByRole('button', { name: `Remove ${name}` }).click();
    const remove = page.getByRole('dialog', { name: 'Remove Credential' });
    await remove.getByLabel(/Enter the credential name/).fill(name);
    await remove.getByRole('button', { name: 'OK' }).click();
    await expect(remove).toBeHidden();
    await expect(panel.getByRole('row', { name: new RegExp(name) })).toHaveCount(0);
  }
});
