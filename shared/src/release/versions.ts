// Strict semver 2.0.0 parsing and precedence, written by hand: the supervisor loads this file and
// cannot afford the npm semver package (memory budget). No imports.

export interface ParsedVersion {
  major: number;
  minor: number;
  patch: number;
  /** Pre-release identifiers: numbers for numeric ones, strings otherwise. Empty for a release. */
  prerelease: Array<string | number>;
  /** Build metadata identifiers; ignored for precedence. */
  build: string[];
}

const NUMERIC = /^(0|[1-9]\d*)$/;
const IDENTIFIER = /^[0-9A-Za-z-]+$/;
const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z.-]+))?(?:\+([0-9A-Za-z.-]+))?$/;
/** Versions also name directories on disk; nobody needs a longer one. */
const MAX_LENGTH = 128;

/** Parses a strict semver string ("1.2.3", "1.2.3-rc.1+build.5"); null when it is not one. */
export function parseVersion(text: string): ParsedVersion | null {
  if (typeof text !== 'string' || text.length > MAX_LENGTH) return null;
  const match = SEMVER.exec(text);
  if (!match) return null;
  const [, major, minor, patch, pre, build] = match;
  const numbers = [major, minor, patch].map(Number);
  if (numbers.some((n) => !Number.isSafeInteger(n))) return null;
  const prerelease: Array<string | number> = [];
  if (pre !== undefined) {
    for (const part of pre.split('.')) {
      if (!IDENTIFIER.test(part)) return null;
      if (/^\d+$/.test(part)) {
        if (!NUMERIC.test(part)) return null; // no leading zeros in numeric identifiers
        const value = Number(part);
        if (!Number.isSafeInteger(value)) return null;
        prerelease.push(value);
      } else {
        prerelease.push(part);
      }
    }
  }
  const buildParts = build === undefined ? [] : build.split('.');
  if (buildParts.some((part) => !IDENTIFIER.test(part))) return null;
  return { major: numbers[0]!, minor: numbers[1]!, patch: numbers[2]!, prerelease, build: buildParts };
}

export function isValidVersion(text: string): boolean {
  return parseVersion(text) !== null;
}

function mustParse(text: string): ParsedVersion {
  const parsed = parseVersion(text);
  if (!parsed) throw new Error(`"${String(text).slice(0, 80)}" is not a semver version (expected MAJOR.MINOR.PATCH, e.g. 1.4.0)`);
  return parsed;
}

function compareIdentifiers(a: string | number, b: string | number): number {
  if (typeof a === 'number' && typeof b === 'number') return Math.sign(a - b);
  if (typeof a === 'number') return -1; // numeric identifiers sort before alphanumeric ones
  if (typeof b === 'number') return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Semver precedence: -1 if a < b, 0 if equal (build metadata ignored), 1 if a > b. Throws on invalid input. */
export function compareVersions(a: string, b: string): -1 | 0 | 1 {
  const left = mustParse(a);
  const right = mustParse(b);
  for (const key of ['major', 'minor', 'patch'] as const) {
    if (left[key] !== right[key]) return left[key] < right[key] ? -1 : 1;
  }
  // A version without pre-release outranks the same version with one.
  if (left.prerelease.length === 0 || right.prerelease.length === 0) {
    if (left.prerelease.length === right.prerelease.length) return 0;
    return left.prerelease.length === 0 ? 1 : -1;
  }
  const length = Math.max(left.prerelease.length, right.prerelease.length);
  for (let i = 0; i < length; i++) {
    const x = left.prerelease[i];
    const y = right.prerelease[i];
    if (x === undefined) return -1; // a shorter set of identifiers has lower precedence
    if (y === undefined) return 1;
    const order = compareIdentifiers(x, y);
    if (order !== 0) return order < 0 ? -1 : 1;
  }
  return 0;
}

/** True when moving from `current` to `candidate` goes back in version (a downgrade needs an explicit version). */
export function isDowngrade(current: string, candidate: string): boolean {
  return compareVersions(candidate, current) < 0;
}

/** Valid versions sorted oldest first; invalid strings are dropped. */
export function sortVersions(versions: Iterable<string>): string[] {
  return [...versions].filter(isValidVersion).sort(compareVersions);
}
