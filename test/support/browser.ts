import { existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

/**
 * A real browser for the console and widget tests: Debian's `chromium` package driven by
 * playwright-core, which never downloads a browser of its own (`.ci/run` installs the package).
 */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Kept by the run (gitignored) so that anyone can look at what the tests saw. */
export const SCREENSHOT_DIR = fileURLToPath(new URL('../../test-results/screenshots/', import.meta.url));

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`no Chromium at ${CHROMIUM_PATH}: install Debian's package (apt-get install -y chromium) or set CHROMIUM_PATH`);
  }
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true });
}

export async function screenshot(page: Page, name: string): Promise<string> {
  const path = `${SCREENSHOT_DIR}${name}.png`;
  await page.screenshot({ path, fullPage: true });
  return path;
}

/**
 * What a page did that a test must see: errors it logged or threw (a Content-Security-Policy
 * violation is logged as one), and the origins it sent requests to. A refused API call is logged by
 * Chromium as "Failed to load resource": an answer the page handles, kept apart.
 */
export interface PageWatch {
  errors: string[];
  refusedLoads: string[];
  origins: Set<string>;
}

export function watchPage(page: Page): PageWatch {
  const watch: PageWatch = { errors: [], refusedLoads: [], origins: new Set() };
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    (message.text().startsWith('Failed to load resource') ? watch.refusedLoads : watch.errors).push(message.text());
  });
  page.on('pageerror', (error) => watch.errors.push(error.message));
  page.on('request', (request) => {
    if (!request.url().startsWith('data:')) watch.origins.add(new URL(request.url()).origin);
  });
  return watch;
}

/** A product's own web server, on another port (so another origin) than the API: it serves the pages a test puts in `pages`. */
export interface HostSite {
  origin: string;
  pages: Map<string, string>;
  close: () => Promise<void>;
}

export async function startHostSite(): Promise<HostSite> {
  const pages = new Map<string, string>();
  const server = createServer((request, response) => {
    const page = pages.get(new URL(request.url ?? '/', 'http://host').pathname);
    if (page === undefined) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(page);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    pages,
    close: () =>
      new Promise((resolve, reject) => {
        server.close((error) => {
          if (error) reject(error);
          else resolve();
        });
      }),
  };
}

/** Text as an HTML attribute value. */
export const attribute = (value: string): string => value.replaceAll('&', '&amp;').replaceAll('"', '&quot;').replaceAll('<', '&lt;');
