// The backup artifacts agents uploaded to this hub, read from its disk (upload-handler.ts and
// verify-host-handlers.ts write them):
//   <dataDir>/artifacts/<key id>/<id>                 the bytes
//   <dataDir>/artifacts/<key id>/<id>.json            size, sha256, target, received_at
//   <dataDir>/artifacts/<key id>/<id>.manifest.json   the agent's manifest (optional)
// and the latest restore test of each in the store (verify_results), so every hub of a cluster sees it.
// Ids and key ids are checked against their patterns before any path is built from them.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ArtifactVerifyResult, StoredArtifact } from '@tether/shared/protocol/backup-views.ts';
import { HttpError } from '../http/http-error.ts';
import type { HubStore, VerifyResultRecord } from '../store/store.ts';
import { ARTIFACT_ID, artifactDir } from './upload-handler.ts';

export const KEY_ID = /^[A-Za-z0-9_-]{1,128}$/;
const AGE_HEADER = 'age-encryption.org/v1\n';
/** .verify.json: restore tests of hubs before 0.2 (verify-file-import.ts moves them into the store). */
const SIDE_FILES = ['.json', '.manifest.json', '.verify.json'];

export type { StoredArtifact };

/** Where stored artifacts are: their bytes and side files on this hub's disk, restore tests in the store. */
export interface ArtifactShelf {
  dataDir: string;
  store: Pick<HubStore, 'getVerifyResult' | 'listVerifyResults' | 'deleteVerifyResult'>;
}

function verifyView(record: VerifyResultRecord | undefined): ArtifactVerifyResult | null {
  if (!record) return null;
  const { key_id: _key, artifact_id: _id, ...result } = record;
  return result;
}

async function readJson(path: string): Promise<Record<string, unknown> | null> {
  const text = await readFile(path, 'utf8').catch(() => null);
  if (text === null) return null;
  try {
    const value = JSON.parse(text) as unknown;
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

async function startsWithAgeHeader(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(AGE_HEADER.length);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return bytesRead === buffer.length && buffer.toString('latin1') === AGE_HEADER;
  } finally {
    await handle.close();
  }
}

/** `site-20261122T040000Z-1a2b3c4d` → its target and its time. */
function parseId(id: string): { target: string; createdAt: string } {
  const match = /^(.*)-(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z-[a-f0-9]{8}$/.exec(id)!;
  const [, target, y, mo, d, h, mi, s] = match;
  return { target: target!, createdAt: `${y}-${mo}-${d}T${h}:${mi}:${s}.000Z` };
}

export function checkIds(keyId: string, id?: string): void {
  if (!KEY_ID.test(keyId)) throw new HttpError(400, 'key id must be letters, digits, _ and - (as in GET /api/agents/keys)');
  if (id !== undefined && !ARTIFACT_ID.test(id)) throw new HttpError(400, 'artifact id must look like <target>-20261122T040000Z-1a2b3c4d');
}

/** `verify` is the artifact's restore test when the caller has it already (a listing reads them per key). */
export async function describeArtifact(shelf: ArtifactShelf, keyId: string, id: string, verify?: VerifyResultRecord | null): Promise<StoredArtifact | null> {
  checkIds(keyId, id);
  const dir = artifactDir(shelf.dataDir, keyId);
  const bytes = await stat(join(dir, id)).catch(() => null);
  if (!bytes?.isFile()) return null;
  const meta = await readJson(join(dir, `${id}.json`));
  const result = verify === undefined ? await shelf.store.getVerifyResult(keyId, id) : (verify ?? undefined);
  const parsed = parseId(id);
  return {
    key_id: keyId,
    id,
    target: typeof meta?.target === 'string' && meta.target !== '' ? meta.target : parsed.target,
    size: bytes.size,
    sha256: typeof meta?.sha256 === 'string' ? meta.sha256 : '',
    created_at: parsed.createdAt,
    received_at: typeof meta?.received_at === 'string' ? meta.received_at : null,
    encrypted: await startsWithAgeHeader(join(dir, id)),
    verify: verifyView(result),
  };
}

/** Every stored artifact of the given keys (all keys with a directory when none are named), newest first. */
export async function listArtifacts(shelf: ArtifactShelf, filter: { keyId?: string; target?: string }): Promise<StoredArtifact[]> {
  const root = join(shelf.dataDir, 'artifacts');
  const keyIds = filter.keyId !== undefined ? [filter.keyId] : (await readdir(root).catch(() => [] as string[])).filter((name) => KEY_ID.test(name));
  const found: StoredArtifact[] = [];
  for (const keyId of keyIds) {
    checkIds(keyId);
    const names = await readdir(artifactDir(shelf.dataDir, keyId)).catch(() => [] as string[]);
    const verifies = new Map((await shelf.store.listVerifyResults(keyId)).map((record) => [record.artifact_id, record]));
    for (const name of names.filter((entry) => ARTIFACT_ID.test(entry))) {
      const artifact = await describeArtifact(shelf, keyId, name, verifies.get(name) ?? null);
      if (artifact && (filter.target === undefined || artifact.target === filter.target)) found.push(artifact);
    }
  }
  // Ids have whole seconds: within one, the one the hub received last is the newer.
  return found.sort((a, b) => b.created_at.localeCompare(a.created_at) || (b.received_at ?? '').localeCompare(a.received_at ?? '') || a.id.localeCompare(b.id));
}

/** Removes the bytes, the files beside them and the restore test; false when there was no such artifact. */
export async function deleteArtifact(shelf: ArtifactShelf, keyId: string, id: string): Promise<boolean> {
  checkIds(keyId, id);
  const dir = artifactDir(shelf.dataDir, keyId);
  const bytes = await stat(join(dir, id)).catch(() => null);
  if (!bytes) return false;
  await rm(join(dir, id), { force: true });
  for (const suffix of SIDE_FILES) await rm(join(dir, `${id}${suffix}`), { force: true });
  await shelf.store.deleteVerifyResult(keyId, id);
  return true;
}

/** Reads the stored bytes and compares their sha256 with the one recorded at upload; null when there is no such artifact. */
export async function verifyArtifact(shelf: ArtifactShelf, keyId: string, id: string): Promise<{ ok: boolean; sha256: string; expected: string; bytes: number } | null> {
  const artifact = await describeArtifact(shelf, keyId, id, null);
  if (!artifact) return null;
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(join(artifactDir(shelf.dataDir, keyId), id)) as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    hash.update(chunk);
  }
  const sha256 = hash.digest('hex');
  return { ok: artifact.sha256 !== '' && sha256 === artifact.sha256, sha256, expected: artifact.sha256, bytes };
}
