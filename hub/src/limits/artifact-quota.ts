// Per-key artifact quotas (issue 9 item 10): the bytes of one artifact, the bytes of all of a key's
// artifacts and their number. Counted from the key's artifact directory plus the uploads still in
// flight, so concurrent uploads cannot overrun the quota together. Replacing an artifact (same id)
// counts only the difference.
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ARTIFACT_ID, artifactDir } from '../artifacts/upload-handler.ts';
import { HttpError } from '../http/http-error.ts';
import type { HubLimits } from './hub-limits.ts';

export interface ArtifactReservation {
  /** The most this upload may send. */
  maxBytes: number;
  /** Why maxBytes is what it is, for the 413 when the upload runs past it. */
  sizeLimitMessage: string;
  /** Counts received bytes against the key's quota; false when they no longer fit (then 413). */
  take(bytes: number): boolean;
  release(): void;
}

interface InFlight {
  id: string;
  bytes: number;
}

const GIB = 1024 ** 3;

function size(bytes: number): string {
  if (bytes >= GIB) return `${Math.round((bytes / GIB) * 100) / 100} GiB`;
  if (bytes >= 1024 ** 2) return `${Math.round((bytes / 1024 ** 2) * 100) / 100} MiB`;
  return `${bytes} bytes`;
}

export class ArtifactQuota {
  readonly #dataDir: string;
  readonly #limits: Pick<HubLimits, 'artifactMaxBytes' | 'artifactBytesPerKey' | 'artifactsPerKey'>;
  readonly #inFlight = new Map<string, Set<InFlight>>();

  constructor(dataDir: string, limits: Pick<HubLimits, 'artifactMaxBytes' | 'artifactBytesPerKey' | 'artifactsPerKey'>) {
    this.#dataDir = dataDir;
    this.#limits = limits;
  }

  /** Room for one upload, or an HttpError (413 bytes, 429 count) that names the limit. */
  async reserve(keyId: string, id: string, declaredBytes: number | undefined): Promise<ArtifactReservation> {
    const { artifactMaxBytes, artifactBytesPerKey, artifactsPerKey } = this.#limits;
    const perArtifact = `artifact is larger than the hub's limit of ${artifactMaxBytes} bytes (${size(artifactMaxBytes)}, --max-artifact-bytes)`;
    if (declaredBytes !== undefined && declaredBytes > artifactMaxBytes) throw new HttpError(413, perArtifact);

    const stored = await this.#stored(keyId);
    const inFlight = this.#inFlight.get(keyId) ?? new Set<InFlight>();
    const others = [...inFlight].filter((upload) => upload.id !== id);
    const replacing = stored.has(id) || inFlight.size !== others.length;
    const count = [...stored.keys()].filter((name) => name !== id).length + new Set(others.map((upload) => upload.id)).size;
    if (!replacing && count >= artifactsPerKey) {
      throw new HttpError(429, `key ${keyId} already stores ${count} artifacts, the hub's limit per key (--max-artifacts-per-key ${artifactsPerKey}); remove old ones from the hub or raise the limit`);
    }
    let used = 0;
    for (const [name, bytes] of stored) if (name !== id) used += bytes;
    for (const upload of others) used += upload.bytes;
    const room = Math.max(0, artifactBytesPerKey - used);
    const perKey = `key ${keyId} would store more than its quota of ${size(artifactBytesPerKey)} of artifacts (--max-artifact-bytes-per-key ${artifactBytesPerKey}); ${size(used)} are in use, ${size(room)} left; remove old ones from the hub or raise the quota`;
    if ((declaredBytes ?? 1) > room) throw new HttpError(413, perKey);

    const maxBytes = Math.min(artifactMaxBytes, room);
    // An upload without a length (a streamed backup) holds only what it has received so far, so
    // that two of them can run side by side; each chunk is checked against the room left then.
    const entry: InFlight = { id, bytes: declaredBytes ?? 0 };
    inFlight.add(entry);
    this.#inFlight.set(keyId, inFlight);
    let storedUsed = 0;
    for (const [name, bytes] of stored) if (name !== id) storedUsed += bytes;
    const take = (bytes: number): boolean => {
      if (declaredBytes !== undefined) return true; // reserved in full up front
      let others = 0;
      for (const upload of inFlight) if (upload !== entry && upload.id !== id) others += upload.bytes;
      if (storedUsed + others + entry.bytes + bytes > artifactBytesPerKey) return false;
      entry.bytes += bytes;
      return true;
    };
    return {
      maxBytes,
      take,
      sizeLimitMessage: maxBytes < artifactMaxBytes ? perKey : perArtifact,
      release: () => {
        inFlight.delete(entry);
        if (inFlight.size === 0) this.#inFlight.delete(keyId);
      },
    };
  }

  /** Artifact id → size of what the key has stored (partial files and metadata are not artifacts). */
  async #stored(keyId: string): Promise<Map<string, number>> {
    const dir = artifactDir(this.#dataDir, keyId);
    const names = await readdir(dir).catch(() => [] as string[]);
    const sizes = new Map<string, number>();
    await Promise.all(
      // Streamed uploads waiting for their commit (<id>.streamed) count as that artifact.
      names
        .filter((name) => ARTIFACT_ID.test(name.replace(/\.streamed$/, '')))
        .map(async (name) => {
          const info = await stat(join(dir, name)).catch(() => null);
          const id = name.replace(/\.streamed$/, '');
          if (info?.isFile()) sizes.set(id, Math.max(sizes.get(id) ?? 0, info.size));
        }),
    );
    return sizes;
  }
}
