/**
 * What global setup tells the journeys about the product it started: the URLs and keys, passed
 * through one environment variable, which Playwright's worker processes inherit from the runner.
 */
export interface E2eStackInfo {
  appUrl: string;
  apiUrl: string;
  /** The browser's key. */
  publishableKey: string;
  /**
   * The app server's secret key (it stores the gallery thumbnails it makes): for the journeys to
   * check that no script the browser loads contains it, and to put fixtures in Storage from the
   * test process. Never given to a browser (the hosted gateway refuses one sent from a browser).
   */
  secretKey: string;
  dbUrl: string;
  geminiBaseUrl: string;
}

const VARIABLE = 'JOBHEALTH_E2E_STACK';

export function publishStackInfo(info: E2eStackInfo): void {
  process.env[VARIABLE] = JSON.stringify(info);
}

export function stackInfo(): E2eStackInfo {
  const value = process.env[VARIABLE];
  if (!value) throw new Error(`${VARIABLE} is not set: run the journeys with "npx playwright test", whose global setup starts the product`);
  return JSON.parse(value) as E2eStackInfo;
}

/** JOBHEALTH_TRACE_URL_TEMPLATE for the journeys' app: a Jaeger-style trace page (never opened). */
export const TRACE_URL_TEMPLATE = 'http://127.0.0.1:16686/trace/{traceId}';
