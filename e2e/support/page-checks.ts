import { expect, type BrowserContext, type Page, type TestInfo } from '@playwright/test';
import { accessibilityViolations, pageKey } from './accessibility.ts';
import { collectConsoleErrors } from './console-errors.ts';

/** Pages already loaded afresh and checked in this worker process, by persona and page key. */
const loadedThisRun = new Set<string>();

/**
 * What every page of a journey is held to: the console rule as it happens, and axe at the end
 * of the journey. Axe runs then, not after each navigation, so it never races the journey for
 * the page. Each page still open is checked in the state the journey left it. Then every URL
 * the journey passed through (each one the main frame navigated to, the app's client-side
 * navigations included) is loaded again in the same signed-in context, once per run for pages
 * that differ only by ids or search values, and checked once it has loaded. That fresh load is
 * also where React hydrates the server's HTML, so a hydration mismatch on a page the journey
 * only reached by a client-side navigation still reaches the console rule.
 */
export class PageChecks {
  readonly consoleErrors: string[] = [];
  readonly violations: string[] = [];
  private readonly visited = new Map<BrowserContext, Set<string>>();
  private readonly watched = new WeakSet<Page>();

  constructor(private readonly testInfo: TestInfo) {}

  /** Every page the context opens, from now on. */
  watch(context: BrowserContext): void {
    this.visited.set(context, new Set());
    for (const page of context.pages()) this.watchPage(context, page);
    context.on('page', (page) => this.watchPage(context, page));
  }

  /** Axe on the context's pages; call before the context closes. `who` scopes the once-per-run key. */
  async audit(context: BrowserContext, who: string): Promise<void> {
    const key = (url: string) => `${who} ${pageKey(url)}`;
    for (const page of context.pages()) {
      if (page.isClosed() || !page.url().startsWith('http')) continue;
      await this.check(page, key(page.url()), 'as the journey left it');
    }
    for (const url of [...(this.visited.get(context) ?? [])]) {
      const wanted = key(url);
      if (loadedThisRun.has(wanted)) continue;
      loadedThisRun.add(wanted);
      const page = await context.newPage();
      await page.goto(url);
      // Loaded: every placeholder (the app's loading skeletons) has given way to the content.
      // Not "network idle": a live page keeps its Realtime socket and refreshes open.
      await expect(page.locator('.skeleton'), `${url} finishes loading`).toHaveCount(0);
      // A URL that only redirected (the sign-in form's next page) may land on one already checked.
      const landed = key(page.url());
      if (landed === wanted || !loadedThisRun.has(landed)) {
        loadedThisRun.add(landed);
        await this.check(page, landed, 'loaded again');
      }
      await page.close();
    }
  }

  private async check(page: Page, key: string, how: string) {
    this.violations.push(...(await accessibilityViolations(page)));
    // The report lists what axe saw for each journey.
    this.testInfo.annotations.push({ type: 'axe', description: `${key} (${how})` });
  }

  private watchPage(context: BrowserContext, page: Page) {
    if (this.watched.has(page)) return;
    this.watched.add(page);
    collectConsoleErrors(page, this.consoleErrors);
    page.on('framenavigated', (frame) => {
      if (frame === page.mainFrame() && frame.url().startsWith('http')) this.visited.get(context)?.add(frame.url());
    });
  }
}
