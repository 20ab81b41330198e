// Feeds a byte stream to a line handler without copying it: a line inside one chunk is handed over
// as a view of that chunk; only a line cut by a chunk boundary is joined (once per boundary).
export type LineHandler = (line: Buffer) => void;

export class LineSplitter {
  private carry: Buffer[] = [];
  private readonly onLine: LineHandler;

  constructor(onLine: LineHandler) {
    this.onLine = onLine;
  }

  push(chunk: Buffer): void {
    let start = 0;
    for (let newline = chunk.indexOf(10, start); newline !== -1; newline = chunk.indexOf(10, start)) {
      if (this.carry.length > 0) {
        this.carry.push(chunk.subarray(start, newline));
        this.onLine(Buffer.concat(this.carry));
        this.carry = [];
      } else {
        this.onLine(chunk.subarray(start, newline));
      }
      start = newline + 1;
    }
    if (start < chunk.length) this.carry.push(chunk.subarray(start));
  }

  /** The last line when the stream does not end with a newline. */
  end(): void {
    if (this.carry.length > 0) this.onLine(Buffer.concat(this.carry));
    this.carry = [];
  }
}
