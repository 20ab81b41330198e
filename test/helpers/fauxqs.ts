// A real S3-compatible server (fauxqs from npm) as its own process on a free loopback port.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Fauxqs {
  url: string;
  process: ChildProcess;
  stop(): void;
}

/** Starts fauxqs with these buckets; `dir` holds its init file. */
export async function startFauxqs(dir: string, buckets: string[]): Promise<Fauxqs> {
  const init = join(dir, 'fauxqs-init.json');
  await writeFile(init, JSON.stringify({ buckets }));
  const cli = join(dirname(fileURLToPath(import.meta.resolve('fauxqs'))), 'cli.js');
  const child = spawn(process.execPath, [cli], { env: { ...process.env, FAUXQS_PORT: '0', FAUXQS_INIT: init }, stdio: ['ignore', 'pipe', 'pipe'] });
  const url = await new Promise<string>((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`fauxqs did not start: ${seen}`)), 30_000);
    child.stdout!.on('data', (text) => {
      seen += text;
      const match = /listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(seen);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`fauxqs exited (${code}): ${seen}`));
    });
  });
  return { url, process: child, stop: () => child.kill('SIGKILL') };
}
