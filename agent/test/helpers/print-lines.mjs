// Action for the job-output test: prints lines in two batches, and between them waits for the test
// (files in <dir> are the signals), so the second batch is printed while the link is down.
// argv: <dir> <first batch> <second batch>
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [dir, first, second] = process.argv.slice(2);
const waitFor = (name) =>
  new Promise((resolve) => {
    const timer = setInterval(() => {
      if (existsSync(join(dir, name))) {
        clearInterval(timer);
        resolve();
      }
    }, 20);
  });
let n = 0;
for (let i = 0; i < Number(first); i++) process.stdout.write(`line ${++n}\n`);
await waitFor('dropped');
for (let i = 0; i < Number(second); i++) process.stdout.write(`line ${++n}\n`);
writeFileSync(join(dir, 'printed'), '');
await waitFor('finish');
