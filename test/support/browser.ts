import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import AxeBuilder from '@axe-core/playwright';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { App } from '../../src/http/app';

/** Debian's Chromium, installed by .ci/run; nothing downloaded. The flags keep it off the network. */
export const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

export interface BrowserOnApp {
  browser: Browser;
  /** http://127.0.0.1:<port> of the app served over loopback. */
  base: string;
  close(): Promise<void>;
}

/** Whether the browser checks can run here; CI installs Chromium (locally: apt-get install -y chromium). */
export function chromiumAvailable(): boolean {
  if (fs.existsSync(CHROMIUM)) return true;
  console.warn(`skipping the browser checks: ${CHROMIUM} is not installed`);
  return false;
}

/** Serves the app on a loopback port and starts a headless Chromium beside it. */
export async function browserOn(app: App): Promise<BrowserOnApp> {
  const server = http.createServer(app).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  return {
    browser,
    base,
    async close() {
      await browser.close();
      await new Promise((r) => server.close(r));
    },
  };
}

/** axe's serious and critical violations on the page, each as "id: help (targets)". */
export async function seriousViolations(page: Page): Promise<string[]> {
  return (await new AxeBuilder({ page }).analyze()).violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
}
