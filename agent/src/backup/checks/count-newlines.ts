// Counts newline bytes with WebAssembly SIMD (16 bytes per step): the row counters' hot path. A
// loop of `Uint8Array#indexOf` calls costs ~80 ns per row (0.25 s of CPU on the 3 million rows of
// the pgbench benchmark's dump, issue 13); this is ~30 ms for the same 292 MB, copy included.
// The module is the text below, assembled with wabt's wat2wasm (--enable-simd):
//
// (module
//   (memory (export "memory") 17)
//   (func (export "countNewlines") (param $p i32) (param $n i32) (result i32)
//     (local $end i32) (local $total i32) (local $acc v128) (local $k i32) (local $sums v128)
//     (local.set $end (i32.add (local.get $p) (local.get $n)))
//     (block $vectors_done
//       (loop $outer
//         ;; at most 255 vectors per round, so that no u8 lane of $acc overflows
//         (local.set $acc (v128.const i32x4 0 0 0 0))
//         (local.set $k (i32.const 0))
//         (block $round_done
//           (loop $round
//             (br_if $round_done (i32.gt_u (i32.add (local.get $p) (i32.const 16)) (local.get $end)))
//             (br_if $round_done (i32.eq (local.get $k) (i32.const 255)))
//             ;; eq gives 0xff (-1) in each matching lane: subtracting it adds one
//             (local.set $acc (i8x16.sub (local.get $acc) (i8x16.eq (v128.load (local.get $p)) (v128.const i8x16 10 10 10 10 10 10 10 10 10 10 10 10 10 10 10 10))))
//             (local.set $p (i32.add (local.get $p) (i32.const 16)))
//             (local.set $k (i32.add (local.get $k) (i32.const 1)))
//             (br $round)))
//         (local.set $sums (i32x4.extadd_pairwise_i16x8_u (i16x8.extadd_pairwise_i8x16_u (local.get $acc))))
//         (local.set $total (i32.add (local.get $total)
//           (i32.add (i32.add (i32x4.extract_lane 0 (local.get $sums)) (i32x4.extract_lane 1 (local.get $sums)))
//                    (i32.add (i32x4.extract_lane 2 (local.get $sums)) (i32x4.extract_lane 3 (local.get $sums))))))
//         (br_if $outer (i32.eq (local.get $k) (i32.const 255)))))
//     (block $tail_done
//       (loop $tail
//         (br_if $tail_done (i32.ge_u (local.get $p) (local.get $end)))
//         (local.set $total (i32.add (local.get $total) (i32.eq (i32.load8_u (local.get $p)) (i32.const 10))))
//         (local.set $p (i32.add (local.get $p) (i32.const 1)))
//         (br $tail)))
//     (local.get $total)))
const WASM_BASE64 =
  'AGFzbQEAAAABBwFgAn9/AX8DAgEABQMBABEHGgIGbWVtb3J5AgANY291bnROZXdsaW5lcwAACssBAcgBBAJ/AXsBfwF7IAAgAWohAgJAA0D9DAAAAAAAAAAAAAAAAAAAAAAhBEEAIQUCQANAIABBEGogAksNASAFQf8BRg0BIAQgAP0ABAD9DAoKCgoKCgoKCgoKCgoKCgr9I/1xIQQgAEEQaiEAIAVBAWohBQwACwsgBP19/X8hBiADIAb9GwAgBv0bAWogBv0bAiAG/RsDampqIQMgBUH/AUYNAAsLAkADQCAAIAJPDQEgAyAALQAAQQpGaiEDIABBAWohAAwACwsgAws=';

/** Bytes the module's memory (17 pages of 64 KiB) takes per call. */
const SLICE = 1 << 20;
/** Below this many bytes the copy into the module's memory costs more than a plain loop. */
const SMALL = 256;

type Counter = (bytes: Uint8Array) => number;

/** The part of the WebAssembly global used here (the project's TypeScript libs do not declare it). */
interface WebAssemblyApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: Record<string, unknown> };
}

function wasmCounter(): Counter | null {
  try {
    const wasm = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;
    const instance = new wasm.Instance(new wasm.Module(Buffer.from(WASM_BASE64, 'base64')));
    const memory = new Uint8Array((instance.exports.memory as { buffer: ArrayBuffer }).buffer);
    const count = instance.exports.countNewlines as (start: number, length: number) => number;
    return (bytes) => {
      let total = 0;
      for (let offset = 0; offset < bytes.length; offset += SLICE) {
        const slice = bytes.subarray(offset, offset + SLICE);
        memory.set(slice);
        total += count(0, slice.length);
      }
      return total;
    };
  } catch {
    return null; // a runtime without WebAssembly SIMD: the loop below
  }
}

const typedIndexOf = Uint8Array.prototype.indexOf;

function loopCounter(bytes: Uint8Array): number {
  let total = 0;
  for (let i = typedIndexOf.call(bytes, 10, 0); i !== -1; i = typedIndexOf.call(bytes, 10, i + 1)) total++;
  return total;
}

let simd: Counter | null | undefined;

/** Newline bytes (0x0a) in `bytes`. */
export function countNewlines(bytes: Uint8Array): number {
  if (bytes.length < SMALL) return loopCounter(bytes);
  simd ??= wasmCounter();
  return (simd ?? loopCounter)(bytes);
}
