// Verifies a downloaded release before anything is installed: the manifest signature against the
// pinned release keys, then the tarball's size and SHA-256 (streamed). No npm imports (supervisor).
import { open, rm } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { nodeCrypto } from '../node-crypto.ts';
import { MAX_MANIFEST_BYTES, ManifestError, parseManifest } from './manifest.ts';
import type { ReleaseManifest } from './manifest.ts';
import { decodePublicKey, findSigningKey, keyId } from './signing.ts';
import { TetherError } from '../errors.ts';

export type ReleaseVerificationFailure = 'no_trusted_keys' | 'unreadable' | 'bad_signature' | 'unknown_key' | 'invalid_manifest' | 'wrong_release' | 'size_mismatch' | 'sha256_mismatch';

export class ReleaseVerificationError extends TetherError {
  override name = 'ReleaseVerificationError';
  declare readonly code: ReleaseVerificationFailure;
  constructor(code: ReleaseVerificationFailure, message: string) {
    super(code, message);
  }
}

export interface VerifyReleaseOptions {
  manifestPath: string;
  signaturePath: string;
  tarballPath: string;
  /** Pinned release public keys (base64 raw Ed25519, the content of release-key.pub). */
  trustedKeys: readonly string[];
  /** When set, the manifest must name this platform (e.g. hostPlatform()). */
  expectedPlatform?: string;
  /** When set, the manifest must name this version. */
  expectedVersion?: string;
  /**
   * A directory only the caller writes (e.g. a fresh mkdtemp). The tarball is copied into it while
   * it is hashed, and the result names the copy: whoever extracts it then extracts exactly the bytes
   * that were verified, whatever happens to the original path afterwards (swapped, rewritten).
   */
  privateCopyDir?: string;
}

export interface VerifiedRelease {
  manifest: ReleaseManifest;
  /** The trusted key that signed it, and its fingerprint. */
  publicKey: string;
  keyId: string;
  /** The verified tarball: the private copy when privateCopyDir was given, else tarballPath. */
  tarballPath: string;
  /** The manifest bytes and signature that verified (what an install record keeps). */
  manifestBytes: Buffer;
  signature: string;
}

/** Reads a small file whole, refusing anything larger than `limit` bytes. */
async function readSmallFile(path: string, limit: number, what: string): Promise<Buffer> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw new ReleaseVerificationError('unreadable', `cannot read ${what} ${path}: ${(error as Error).message}`);
  }
  try {
    const { size } = await handle.stat();
    if (size > limit) throw new ReleaseVerificationError('unreadable', `${what} ${path} is ${size} bytes; at most ${limit} expected`);
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

/**
 * SHA-256 of a file, lowercase hex. Reads through one reused 1 MiB buffer: a read stream allocates
 * a chunk per read, and hashing a 50 MB tarball that way leaves the supervisor's heap larger for good.
 */
export async function sha256OfFile(path: string): Promise<string> {
  const handle = await open(path, 'r');
  try {
    return (await hashOpenFile(handle)).sha256;
  } finally {
    await handle.close();
  }
}

/** Hashes an open file from its start; every byte hashed is also written to `copy` when given. */
async function hashOpenFile(handle: FileHandle, copy?: FileHandle): Promise<{ sha256: string; bytes: number }> {
  const hash = nodeCrypto().createHash('sha256');
  const buffer = Buffer.allocUnsafe(1024 * 1024);
  let bytes = 0;
  for (;;) {
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, bytes);
    if (bytesRead === 0) break;
    const chunk = buffer.subarray(0, bytesRead);
    hash.update(chunk);
    if (copy !== undefined) await copy.write(chunk, 0, chunk.length, bytes);
    bytes += bytesRead;
  }
  return { sha256: hash.digest('hex'), bytes };
}

/** The key_id a (possibly forged) manifest claims, without trusting anything else in it. */
function claimedKeyId(manifestBytes: Buffer): string | undefined {
  try {
    const value = JSON.parse(manifestBytes.toString('utf8')) as { key_id?: unknown };
    return typeof value?.key_id === 'string' ? value.key_id : undefined;
  } catch {
    return undefined;
  }
}

