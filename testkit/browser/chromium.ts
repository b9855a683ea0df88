import chromium from '@sparticuz/chromium';
import { chromium as playwright, type Browser, type LaunchOptions } from 'playwright-core';

/**
 * Headless Chromium from the npm package (nothing downloads a browser). The package's defaults
 * target one-shot serverless runs; --single-process makes closing one browser context take the
 * whole browser down, and each journey (and each benchmark load) has its own. The other flags
 * keep the browser from reaching out to the network for updates and first-run pages.
 */
export async function chromiumLaunchOptions(): Promise<LaunchOptions> {
  return {
    executablePath: await chromium.executablePath(),
    args: [
      ...chromium.args.filter((arg) => arg !== '--single-process'),
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
    headless: true,
  };
}

export async function launchChromium(): Promise<Browser> {
  return playwright.launch(await chromiumLaunchOptions());
}
