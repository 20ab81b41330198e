// `npm start`: a hub on 127.0.0.1:7070 (with the operator console at /) and a supervised agent
// connected to it, with the next commands to try. Ctrl-C stops everything. State lives in ./.tether-demo and is reused next time.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { writeFileAtomicSync } from '@tether/shared/atomic-file.ts';
import { buildConsole } from './build.ts';

const root = resolve(import.meta.dirname, '..');
const argsSchema = z.object({
  port: z.coerce.number().int().min(1, 'port must be 1-65535').max(65535, 'port must be 1-65535'),
  'data-dir': z.string().min(1),
});

function fail(message: string): never {
  process.stderr.write(`demo: ${message}\n`);
  process.exit(2);
}

const { values } = parseArgs({ options: { port: { type: 'string', default: process.env.TETHER_DEMO_PORT ?? '7070' }, 'data-dir': { type: 'string', default: '.tether-demo' } }, strict: true });
const parsedArgs = argsSchema.safeParse(values);
if (!parsedArgs.success) fail(parsedArgs.error.issues.map((issue) => `--${String(issue.path[0])}: ${issue.message}`).join('; '));
const { port } = parsedArgs.data;
const demoDir = resolve(parsedArgs.data['data-dir']);
const hubDir = join(demoDir, 'hub');
const agentDir = join(demoDir, 'agent');
const logDir = join(demoDir, 'logs');
for (const dir of [hubDir, agentDir, logDir]) mkdirSync(dir, { recursive: true, mode: 0o700 });

const children: ChildProcess[] = [];
let stopping = false;

function start(name: string, args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  const log = createWriteStream(join(logDir, `${name}.log`), { flags: 'a', mode: 0o600 });
  const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  child.on('exit', (code, signal) => {
    if (!stopping) {
      process.stderr.write(`demo: ${name} exited unexpectedly (${signal ?? `exit ${code}`}); see ${join(logDir, `${name}.log`)}\n`);
      void stop(1);
    }
  });
  children.push(child);
  return child;
}

async function stop(exitCode: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  process.stdout.write('\nstopping…\n');
  await Promise.all(
    children.reverse().map(
      (child) =>
        new Promise<void>((done) => {
          if (child.exitCode !== null || child.signalCode !== null) return done();
          const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
          child.once('exit', () => {
            clearTimeout(timer);
            done();
          });
          child.kill('SIGTERM');
        }),
    ),
  );
  process.stdout.write('all stopped.\n');
  process.exit(exitCode);
}
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

