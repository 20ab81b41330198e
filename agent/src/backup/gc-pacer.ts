// Keeps the pipeline's memory flat. Every stage allocates fresh Buffers (tar blocks, zstd output,
// age chunks) that die at once, but V8 only collects them when its young generation fills or
// external memory grows by ~64 MB, so RSS climbed ~80 MB above idle in the bench before anything
// was freed. A minor GC (a scavenge: about a millisecond) every 4 MiB of source frees them
// early, and a full GC every 128 MiB frees what minor GCs promoted. Measured (worker of
// scripts/bench/backup.ts): idle+80 MB before; after, 1 GiB zstd-1 +34 MB, 4 GiB +42 MB,
// 4 GiB zstd-1 + age +57 MB; no slower.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type Collect = (options: { type: 'minor' | 'major'; execution?: 'sync' }) => void;

let collect: Collect | null | undefined;

function loadCollector(): Collect | null {
  if (collect !== undefined) return collect;
  try {
    // gc() is only reachable when --expose-gc is set; setting it now exposes it to new contexts.
    setFlagsFromString('--expose-gc');
    collect = runInNewContext('gc') as Collect;
  } catch {
    collect = null; // not available on this runtime: memory is then bounded by V8's own limits
  }
  return collect;
}

/**
 * Returns a function to call with each chunk's byte count. It runs a minor GC every `minorEvery`
 * bytes and a full one every `majorEvery` bytes: buffers in flight during a minor GC get promoted
 * to the old generation, which only a full GC (a few ms on this small heap) frees.
 */
export function gcPacer(minorEvery = 4 << 20, majorEvery = 128 << 20): (bytes: number) => void {
  const gc = loadCollector();
  let sinceMinor = 0;
  let sinceMajor = 0;
  return (bytes) => {
    if (!gc) return;
    sinceMinor += bytes;
    sinceMajor += bytes;
    if (sinceMajor >= majorEvery) {
      sinceMajor = 0;
      sinceMinor = 0;
      gc({ type: 'major' });
    } else if (sinceMinor >= minorEvery) {
      sinceMinor = 0;
      gc({ type: 'minor' });
    }
  };
}
