// The release manifest { version, platform, arch, sha256, size } (protocol.md section 7), parsed
// and validated by hand: the supervisor reads manifests and must not load zod.
import { isValidVersion } from './versions.ts';
import { TetherError } from '../errors.ts';

export interface ReleaseManifest {
  version: string;
  /** "<os>-<arch>", e.g. "linux-x64". */
  platform: string;
  arch: string;
  /** SHA-256 of the tarball, lowercase hex. */
  sha256: string;
  /** Size of the tarball in bytes. */
  size: number;
  /** Fingerprint of the release public key that signed it (see signing.ts keyId); optional. */
  key_id?: string;
}

export class ManifestError extends TetherError {
  override name = 'ManifestError';

  constructor(message: string) {
    super('TETHER_ERR_MANIFEST', message);
  }
}

/** Platforms a release may be built for. */
export const RELEASE_PLATFORMS = ['linux-x64', 'linux-arm64'] as const;

/** Manifests are a few hundred bytes; anything larger is not one. */
export const MAX_MANIFEST_BYTES = 64 * 1024;

const PLATFORM = /^[a-z0-9]+-[a-z0-9]+$/;
const SHA256 = /^[0-9a-f]{64}$/;
const KEY_ID = /^[0-9a-f]{16}$/;

/** The platform of the running process, in release naming ("linux-x64"). */
export function hostPlatform(): string {
  return `${process.platform}-${process.arch}`;
}

export interface ReleaseFileNames {
  /** The single top directory inside the tarball. */
  directory: string;
  tarball: string;
  manifest: string;
  signature: string;
}

/** Canonical file names of one release for one platform. */
export function releaseFileNames(version: string, platform: string): ReleaseFileNames {
  if (!isValidVersion(version)) throw new ManifestError(`release version "${version}" is not semver (e.g. 1.4.0)`);
  if (!PLATFORM.test(platform)) throw new ManifestError(`release platform "${platform}" is not of the form os-arch (e.g. linux-x64)`);
  const base = `tether-agent-${version}-${platform}`;
  return {
    directory: `tether-agent-${version}`,
    tarball: `${base}.tar.gz`,
    manifest: `${base}.json`,
    signature: `${base}.json.sig`,
  };
}

function field(object: Record<string, unknown>, name: string, type: 'string' | 'number'): unknown {
  const value = object[name];
  if (typeof value !== type) {
    throw new ManifestError(`manifest field "${name}" must be a ${type}, got ${value === undefined ? 'nothing' : typeof value}`);
  }
  return value;
}

/** Checks an already-parsed value; throws ManifestError saying which field is wrong. */
export function validateManifest(value: unknown): ReleaseManifest {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ManifestError('manifest must be a JSON object { version, platform, arch, sha256, size }');
  }
  const object = value as Record<string, unknown>;
  const version = field(object, 'version', 'string') as string;
  if (!isValidVersion(version)) throw new ManifestError(`manifest version "${version.slice(0, 80)}" is not semver (e.g. 1.4.0)`);
  const platform = field(object, 'platform', 'string') as string;
  if (!PLATFORM.test(platform)) throw new ManifestError(`manifest platform "${platform.slice(0, 80)}" is not of the form os-arch (e.g. linux-x64)`);
  const arch = field(object, 'arch', 'string') as string;
  if (!platform.endsWith(`-${arch}`)) throw new ManifestError(`manifest arch "${arch.slice(0, 80)}" does not match platform "${platform}"`);
  const sha256 = field(object, 'sha256', 'string') as string;
  if (!SHA256.test(sha256)) throw new ManifestError('manifest sha256 must be 64 lowercase hex characters');
  const size = field(object, 'size', 'number') as number;
  if (!Number.isSafeInteger(size) || size <= 0) throw new ManifestError(`manifest size must be a positive whole number of bytes, got ${size}`);
  const manifest: ReleaseManifest = { version, platform, arch, sha256, size };
  if (object.key_id !== undefined) {
    if (typeof object.key_id !== 'string' || !KEY_ID.test(object.key_id)) throw new ManifestError('manifest key_id must be 16 lowercase hex characters');
    manifest.key_id = object.key_id;
  }
  return manifest;
}

/** Parses manifest file bytes or text; throws ManifestError on anything that is not a valid manifest. */
export function parseManifest(data: string | Uint8Array): ReleaseManifest {
  const bytes = typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
  if (bytes > MAX_MANIFEST_BYTES) throw new ManifestError(`manifest is ${bytes} bytes; a manifest is at most ${MAX_MANIFEST_BYTES}`);
  const text = typeof data === 'string' ? data : Buffer.from(data).toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ManifestError(`manifest is not valid JSON: ${(error as Error).message}`);
  }
  return validateManifest(value);
}

/** The manifest file text written at release time: stable key order, one trailing newline. */
export function serializeManifest(manifest: ReleaseManifest): string {
  const { version, platform, arch, sha256, size, key_id } = validateManifest(manifest);
  return `${JSON.stringify({ version, platform, arch, sha256, size, ...(key_id === undefined ? {} : { key_id }) }, null, 2)}\n`;
}
