// `paths_under`: a path from the hub is resolved on disk (realpath, every symlink followed) and
// must land inside one of the allowlisted roots, themselves resolved the same way. The program is
// given the resolved path, never the hub's string, so what runs is what was checked: a symlink
// `allowed/link -> /etc` cannot smuggle `/etc/shadow` in.
//
// A path that does not exist yet (an output file) is allowed when its deepest existing ancestor
// resolves inside a root; the missing rest is appended as given (it holds no ".." and no symlink,
// since it does not exist). A dangling symlink is refused. What is not covered: someone who can
// write inside a root swapping a directory for a symlink between this check and the program's
// open(). Keep allowlisted roots writable only by the agent's own user (docs/transport.md).
import { lstat, realpath } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { UnsafeValue } from './safe-values.ts';

/** True when `path` is `dir` itself or inside it (both already resolved). */
export function isUnder(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep);
}

function code(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? 'error';
}

/** realpath of `path`, or of its deepest existing ancestor with the missing rest appended. */
async function resolveOnDisk(what: string, path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch (error) {
    if (code(error) === 'ENOTDIR') throw new UnsafeValue(`${what} goes through something that is not a directory`);
    if (code(error) === 'ELOOP') throw new UnsafeValue(`${what} goes through a symlink loop`);
    if (code(error) !== 'ENOENT') throw new UnsafeValue(`${what} cannot be resolved (${code(error)})`);
  }
  // Missing. If the name itself exists, it is a symlink pointing nowhere: refused.
  const present = await lstat(path).then(
    () => true,
    (error: unknown) => {
      if (code(error) === 'ENOENT' || code(error) === 'ENOTDIR') return false;
      throw new UnsafeValue(`${what} cannot be resolved (${code(error)})`);
    },
  );
  if (present) throw new UnsafeValue(`${what} is a symlink whose target does not exist`);
  const parent = dirname(path);
  if (parent === path) throw new UnsafeValue(`${what} cannot be resolved`);
  return join(await resolveOnDisk(what, parent), basename(path));
}

async function resolvedRoots(roots: readonly string[]): Promise<string[]> {
  const resolved = await Promise.all(roots.map((root) => realpath(root).catch(() => null)));
  return resolved.filter((root): root is string => root !== null);
}

/**
 * Checks a hub value against `paths_under` and returns the path to hand the program. Relative
 * values are taken relative to the action's cwd (refused when it has none).
 */
export async function resolveAllowedPath(what: string, value: string, roots: readonly string[], cwd: string | undefined): Promise<string> {
  if (!isAbsolute(value) && cwd === undefined) throw new UnsafeValue(`${what} must be an absolute path (this action has no cwd to resolve it against)`);
  const resolved = await resolveOnDisk(what, resolve(cwd ?? '/', value));
  const realRoots = await resolvedRoots(roots);
  if (!realRoots.some((root) => isUnder(resolved, root))) {
    throw new UnsafeValue(`${what} is outside the allowed directories (${roots.join(', ')}) once symlinks are resolved`);
  }
  return resolved;
}
