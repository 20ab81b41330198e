// Keeps the pipeline's memory flat. Every stage allocates fresh Buffers (tar blocks, zstd output,
// age chunks) that die at once, but V8 only collects them when its young generation fills or
// external memory grows by ~64 MB, so RSS climbed ~80 MB above idle in the bench before anything
// was freed. A minor GC (a scavenge: about a millisecond) every 4 MiB of source frees them
// early; measured in scripts/bench/backup.ts (1 GiB, zstd-1 + age): peak went from idle+80 MB to
// about idle+45 MB, no slower.
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

/** Returns a function to call with each chunk's byte count; it runs a minor GC every `everyBytes`. */
export function gcPacer(everyBytes = 4 << 20): (bytes: number) => void {
  const gc = loadCollector();
  let since = 0;
  return (bytes) => {
    since += bytes;
    if (since < everyBytes || !gc) return;
    since = 0;
    gc({ type: 'minor' });
  };
}
