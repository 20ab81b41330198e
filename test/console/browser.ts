// The console under test: built afresh from console/src by Vite (so a test never sees a stale build),
// and Debian's /usr/bin/chromium driven by playwright-core (no browser is ever downloaded).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { REPO_ROOT } from '../helpers/process.ts';
import { requireServices } from '../helpers/services.ts';

export const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

/** Screenshots and other artifacts of the browser tests: <repo>/test-output/console/. */
export const OUTPUT_DIR = join(REPO_ROOT, 'test-output', 'console');

/** Why the browser tests cannot run here (they skip, or fail under TETHER_REQUIRE_SERVICES=1). */
export function chromiumProblem(): string | undefined {
  if (existsSync(CHROMIUM)) return undefined;
  const problem = `${CHROMIUM} is missing: install the Debian package chromium`;
  if (requireServices()) throw new Error(`${problem} (TETHER_REQUIRE_SERVICES=1 says the browser tests must run)`);
  process.stderr.write(`SKIP: ${problem}\n`);
  return problem;
}

export async function buildConsole(outDir: string): Promise<string> {
  const consoleDir = join(REPO_ROOT, 'console');
  const vite = join(dirname(createRequire(join(consoleDir, 'package.json')).resolve('vite/package.json')), 'bin', 'vite.js');
  // Each test builds into its own directory, so Vite's one-build-per-project lock does not apply.
  await promisify(execFile)(process.execPath, [vite, 'build', '--outDir', outDir, '--emptyOutDir', '--bypass-lock', '--logLevel', 'warn'], { cwd: consoleDir });
  return outDir;
}

export async function launchChromium(): Promise<Browser> {
  await mkdir(OUTPUT_DIR, { recursive: true });
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
}

/** A page that records CSP violations and page errors, so a test can assert there were none. */
export async function openPage(browser: Browser, url: string): Promise<{ page: Page; problems: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 760 } });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error' && /Content Security Policy|Refused to/i.test(message.text())) problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  await page.goto(url);
  return { page, problems };
}

/** With the admin token (the form opens on operator accounts). */
export async function signIn(page: Page, token: string): Promise<void> {
  await page.check('input[name="method"][value="token"]');
  await page.fill('input[name="token"]', token);
  await page.click('button[type="submit"]');
}

export async function signInAsOperator(page: Page, operator: string, password: string): Promise<void> {
  await page.check('input[name="method"][value="operator"]');
  await page.fill('input[name="operator"]', operator);
  await page.fill('input[name="password"]', password);
  await page.click('button[type="submit"]');
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(OUTPUT_DIR, `${name}.png`), fullPage: true });
}
