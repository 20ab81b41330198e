// `npm start` end to end: the demo starts a hub and a supervised agent, prints commands that work,
// and Ctrl-C (SIGINT) stops everything, leaving no process behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT, isAlive as alive, startProcess } from '../helpers/process.ts';
import { HUB_CLI, tempDir } from '../helpers/system.ts';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as { port: number };
  await new Promise((done) => server.close(done));
  return port;
}

test('npm start: hub and supervised agent come up, the printed commands work, Ctrl-C stops all', async () => {
  const dir = await tempDir('demo');
  const port = await freePort();
  const demo = startProcess([join(REPO_ROOT, 'scripts/demo.ts'), '--port', String(port), '--data-dir', dir.path]);
  try {
    await demo.waitForLine((line) => line.includes('Ctrl-C stops'), 60_000);
    const output = demo.lines.join('\n');
    // The console's address is printed, and the hub serves it there.
    const consoleLine = demo.lines.find((line) => line.trim().startsWith('console'));
    assert.ok(consoleLine, output);
    const consoleUrl = /(http:\/\/\S+\/)/.exec(consoleLine)![1]!;
    const page = await fetch(consoleUrl);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<div id="app">/);
    const sendLine = demo.lines.find((line) => line.includes('tether send') && line.includes(' ping '));
    assert.ok(sendLine, output);
    // Run the printed command as a user would (through the tether CLI).
    const args = sendLine
      .trim()
      .replace(/^npx tether /, '')
      .split(/\s+/);
    const { stdout } = await promisify(execFile)(process.execPath, [HUB_CLI, ...args], { cwd: process.cwd() });
    assert.match(stdout, /"message": "pong"/);

    const status = JSON.parse(await readFile(join(dir.path, 'agent', 'supervisor.json'), 'utf8'));
    const pids = [status.supervisor_pid, status.agent_pid] as number[];
    assert.ok(pids.every(alive));
    demo.child.kill('SIGINT');
    const exit = await demo.exited;
    assert.equal(exit.code, 0);
    for (const pid of pids) assert.equal(alive(pid), false, `pid ${pid} still running after Ctrl-C`);
  } finally {
    await demo.stop('SIGKILL');
    await dir.remove();
  }
});