async function waitUntil<T>(check: () => Promise<T | undefined>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (stopping) throw new Error('stopped');
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    await new Promise((done) => setTimeout(done, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Newest modification time under a path (files and directories), 0 when it does not exist. */
function newestChange(path: string): number {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...readdirSync(path).map((name) => newestChange(join(path, name))));
}

// The hub serves the console from console/dist: build it when it is missing or older than its source.
const consoleDist = join(root, 'console', 'dist');
const consoleSource = Math.max(newestChange(join(root, 'console', 'src')), newestChange(join(root, 'console', 'index.html')), newestChange(join(root, 'console', 'vite.config.ts')));
if (!existsSync(join(consoleDist, 'index.html')) || newestChange(join(consoleDist, 'index.html')) < consoleSource) {
  process.stdout.write('building the console (console/dist)…\n');
  await buildConsole(consoleDist);
}

const hubUrl = `http://127.0.0.1:${port}`;
if (
  await fetch(`${hubUrl}/api/agents/connected`).then(
    () => true,
    () => false,
  )
) {
  fail(`something already listens on 127.0.0.1:${port}; stop it, or run \`npm start -- --port 7071\``);
}
start('hub', [join(root, 'hub/src/cli/main.ts'), 'hub', '--host', '127.0.0.1', '--port', String(port), '--data-dir', hubDir]);
const token = await waitUntil(async () => (existsSync(join(hubDir, 'admin-token')) ? readFileSync(join(hubDir, 'admin-token'), 'utf8').trim() : undefined), 'the hub admin token');
const api = async (method: string, path: string, body?: unknown): Promise<any> => {
  const response = await fetch(`${hubUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${method} ${path}: HTTP ${response.status}`);
  return response.json();
};
await waitUntil(() => api('GET', '/api/agents/connected'), 'the hub to answer');

// The demo key is created once and kept (0600) so later runs reuse the same agent.
const keyFile = join(demoDir, 'demo-key.json');
let demoKey: { id: string; key: string } | undefined;
if (existsSync(keyFile)) {
  const stored = JSON.parse(readFileSync(keyFile, 'utf8')) as { id: string; key: string };
  const known = await api('GET', `/api/agents/keys/${stored.id}`).catch(() => undefined);
  if (known) demoKey = stored;
}
if (!demoKey) {
  const created = await api('POST', '/api/agents/keys', { name: 'demo', permissions: ['ping', 'echo', 'info', 'metrics', 'capabilities', 'restart'] });
  demoKey = { id: String(created.id), key: String(created.key) };
  writeFileAtomicSync(keyFile, JSON.stringify(demoKey), { mode: 0o600 });
}

// The agent allows restart in the demo so that `tether send … restart` shows the supervisor at work.
const agentConfig = join(demoDir, 'agent.yaml');
writeFileAtomicSync(agentConfig, 'allow: [ping, echo, info, metrics, capabilities, restart]\n', { mode: 0o600 });
start('supervisor', [join(root, 'supervisor/src/main.ts'), 'run', '--agent-entry', join(root, 'agent/src/main.ts'), '--state-dir', agentDir], {
  TETHER_SERVER_URL: `ws://127.0.0.1:${port}`,
  TETHER_API_KEY: demoKey.key,
  TETHER_STATE_DIR: agentDir,
  TETHER_CONFIG: agentConfig,
});
const agent = await waitUntil(async () => {
  const list = (await api('GET', '/api/agents/connected')) as any;
  const agents: any[] = Array.isArray(list) ? list : list.agents;
  return agents.find((item) => String(item.key_id) === demoKey.id);
}, 'the agent to connect');

// The operator CLI defaults to port 7070; name the hub when the demo runs elsewhere.
const hubFlag = port === 7070 ? '' : ` --hub ${hubUrl}`;
const rel = (path: string): string => (path.startsWith(`${process.cwd()}/`) ? path.slice(process.cwd().length + 1) : path);
process.stdout.write(`
tether demo is running
  console    ${hubUrl}/  (sign in with the admin token: cat ${rel(join(hubDir, 'admin-token'))})
  hub        ${hubUrl}  (data: ${rel(hubDir)}, admin token: ${rel(join(hubDir, 'admin-token'))})
  agent      ${agent.agent_id} on ${agent.hostname}, supervised, key id ${demoKey.id}
  logs       ${rel(logDir)}/

Try, in another terminal here:
  npx tether agents --data-dir ${rel(hubDir)}${hubFlag}
  npx tether send ${demoKey.id} ping --data-dir ${rel(hubDir)}${hubFlag}
  npx tether send ${demoKey.id} echo '{"message":"hello"}' --data-dir ${rel(hubDir)}${hubFlag}
  npx tether send ${demoKey.id} restart --data-dir ${rel(hubDir)}${hubFlag}      # the supervisor brings it back
  npx tether-supervisor status --state-dir ${rel(agentDir)}
  curl -s -X POST ${hubUrl}/api/agents/keys/${demoKey.id}/command \\
    -H "Authorization: Bearer $(cat ${rel(join(hubDir, 'admin-token'))})" -H 'content-type: application/json' \\
    -d '{"command":"info","wait_s":10}'

Ctrl-C stops the hub and the agent.
`);
