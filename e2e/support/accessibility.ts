import AxeBuilder from '@axe-core/playwright';
import type { Page } from '@playwright/test';

/**
 * The accessibility rule: axe-core's WCAG 2.0 and 2.1 A and AA checks on every page a journey
 * visits; a violation of impact "serious" or "critical" fails the journey. Lesser impacts are
 * not ignored by choice of rule but by weight: axe grades them as inconveniences, not barriers.
 */
const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
const FAILING_IMPACTS = new Set(['serious', 'critical']);

/** One line per failing violation: rule id, impact, the elements (CSS targets) and axe's help text. */
export async function accessibilityViolations(page: Page): Promise<string[]> {
  const results = await new AxeBuilder({ page }).withTags(TAGS).analyze();
  return results.violations
    .filter((violation) => FAILING_IMPACTS.has(violation.impact ?? ''))
    .map((violation) => {
      const targets = violation.nodes.map((node) => node.target.join(' ')).join(', ');
      return `${page.url()}: ${violation.id} (${violation.impact}) at ${targets}: ${violation.help}`;
    });
}

/**
 * Pages that differ only in ids or search values are one page to axe: the same components,
 * the same markup. A journey's page is checked once per run under this key, per persona.
 */
export function pageKey(url: string): string {
  const { pathname, searchParams } = new URL(url);
  const path = pathname.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, ':id');
  const params = [...new Set(searchParams.keys())].sort();
  return params.length ? `${path}?${params.join('&')}` : path;
}
