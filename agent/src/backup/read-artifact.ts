// Reading an artifact back: sha256 of the stored bytes, then age (decrypt or structure check),
// then decompression.
import { createReadStream } from 'node:fs';
import { Writable } from 'node:stream';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AgeDecryptStream } from './age/stream.ts';
import type { Identity } from './age/x25519.ts';
import { createDecompressor } from './compression.ts';
import type { Manifest } from './manifest.ts';
import { Sha256Stream } from './pipeline.ts';

export interface IntegrityReport {
  ok: boolean;
  sha256: string;
  bytes: number;
  /** "decrypted" when an identity let us authenticate every chunk and decompress, else "structure". */
  depth: 'decrypted' | 'structure' | 'hash';
  problems: string[];
}

/** Re-reads the whole artifact; never throws for a bad artifact, reports it instead. */
export async function checkArtifact(path: string, manifest: Manifest, identities: Identity[], signal: AbortSignal): Promise<IntegrityReport> {
  const hasher = new Sha256Stream();
  const stages: unknown[] = [createReadStream(path), hasher];
  let depth: IntegrityReport['depth'] = 'hash';
  if (manifest.encrypted) {
    stages.push(new AgeDecryptStream(identities));
    depth = identities.length > 0 ? 'decrypted' : 'structure';
    if (identities.length > 0) stages.push(createDecompressor(manifest.compression.algorithm));
  } else {
    stages.push(createDecompressor(manifest.compression.algorithm));
    depth = 'decrypted';
  }
  stages.push(new Writable({ write: (_chunk, _encoding, callback) => callback() }));
  const problems: string[] = [];
  try {
    await (pipeline as (...args: unknown[]) => Promise<void>)(...stages, { signal });
  } catch (error) {
    if (signal.aborted) throw error;
    problems.push((error as Error).message);
  }
  const sha256 = hasher.digest();
  if (problems.length === 0 || hasher.bytes > 0) {
    if (hasher.bytes !== manifest.size) problems.push(`size is ${hasher.bytes} bytes, manifest says ${manifest.size}`);
    if (sha256 !== manifest.sha256) problems.push('sha256 does not match the manifest (artifact changed since it was written)');
  }
  return { ok: problems.length === 0, sha256, bytes: hasher.bytes, depth, problems };
}

/** The plain dump inside an artifact, as a stream (decrypt with `identities`, then decompress). */
export function openPlainStream(path: string, manifest: Manifest, identities: Identity[]): Readable {
  const file = createReadStream(path);
  const decompress = createDecompressor(manifest.compression.algorithm);
  if (!manifest.encrypted) return file.pipe(decompress).on('error', () => {});
  const decrypt = new AgeDecryptStream(identities);
  const forward = (error: Error) => decompress.destroy(error);
  file.on('error', forward);
  decrypt.on('error', forward);
  // The consumer's pipeline sees the error (a stream destroyed early stays errored); the no-op
  // keeps an error before it is attached from becoming an uncaught exception.
  return file
    .pipe(decrypt)
    .pipe(decompress)
    .on('error', () => {});
}
