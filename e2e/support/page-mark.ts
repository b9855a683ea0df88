import type { Page } from '@playwright/test';

/**
 * A marker in the page's JavaScript heap: a reload or a full navigation erases it, so a journey
 * that finds it still set knows what it saw arrived live.
 */
export const markPage = (page: Page) => page.evaluate(() => ((window as unknown as { __noReload: boolean }).__noReload = true));
export const stillMarked = (page: Page) => page.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload === true);
