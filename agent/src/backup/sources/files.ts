// Files: roots (and excludes) as one tar stream (our ustar/pax writer, tar-pack.ts). Symlinks are stored as links and never
// followed; permissions, mtimes and unicode names are kept. A root that is itself reached through
// a symlink is refused, so a target can never silently archive something outside what it names.
import { lstatSync, readdirSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { lstat, realpath, rm, symlink } from 'node:fs/promises';
import { dirname, isAbsolute, join, matchesGlob } from 'node:path';
import type { Readable } from 'node:stream';
import type { FilesTarget } from '../config-schema.ts';
import type { BackupSource } from './source.ts';
import { TarWorkerStream } from './tar-worker-stream.ts';
import { SHA256_LIST_NAME } from '../checks/sha256-list.ts';

/** Throws unless every root exists and is its own real path (no symlink anywhere on the way). */
export async function checkRoots(roots: string[]): Promise<void> {
  for (const root of roots) {
    let real: string;
    try {
      real = await realpath(root);
    } catch (error) {
      throw new Error(`files root ${root} is not readable: ${(error as Error).message}`);
    }
    if (real !== root) throw new Error(`files root ${root} goes through a symlink to ${real}; refusing. List the real path ${real} in the config instead.`);
  }
}

function excluded(absolutePath: string, excludes: string[]): boolean {
  return excludes.some((pattern) => matchesGlob(absolutePath, pattern));
}

/**
 * Total size of regular files, for progress (lstat only: links are not followed). Synchronous
 * calls in slices of 1000 entries: ~50x faster than one thread-pool round trip per entry on trees
 * of small files, and the event loop still gets a turn between slices.
 */
async function totalBytes(roots: string[], excludes: string[]): Promise<number> {
  const pending = [...roots];
  let sum = 0;
  for (let visited = 0; pending.length > 0; visited++) {
    if (visited % 1000 === 999) await new Promise((resolve) => setImmediate(resolve));
    const path = pending.pop()!;
    if (excluded(path, excludes)) continue;
    let info: Stats;
    try {
      info = lstatSync(path);
    } catch {
      continue;
    }
    if (info.isFile()) sum += info.size;
    else if (info.isDirectory()) {
      try {
        for (const name of readdirSync(path)) pending.push(join(path, name));
      } catch {
        // unreadable directory: the archive step reports it
      }
    }
  }
  return sum;
}

export async function filesSource(target: FilesTarget): Promise<BackupSource> {
  await checkRoots(target.roots);
  const warnings: string[] = [];
  const checks: NonNullable<BackupSource['checks']> = {};
  // Paths are stored relative to "/" so that one archive can hold several roots. The worker starts
  // walking while the sizes for progress are added up here.
  const stream = new TarWorkerStream({ roots: target.roots.map((root) => root.slice(1)), excludes: target.excludes, ahead: 3 }, (outcome) => {
    checks.files = { count: outcome.files, list: SHA256_LIST_NAME };
    warnings.push(...outcome.warnings);
  });
  const bytesTotal = await totalBytes(target.roots, target.excludes);
  return {
    checks,
    stream,
    extension: 'tar',
    bytesTotal,
    toolVersions: { tar: 'tether ustar/pax' },
    warnings,
    cleanup: async () => {},
  };
}

function commonAncestor(roots: string[]): string {
  const split = roots.map((root) => root.split('/').filter(Boolean));
  const first = split[0] ?? [];
  let length = 0;
  // The ancestor of a single root is its parent, so the root directory itself is an archive entry.
  const limit = Math.min(...split.map((parts) => parts.length - 1));
  while (length < limit && split.every((parts) => parts[length] === first[length])) length++;
  return `/${first.slice(0, length).join('/')}`;
}

function insideRoots(entryPath: string, roots: string[]): boolean {
  const absolute = `/${entryPath.replace(/^\.\/?/, '').replace(/\/+$/, '')}`;
  return roots.some((root) => root === '/' || absolute === root || absolute.startsWith(`${root}/`));
}

/**
 * Extracts an archive back into the target's roots. Entries outside the roots, absolute paths and
 * `..` are refused (tar's own checks plus ours); tar never writes through a symlink.
 */
export async function filesRestore(target: FilesTarget, input: Readable): Promise<string> {
  for (const root of target.roots) {
    const exists = await lstat(root).then(
      () => true,
      () => false,
    );
    if (exists) await checkRoots([root]);
  }
  // tar refuses cwd "/" (its escape check compares against "//"), so extract relative to the
  // roots' deepest common ancestor and strip that prefix from the stored paths.
  const ancestor = commonAncestor(target.roots);
  if (ancestor === '/') throw new Error('restore needs the roots to share a parent directory other than "/"; extract this archive by hand (docs/backup.md)');
  const strip = ancestor.split('/').length - 1;
  const refused: string[] = [];
  const problems: string[] = [];
  // tar would rewrite absolute symlink targets as relative ones; those links are made afterwards.
  const absoluteLinks: Array<{ path: string; linkpath: string }> = [];
  // npm tar (extraction only) is loaded here: a backup never needs its ~85 KB of code.
  const tar = await import('tar');
  const unpack = tar.extract({
    cwd: ancestor,
    strip,
    preservePaths: false,
    strict: false,
    onwarn: (code, message) => {
      if (code !== 'TAR_ENTRY_INFO' && problems.length < 5) problems.push(`${code}: ${String(message)}`);
    },
    filter: (path, entry) => {
      if (path.replace(/^\.\//, '') === SHA256_LIST_NAME) return false; // the artifact's own sha256 list
      const inside = insideRoots(path, target.roots);
      if (!inside) {
        if (refused.length < 5) refused.push(path);
        return false;
      }
      const linkpath = 'linkpath' in entry ? entry.linkpath : undefined;
      if ('type' in entry && entry.type === 'SymbolicLink' && typeof linkpath === 'string' && isAbsolute(linkpath)) {
        absoluteLinks.push({ path: `/${path.replace(/^\.\/?/, '').replace(/\/+$/, '')}`, linkpath });
        return false;
      }
      return true;
    },
  });
  await new Promise<void>((resolve, reject) => {
    unpack.on('error', reject);
    unpack.on('close', () => resolve());
    input.on('error', (error) => {
      reject(error);
      unpack.abort?.(error);
    });
    input.pipe(unpack as unknown as NodeJS.WritableStream);
  });
  for (const link of absoluteLinks) {
    // Never create a link through a symlinked parent (the same rule tar applies to its entries).
    const parent = dirname(link.path);
    if ((await realpath(parent).catch(() => null)) !== parent) {
      problems.push(`symlink ${link.path} not restored: its parent directory is missing or is a symlink`);
      continue;
    }
    await rm(link.path, { force: true });
    await symlink(link.linkpath, link.path);
  }
  if (refused.length > 0) throw new Error(`archive holds entries outside the target's roots (not restored): ${refused.join(', ')}`);
  if (problems.length > 0) throw new Error(`restore finished with errors: ${problems.join('; ')}`);
  return target.roots.join(', ');
}
