// How the fuzz properties run: a bounded number of cases inside `npm test`, or for a share of
// `npm run fuzz -- --minutes N` (scripts/fuzz.ts sets TETHER_FUZZ_MS_PER_FILE). Each property prints
// how many cases it tried and its seed; TETHER_FUZZ_SEED replays a run (of a long run: the failing batch).
import fc from 'fast-check';

const msPerFile = Number(process.env.TETHER_FUZZ_MS_PER_FILE ?? 0);
const seed = process.env.TETHER_FUZZ_SEED ? Number(process.env.TETHER_FUZZ_SEED) : undefined;

/** true during `npm run fuzz`: properties run until their time is up instead of a fixed count. */
export const LONG_RUN = msPerFile > 0;

/**
 * Runs `check` on generated cases and fails with the case and the seed that replays it. Inside
 * `npm test`: `boundedRuns` cases. In a long run: batches of cases, each with its own seed, until
 * this property's share of the file's time is used (a case is never cut off half-way).
 * `regressions`: cases a fuzz run once broke (now fixed), tried first every time.
 */
export async function fuzz<T>(name: string, arbitrary: fc.Arbitrary<T>, check: (value: T) => Promise<void>, options: { boundedRuns: number; shareOfFile: number; regressions?: T[] }): Promise<void> {
  const property = fc.asyncProperty(arbitrary, check);
  const deadline = Date.now() + msPerFile * options.shareOfFile;
  const firstSeed = seed ?? Date.now() ^ (Math.random() * 0x100000000);
  let tried = 0;
  for (let batch = 0; ; batch++) {
    const batchSeed = (firstSeed + batch) | 0;
    const details = await fc.check(property, {
      numRuns: LONG_RUN ? Math.min(options.boundedRuns, 50) : options.boundedRuns,
      seed: batchSeed,
      endOnFailure: true,
      examples: batch === 0 ? (options.regressions ?? []).map((value): [T] => [value]) : [],
    });
    tried += details.numRuns;
    if (details.failed) {
      console.log(`fuzz ${name}: ${tried} cases tried, FAILED`);
      const error = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
      throw new Error(`fuzz ${name} failed after ${tried} cases (replay: TETHER_FUZZ_SEED=${batchSeed}):\n${error}\ncase: ${fc.stringify(details.counterexample)}`);
    }
    if (!LONG_RUN || seed !== undefined || Date.now() >= deadline) break;
  }
  console.log(`fuzz ${name}: ${tried} cases tried (seed ${firstSeed}${LONG_RUN ? ', one more per batch' : ''})`);
}

/** Strings with the characters that break parsers: controls, quotes, separators, non-ASCII. */
export const nastyString = (maxLength = 64): fc.Arbitrary<string> =>
  fc.oneof(
    fc.string({ maxLength }),
    fc.string({ unit: 'binary', maxLength }),
    fc.constantFrom(
      '',
      ' ',
      '-',
      '--',
      '../../etc/passwd',
      '%00',
      '\u0000',
      '\u001b[2K',
      `\${HOME}`,
      '$(id)',
      '`id`',
      '{}',
      '[]',
      'null',
      'true',
      '0',
      '-1',
      '1e309',
      'NaN',
      '__proto__',
      'constructor',
      'a'.repeat(5000),
    ),
  );

/** JSON values, weighted towards objects (what every body and frame is meant to be). */
export const jsonish = (): fc.Arbitrary<unknown> =>
  fc.oneof({ arbitrary: fc.jsonValue({ maxDepth: 3 }), weight: 2 }, { arbitrary: fc.dictionary(nastyString(12), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 6 }), weight: 3 });

/** Node's stack frames or the messages of programming errors: what no refusal may print. */
export const CRASH_TEXT =
  /^\s+at .+:\d+:\d+\)?$|Cannot read propert|is not a function|is not iterable|ReferenceError|TypeError:|RangeError:|Maximum call stack|ERR_INTERNAL_ASSERTION|UnhandledPromiseRejection/m;
