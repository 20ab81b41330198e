// One record of the command log on disk: [magic u32][body length u32][CRC-32 of the body u32][body],
// little-endian. The checksum is CRC-32 (node:zlib's crc32, the polynomial of gzip and PNG): native,
// gigabytes per second, and it catches what a crash or a bad disk does to an append-only file (a
// torn last write, a zero-filled tail, flipped bits). It is no defence against someone who can
// write the file; the state dir is 0700 and its files 0600. The magic lets a reader find the next
// good frame after a damaged one, so one bad record never hides the ones after it.
import { crc32 } from 'node:zlib';

export const FRAME_HEADER_BYTES = 12;
/** "TLg1": marks the start of every frame. */
const MAGIC = Buffer.from('544c6731', 'hex');
const MAGIC_U32 = MAGIC.readUInt32LE(0);
/** The largest body: a response may be up to 16 MiB (protocol.md section 1), plus its header. */
export const MAX_FRAME_BODY_BYTES = 17 * 1024 * 1024;

/** A frame around `body` (UTF-8 text), as one buffer ready to append. */
export function encodeFrame(body: string): Buffer {
  const bodyBytes = Buffer.byteLength(body);
  if (bodyBytes > MAX_FRAME_BODY_BYTES) throw new Error(`a log record of ${bodyBytes} bytes is larger than ${MAX_FRAME_BODY_BYTES}`);
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + bodyBytes);
  frame.writeUInt32LE(MAGIC_U32, 0);
  frame.writeUInt32LE(bodyBytes, 4);
  frame.write(body, FRAME_HEADER_BYTES, 'utf8');
  frame.writeUInt32LE(crc32(frame.subarray(FRAME_HEADER_BYTES)), 8);
  return frame;
}

/** The body length of a good frame starting at `offset`, or -1. */
function goodFrameAt(buffer: Buffer, offset: number): number {
  if (buffer.length - offset < FRAME_HEADER_BYTES || buffer.readUInt32LE(offset) !== MAGIC_U32) return -1;
  const length = buffer.readUInt32LE(offset + 4);
  if (length > MAX_FRAME_BODY_BYTES || offset + FRAME_HEADER_BYTES + length > buffer.length) return -1;
  const body = buffer.subarray(offset + FRAME_HEADER_BYTES, offset + FRAME_HEADER_BYTES + length);
  return crc32(body) === buffer.readUInt32LE(offset + 8) ? length : -1;
}

/** The body of the good frame at `offset`, or null when there is none. */
export function frameBodyAt(buffer: Buffer, offset: number): Buffer | null {
  const length = goodFrameAt(buffer, offset);
  return length < 0 ? null : buffer.subarray(offset + FRAME_HEADER_BYTES, offset + FRAME_HEADER_BYTES + length);
}

function nextGoodFrame(buffer: Buffer, from: number): number {
  for (let at = buffer.indexOf(MAGIC, from); at >= 0; at = buffer.indexOf(MAGIC, at + 1)) {
    if (goodFrameAt(buffer, at) >= 0) return at;
  }
  return -1;
}

export interface FrameScan {
  /** Where the last good frame ends: appends continue here, anything after it is a torn tail. */
  end: number;
  /** Damaged stretches with good frames after them: skipped, the frames after them kept. */
  damaged: Array<{ offset: number; bytes: number }>;
  /** Bytes after the last good frame (a write cut short by a crash). */
  tornBytes: number;
}

/** Calls `visit` for every good frame in order; damage in the middle is skipped, never fatal. */
export function scanFrames(buffer: Buffer, visit: (offset: number, frameBytes: number, body: Buffer) => void): FrameScan {
  const damaged: FrameScan['damaged'] = [];
  let offset = 0;
  let end = 0;
  while (offset < buffer.length) {
    const length = goodFrameAt(buffer, offset);
    if (length < 0) {
      const next = nextGoodFrame(buffer, offset + 1);
      if (next < 0) break;
      damaged.push({ offset, bytes: next - offset });
      offset = next;
      continue;
    }
    const frameBytes = FRAME_HEADER_BYTES + length;
    visit(offset, frameBytes, buffer.subarray(offset + FRAME_HEADER_BYTES, offset + frameBytes));
    offset += frameBytes;
    end = offset;
  }
  return { end, damaged, tornBytes: buffer.length - end };
}
