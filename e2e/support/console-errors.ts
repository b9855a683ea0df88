import type { ConsoleMessage, Page } from '@playwright/test';

/**
 * The console rule. A journey fails when a page it visits reports, at any moment:
 * - an uncaught exception or unhandled promise rejection (`pageerror`);
 * - any `console.error` from the page's own scripts. In development that is where React puts
 *   hydration mismatches ("A tree hydrated but some attributes…", "Hydration failed…", "did not
 *   match"), missing or duplicate keys, invalid DOM nesting and its other "Warning:"/"Error:"
 *   reports, and where Next.js and our code report failures. None of them is expected in a
 *   passing journey, so none is filtered by wording.
 * One kind of line is not counted: Chromium's own network log for an answer with a 4xx status
 * ("Failed to load resource: the server responded with a status of 404 (Not Found)"). The
 * browser writes it, not a script, for every expected refusal: the 404 an end user gets at
 * /admin, another user's job. The journeys assert those statuses themselves; a 5xx still counts.
 */
const EXPECTED_NETWORK_REFUSAL = /^Failed to load resource: the server responded with a status of 4\d\d\b/;

export function countsAsError(message: ConsoleMessage): boolean {
  return message.type() === 'error' && !EXPECTED_NETWORK_REFUSAL.test(message.text());
}

/** Records what breaks the rule on `page`, as "<page url>: <message>", into `out`. */
export function collectConsoleErrors(page: Page, out: string[]): void {
  page.on('console', (message) => {
    if (countsAsError(message)) out.push(`${page.url()}: console.error: ${message.text()}`);
  });
  page.on('pageerror', (error) => out.push(`${page.url()}: uncaught ${error.name}: ${error.message}`));
}
