// Worker thread of the files source: walks the roots and writes the tar stream (tar-pack.ts) with
// every file's sha256 and the sha256 list as its last entry. Reading and hashing the files (1 GiB:
// the largest part of the work besides zstd) then run beside compression, encryption and the
// artifact's hash on the main thread instead of taking turns with them (issue 13: files with age
// at ≥ 0.9× the speed of `tar -cf - | zstd -1`). Blocks go to the main thread by transfer (no
// copy); the main thread grants them one at a time (tar-worker-stream.ts), so memory stays at a
// few blocks. Started as `chunks/backup-tar-worker.mjs` in a build (scripts/build.ts).
import { matchesGlob } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { SHA256_LIST_NAME, formatSha256List } from '../checks/sha256-list.ts';
import { packTar } from './tar-pack.ts';
import type { FileChange } from './tar-pack.ts';

export interface TarWorkerData {
  /** Roots relative to "/". */
  roots: string[];
  /** Absolute-path globs left out (the target's `excludes`). */
  excludes: string[];
  /** Blocks the worker may send before the main thread asks for more. */
  ahead: number;
}

/** Worker → main thread. */
export type TarWorkerMessage =
  | { type: 'block'; buffer: ArrayBuffer; offset: number; length: number }
  | { type: 'end'; files: number; warnings: string[] }
  | { type: 'error'; message: string; code?: string };

/** What the archive holds for a file that changed while it was read (the entry stays valid). */
function describeChange(change: FileChange): string {
  return change.change === 'shrank'
    ? `/${change.name} shrank from ${change.size} to ${change.actual} bytes while it was read; archived zero padded to ${change.size} bytes`
    : `/${change.name} grew while it was read (now ${change.actual} bytes or more); archived its first ${change.size} bytes`;
}

async function pack(port: MessagePort, spec: TarWorkerData): Promise<void> {
  let credit = spec.ahead;
  let granted: (() => void) | null = null;
  port.on('message', () => {
    credit++;
    granted?.();
  });
  const warnings: string[] = [];
  const sums = new Map<string, string>();
  const blocks = packTar(spec.roots, {
    cwd: '/',
    filter: (name) => !spec.excludes.some((pattern) => matchesGlob(`/${name}`, pattern)),
    onFileChanged: (change) => warnings.push(describeChange(change)),
    onFileHashed: (name, sha256) => sums.set(name, sha256),
    // The list travels inside the (encrypted, authenticated) artifact, wherever the artifact goes.
    trailer: () => ({ name: SHA256_LIST_NAME, content: formatSha256List(sums) }),
  });
  for await (const block of blocks) {
    while (credit === 0) await new Promise<void>((resolve) => (granted = resolve));
    granted = null;
    credit--;
    const message: TarWorkerMessage = { type: 'block', buffer: block.buffer as ArrayBuffer, offset: block.byteOffset, length: block.length };
    port.postMessage(message, [block.buffer as ArrayBuffer]);
  }
  port.postMessage({ type: 'end', files: sums.size, warnings } satisfies TarWorkerMessage);
  port.close();
}

if (parentPort && (workerData as { tetherTarWorker?: TarWorkerData } | null)?.tetherTarWorker) {
  const port = parentPort;
  pack(port, (workerData as { tetherTarWorker: TarWorkerData }).tetherTarWorker).catch((error: NodeJS.ErrnoException) => {
    port.postMessage({ type: 'error', message: error.message, ...(error.code ? { code: error.code } : {}) } satisfies TarWorkerMessage);
    port.close();
  });
}
