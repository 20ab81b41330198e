// Restore test for files: the archive is extracted into the scratch directory, then every file is
// hashed and compared with the sha256 list the archive carries (written at backup time, its last
// entry): a changed, missing or extra file is a problem.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseSha256List, SHA256_LIST_NAME } from '../checks/sha256-list.ts';
import type { CheckOutcome } from './outcome.ts';
import { message } from './outcome.ts';

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

/** Regular files under `dir`, as archive names (relative, "/"-separated). */
async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => relative(dir, join(entry.parentPath, entry.name)));
}

const MAX_LISTED = 20;

export async function testFilesRestore(options: { scratchDir: string; dump: () => Readable; expectedCount: number | undefined; outcome: CheckOutcome; signal: AbortSignal }): Promise<void> {
  const { outcome, scratchDir } = options;
  const warnings: string[] = [];
  try {
    const tar = await import('tar'); // loaded when a restore test runs, not with every backup
    await pipeline(
      options.dump(),
      tar.extract({ cwd: scratchDir, preservePaths: false, strict: true, onwarn: (code, text) => warnings.push(`${code}: ${String(text)}`) }) as unknown as NodeJS.WritableStream,
      { signal: options.signal },
    );
  } catch (error) {
    outcome.problems.push(`extracting the archive failed: ${message(error)}`);
    return;
  }
  if (warnings.length > 0) outcome.problems.push(`extracting the archive: ${warnings.slice(0, 5).join('; ')}`);
  let expected: Map<string, string>;
  try {
    expected = parseSha256List(await readFile(join(scratchDir, SHA256_LIST_NAME), 'utf8'));
  } catch (error) {
    outcome.problems.push(
      options.expectedCount === undefined
        ? `the archive has no ${SHA256_LIST_NAME} (made by an agent older than restore tests), so its files cannot be compared`
        : `the archive's ${SHA256_LIST_NAME} is missing or unreadable: ${message(error)}`,
    );
    return;
  }
  outcome.checked.push('extracted into a scratch directory');
  if (options.expectedCount !== undefined && expected.size !== options.expectedCount) {
    outcome.problems.push(`${SHA256_LIST_NAME} lists ${expected.size} files, the manifest says ${options.expectedCount}`);
  }
  const changed: string[] = [];
  const missing: string[] = [];
  const present = new Set((await listFiles(scratchDir)).filter((name) => name !== SHA256_LIST_NAME));
  for (const [name, sha256] of expected) {
    if (!present.has(name)) {
      missing.push(name);
      continue;
    }
    present.delete(name);
    if ((await sha256Of(join(scratchDir, name))) !== sha256) changed.push(name);
  }
  const extra = [...present];
  const show = (names: string[]) =>
    `${names
      .slice(0, MAX_LISTED)
      .map((name) => `/${name}`)
      .join(', ')}${names.length > MAX_LISTED ? ` and ${names.length - MAX_LISTED} more` : ''}`;
  if (changed.length > 0) outcome.problems.push(`${changed.length} file${changed.length === 1 ? '' : 's'} differ from the sha256 recorded at backup time: ${show(changed)}`);
  if (missing.length > 0) outcome.problems.push(`${missing.length} listed file${missing.length === 1 ? ' is' : 's are'} missing from the archive: ${show(missing)}`);
  if (extra.length > 0) outcome.problems.push(`${extra.length} file${extra.length === 1 ? '' : 's'} in the archive ${extra.length === 1 ? 'is' : 'are'} not in its sha256 list: ${show(extra)}`);
  if (changed.length + missing.length + extra.length === 0) outcome.checked.push(`sha256 of all ${expected.size} files match the list made at backup time`);
}
