import { expect, test } from '@playwright/test';
import { signIn } from './helpers';

test.use({ timezoneId: 'Asia/Kolkata' });

test('times show in the browser\'s time zone, with the UTC value kept in the markup', async ({ page }) => {
  await signIn(page);
  const created = page.getByRole('row', { name: /^gw-/ }).first().locator('time');
  await expect(created).toContainText('UTC+05:30');
  const shown = (await created.innerText()).replace(' UTC+05:30', '');
  const datetime = (await created.getAttribute('datetime'))!;
  expect(new Date(`${shown.replace(' ', 'T')}+05:30`).toISOString().slice(0, 19)).toBe(datetime.slice(0, 19));
  expect(await created.getAttribute('title')).toBe(`${datetime.slice(0, 19).replace('T', ' ')} UTC`);
});
