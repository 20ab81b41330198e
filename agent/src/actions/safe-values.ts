// Checks for values that come from the hub and land in an argv: never an option (leading "-"),
// never a ".." path segment, never an absolute path outside an allowlist, never a NUL byte.
import { isAbsolute, resolve, sep } from 'node:path';

export class UnsafeValue extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsafeValue';
  }
}

const MAX_VALUE_CHARS = 4096;

/** The rules every hub value passes before any other check. */
export function checkArgvValue(what: string, value: string): string {
  if (value.length === 0) throw new UnsafeValue(`${what} is empty`);
  if (value.length > MAX_VALUE_CHARS) throw new UnsafeValue(`${what} is longer than ${MAX_VALUE_CHARS} characters`);
  if (value.includes('\0')) throw new UnsafeValue(`${what} contains a NUL byte`);
  if (value.startsWith('-')) throw new UnsafeValue(`${what} must not start with "-" (it would be read as an option)`);
  if (value.split(/[\\/]/).includes('..')) throw new UnsafeValue(`${what} must not contain ".." path segments`);
  return value;
}

/** True when `path` is `dir` itself or inside it. */
export function isUnder(path: string, dir: string): boolean {
  const full = resolve(path);
  const base = resolve(dir);
  return full === base || full.startsWith(base.endsWith(sep) ? base : base + sep);
}

/** An absolute value must fall under one of `allowedDirs`; a relative one is left to the pattern. */
export function checkAbsolutePath(what: string, value: string, allowedDirs: readonly string[]): void {
  if (!isAbsolute(value)) return;
  if (!allowedDirs.some((dir) => isUnder(value, dir))) {
    throw new UnsafeValue(allowedDirs.length === 0
      ? `${what} is an absolute path, which this action does not allow`
      : `${what} is outside the allowed directories (${allowedDirs.join(', ')})`);
  }
}
