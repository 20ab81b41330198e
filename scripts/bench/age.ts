// age encryption benchmark: tether's streams (agent/src/backup/age, ChaCha20-Poly1305 from
// node:crypto) against the npm package age-encryption (pure JavaScript, noble ciphers) and the
// age CLI, on the same random plaintext in the same run. Each output is checked by decrypting it
// with `age -d`. Medians of N runs; throughput in MiB/s of plaintext. The numbers behind the
// choice recorded in docs/decisions.md.
// Run: node scripts/bench/age.ts [--mib 256] [--runs 3]
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';
import * as ageEncryption from 'age-encryption';
import { AgeDecryptStream, AgeEncryptStream } from '../../agent/src/backup/age/stream.ts';
import { parseIdentity } from '../../agent/src/backup/age/x25519.ts';
import { median } from './memory.ts';
import { printTable } from './table.ts';
import type { BenchRow } from './table.ts';

const run = promisify(execFile);
const { values } = parseArgs({ options: { mib: { type: 'string', default: '256' }, runs: { type: 'string', default: '3' } }, strict: true });
const mib = Number(values.mib);
const runs = Number(values.runs);

const work = await mkdtemp(join(tmpdir(), 'tether-bench-age-'));
try {
  const plainPath = join(work, 'plain');
  await writeFile(plainPath, randomBytes(mib << 20));
  const keyFile = join(work, 'key.txt');
  await run('age-keygen', ['-o', keyFile]);
  const recipient = (await run('age-keygen', ['-y', keyFile])).stdout.trim();
  const identityLine = (await readFile(keyFile, 'utf8')).split('\n').find((line) => line.startsWith('AGE-SECRET-KEY-1'))!;
  const sink = () => new Writable({ write: (_chunk, _encoding, done) => done() });

  const webStream = (path: string) => Readable.toWeb(createReadStream(path, { highWaterMark: 1 << 20 })) as unknown as ReadableStream<Uint8Array>;
  const fromWeb = (stream: ReadableStream<Uint8Array>) => Readable.fromWeb(stream as unknown as WebReadableStream<Uint8Array>);

  const cases: Array<{ name: string; run: (out: string) => Promise<void>; decrypts?: string }> = [
    { name: 'encrypt: tether (node:crypto)', run: (out) => pipeline(createReadStream(plainPath, { highWaterMark: 1 << 20 }), new AgeEncryptStream([recipient]), createWriteStream(out)) },
    {
      name: 'encrypt: age-encryption (npm)',
      run: async (out) => {
        const encrypter = new ageEncryption.Encrypter();
        encrypter.addRecipient(recipient);
        await pipeline(fromWeb(await encrypter.encrypt(webStream(plainPath))), createWriteStream(out));
      },
    },
    { name: 'encrypt: age CLI', run: async (out) => void (await run('age', ['-r', recipient, '-o', out, plainPath])) },
    {
      name: 'decrypt: tether (node:crypto)',
      decrypts: 'encrypt: age CLI',
      run: (input) => pipeline(createReadStream(input, { highWaterMark: 1 << 20 }), new AgeDecryptStream([parseIdentity(identityLine)]), sink()),
    },
    {
      name: 'decrypt: age-encryption (npm)',
      decrypts: 'encrypt: age CLI',
      run: async (input) => {
        const decrypter = new ageEncryption.Decrypter();
        decrypter.addIdentity(identityLine);
        await pipeline(fromWeb(await decrypter.decrypt(webStream(input))), sink());
      },
    },
    { name: 'decrypt: age CLI', decrypts: 'encrypt: age CLI', run: async (input) => void (await run('age', ['-d', '-i', keyFile, '-o', '/dev/null', input])) },
  ];

  const rows: BenchRow[] = [];
  const speed: Record<string, number> = {};
  const outputs: Record<string, string> = {};
  for (const item of cases) {
    const seconds: number[] = [];
    for (let i = 0; i < runs; i++) {
      const path = item.decrypts ? outputs[item.decrypts]! : join(work, `${item.name.replace(/\W+/g, '-')}.age`);
      if (!item.decrypts) await rm(path, { force: true });
      const started = process.hrtime.bigint();
      await item.run(path);
      seconds.push(Number(process.hrtime.bigint() - started) / 1e9);
      if (!item.decrypts) {
        outputs[item.name] = path;
        await run('age', ['-d', '-i', keyFile, '-o', '/dev/null', path]); // every writer's output must open with the real age
      }
    }
    speed[item.name] = mib / median(seconds);
    rows.push({ metric: item.name, value: speed[item.name]!.toFixed(1), unit: 'MiB/s' });
  }
  for (const direction of ['encrypt', 'decrypt']) {
    rows.push({ metric: `${direction}: tether / age-encryption`, value: (speed[`${direction}: tether (node:crypto)`]! / speed[`${direction}: age-encryption (npm)`]!).toFixed(2), unit: 'x' });
    rows.push({ metric: `${direction}: tether / age CLI`, value: (speed[`${direction}: tether (node:crypto)`]! / speed[`${direction}: age CLI`]!).toFixed(2), unit: 'x' });
  }
  printTable(`age (${mib} MiB random, median of ${runs})`, rows);
} finally {
  await rm(work, { recursive: true, force: true });
}
