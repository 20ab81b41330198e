// The console under test: built afresh from console/src by Vite (so a test never sees a stale build),
// and Debian's /usr/bin/chromium driven by playwright-core (no browser is ever downloaded).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';
import type { Browser } from 'playwright-core';
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
  await promisify(execFile)(process.execPath, [vite, 'build', '--outDir', outDir, '--emptyOutDir', '--logLevel', 'warn'], { cwd: consoleDir });
  return outDir;
}

export async function launchChromium(): Promise<Browser> {
  await mkdir(OUTPUT_DIR, { recursive: true });
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
}
