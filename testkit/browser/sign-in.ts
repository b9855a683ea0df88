import type { Page } from 'playwright-core';
import { DEMO_PASSWORD, DEMO_USERS } from '../demo-users.ts';

/** Signs a demo account in through the real form and waits for the landing page of its role. */
export async function signIn(page: Page, appUrl: string, user: keyof typeof DEMO_USERS, landing: string): Promise<void> {
  await page.goto(`${appUrl}/sign-in`);
  await page.getByLabel('Email').fill(DEMO_USERS[user].email);
  await page.getByLabel('Password').fill(DEMO_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${appUrl}${landing}`);
}
