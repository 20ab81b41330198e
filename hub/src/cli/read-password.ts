// A password for `tether operators add|passwd`: never from argv (other users see argv in ps, shells
// keep it in history). From a terminal it is typed twice with echo off; otherwise the first line of
// stdin is taken (`printf '%s\n' "$PASSWORD" | tether operators add alice`).
import { createInterface } from 'node:readline';
import { UsageError } from './usage-error.ts';

/** Reads what the user types without echoing it, up to Enter. */
function readHidden(prompt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const input = process.stdin;
    process.stderr.write(prompt);
    input.setRawMode(true);
    input.resume();
    let typed = '';
    const finish = (error?: Error) => {
      input.setRawMode(false);
      input.pause();
      input.off('data', onData);
      process.stderr.write('\n');
      if (error) reject(error);
      else resolve(typed);
    };
    const onData = (chunk: Buffer) => {
      for (const char of chunk.toString('utf8')) {
        if (char === '\r' || char === '\n') return finish();
        if (char === '\u0003') return finish(new UsageError('cancelled'));
        if (char === '\u007f' || char === '\b') typed = typed.slice(0, -1);
        else if (char >= ' ') typed += char;
      }
    };
    input.on('data', onData);
  });
}

async function firstLineOfStdin(): Promise<string> {
  const lines = createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of lines) {
    lines.close();
    return line;
  }
  return '';
}

export async function readPassword(what: string): Promise<string> {
  if (!process.stdin.isTTY) {
    const line = await firstLineOfStdin();
    if (line === '') throw new UsageError(`no password on stdin: pipe it in (printf '%s\\n' "$PASSWORD" | tether operators …) or run this in a terminal to be asked`);
    return line;
  }
  const first = await readHidden(`${what}: `);
  const again = await readHidden(`${what} again: `);
  if (first !== again) throw new UsageError('the two passwords differ; nothing was changed');
  return first;
}