function checkTrustedKeys(trustedKeys: readonly string[]): Map<string, string> {
  if (!Array.isArray(trustedKeys) || trustedKeys.length === 0) {
    throw new ReleaseVerificationError('no_trusted_keys', 'no trusted release keys are configured; pin at least one release public key (release-key.pub) before installing releases');
  }
  const byId = new Map<string, string>();
  trustedKeys.forEach((key, index) => {
    try {
      decodePublicKey(key);
    } catch (error) {
      throw new ReleaseVerificationError('no_trusted_keys', `trusted release key #${index + 1} is invalid: ${(error as Error).message}`);
    }
    byId.set(keyId(key), key.trim());
  });
  return byId;
}

/**
 * Checks, in order: the signature over the manifest bytes against every trusted key, the manifest's
 * fields (and the expected platform/version), then the tarball's size and SHA-256. Throws a
 * ReleaseVerificationError whose code and message name what failed; resolves only when all passed.
 */
export async function verifyRelease(options: VerifyReleaseOptions): Promise<VerifiedRelease> {
  const trusted = checkTrustedKeys(options.trustedKeys);
  const manifestBytes = await readSmallFile(options.manifestPath, MAX_MANIFEST_BYTES, 'release manifest');
  const signature = (await readSmallFile(options.signaturePath, 4096, 'release signature')).toString('utf8');

  const publicKey = findSigningKey(manifestBytes, signature, trusted.values());
  if (publicKey === null) {
    const claimed = claimedKeyId(manifestBytes);
    if (claimed !== undefined && !trusted.has(claimed)) {
      throw new ReleaseVerificationError(
        'unknown_key',
        `unknown key: the release manifest ${options.manifestPath} is signed by release key ${claimed}, which is not among the trusted release keys (${[...trusted.keys()].join(', ')})`,
      );
    }
    throw new ReleaseVerificationError(
      'bad_signature',
      `bad signature: ${options.signaturePath} does not verify the manifest ${options.manifestPath} with any trusted release key (tampered manifest, or signed by another key)`,
    );
  }

  let manifest: ReleaseManifest;
  try {
    manifest = parseManifest(manifestBytes);
  } catch (error) {
    if (error instanceof ManifestError) throw new ReleaseVerificationError('invalid_manifest', `release manifest ${options.manifestPath} is signed but invalid: ${error.message}`);
    throw error;
  }
  if (options.expectedPlatform !== undefined && manifest.platform !== options.expectedPlatform) {
    throw new ReleaseVerificationError('wrong_release', `release is for platform ${manifest.platform}, this host needs ${options.expectedPlatform}`);
  }
  if (options.expectedVersion !== undefined && manifest.version !== options.expectedVersion) {
    throw new ReleaseVerificationError('wrong_release', `release manifest is for version ${manifest.version}, expected ${options.expectedVersion}`);
  }

  const tarballPath = await checkTarball(options.tarballPath, manifest, options.privateCopyDir);
  return { manifest, publicKey, keyId: keyId(publicKey), tarballPath, manifestBytes, signature };
}

/**
 * Size and SHA-256 of the tarball, read through one open file; with a copy directory every byte
 * hashed is written to the copy, which is removed again unless it verified. Returns the path of
 * what verified.
 */
async function checkTarball(path: string, manifest: ReleaseManifest, copyDir: string | undefined): Promise<string> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw new ReleaseVerificationError('unreadable', `cannot read release tarball ${path}: ${(error as Error).message}`);
  }
  const copyPath = copyDir === undefined ? undefined : join(copyDir, 'release.tar.gz');
  let copy: FileHandle | undefined;
  try {
    const { size } = await handle.stat();
    if (size !== manifest.size) {
      throw new ReleaseVerificationError('size_mismatch', `size mismatch: ${path} is ${size} bytes, the signed manifest says ${manifest.size} (truncated or wrong download)`);
    }
    if (copyPath !== undefined) copy = await open(copyPath, 'wx', 0o600);
    const { sha256, bytes } = await hashOpenFile(handle, copy);
    if (bytes !== manifest.size) {
      throw new ReleaseVerificationError('size_mismatch', `size mismatch: ${path} changed while it was read (${bytes} bytes read, the signed manifest says ${manifest.size})`);
    }
    if (sha256 !== manifest.sha256) {
      throw new ReleaseVerificationError('sha256_mismatch', `sha256 mismatch: ${path} hashes to ${sha256}, the signed manifest says ${manifest.sha256} (corrupted or replaced tarball)`);
    }
    await copy?.sync();
    return copyPath ?? path;
  } catch (error) {
    if (copyPath !== undefined) await rm(copyPath, { force: true });
    throw error;
  } finally {
    await copy?.close();
    await handle.close();
  }
}
