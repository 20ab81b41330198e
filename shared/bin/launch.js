// Plain JavaScript on purpose: it may run on an older system Node. It starts a TypeScript entry
// with a Node that can strip types (>= 22.18); when the `node` on PATH is older, it re-runs the
// same command with the Node pinned by the project's `node` devDependency.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';

function canStripTypes() {
  const [major, minor] = process.versions.node.split('.').map(Number);
  return major > 22 || (major === 22 && minor >= 18);
}

export async function launch(entryUrl) {
  if (canStripTypes()) {
    await import(entryUrl);
    return;
  }
  let pinnedNode;
  try {
    pinnedNode = createRequire(import.meta.url).resolve('node/bin/node');
  } catch {
    process.stderr.write(`tether needs Node >= 22.18 (this is ${process.version}); run \`npm install\` in the tether checkout.\n`);
    process.exit(1);
  }
  const child = spawn(pinnedNode, process.argv.slice(1), { stdio: 'inherit' });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => {
    if (signal) process.kill(process.pid, signal);
    else process.exit(code ?? 1);
  });
}
