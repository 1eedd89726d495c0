import { expect, test } from '@playwright/test';
import { openSection, signIn } from './helpers';

// The console's Content-Security-Policy allows what hydration needs and nothing more: a page
// that breaks it shows up here as a violation, and hydration would not finish.
test('the console hydrates and works under its Content-Security-Policy', async ({ page }) => {
  const violations: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) violations.push(m.text());
  });
  await page.exposeFunction('reportViolation', (v: string) => violations.push(v));
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) =>
      (window as any).reportViolation(`${e.violatedDirective} ${e.blockedURI}`));
  });

  const login = await page.goto('/login');
  const csp = login!.headers()['content-security-policy'];
  expect(csp).toMatch(/script-src 'self' 'nonce-[A-Za-z0-9_-]{16,}' 'wasm-unsafe-eval'/);
  expect(login!.headers()['x-frame-options']).toBe('DENY');
  await signIn(page);
  await openSection(page, 'Keys', 'Keys');
  await page.getByRole('button', { name: 'New Key' }).click();
  const dialog = page.getByRole('dialog', { name: 'New Key' });
  await dialog.getByLabel('Key name').fill('e2e-csp-key');
  await dialog.getByRole('button', { name: 'OK' }).click();
  await expect(dialog.getByLabel('API key')).toHaveValue(/^gck_/);
  await dialog.getByRole('button', { name: 'Done' }).click();
  await expect(page.getByRole('row', { name: /e2e-csp-key/ })).toBeVisible();
  await page.goto('/instances');
  await openSection(page, 'Consumer', 'Consumer');
  await page.getByRole('link', { name: / details$/ }).first().click();
  await expect(page.getByRole('complementary', { name: 'Consumer details' })).toBeVisible();
  expect(violations).toEqual([]);
});

test('the console cannot be framed by another page', async ({ page }) => {
  // Another origin on the same machine (a public one could not frame loopback at all).
  const console = new URL(test.info().project.use.baseURL!);
  const other = `http://localhost:${console.port}/framing-page`;
  await page.route(other, (route) =>
    route.fulfill({ contentType: 'text/html', body: `<iframe id="f" src="${console.origin}/login"></iframe>` }));
  await page.goto(other);
  await expect.poll(() => page.frames().map((f) => f.url())).toContain('chrome-error://chromewebdata/');
  await expect(page.frameLocator('#f').getByLabel('Username')).toHaveCount(0);
});
