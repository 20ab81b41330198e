// Fuzzing what the agent receives from a hub over the HTTP transport (issue 9, "Fuzzing"): a real
// agent process on TETHER_FORCE_HTTP talks to a hub written here (node:http) whose answers to its
// polls, results and registration are made by fast-check: statuses of every kind, poll answers
// with commands of any shape (signed correctly, wrongly or not at all) and `frames`, JSON of any
// shape, text that is not JSON, an empty body. Properties: the agent never exits, still answers a
// signed ping after every case (no hang), and an `effect` action leaves its marker only for a
// correctly signed exec that succeeded.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { join } from 'node:path';
import fc from 'fast-check';
import { waitFor } from '../helpers/process.ts';
import type { RunningProcess } from '../helpers/process.ts';
import { agentEnv, startAgent, tempDir } from '../helpers/system.ts';
import { fuzz, jsonish, nastyString } from './fuzz-run.ts';
import { FuzzHubKeys, GRANT, effectsWritten, writeFuzzedAgentConfig } from './fuzzed-agent.ts';

const AGENT_KEY = 'tak_fuzz-agent-http-key-0123456789';
const keys = new FuzzHubKeys(AGENT_KEY);

interface Answer {
  status: number;
  body: string;
}

let dir: { path: string; remove(): Promise<void> };
let server: Server;
let agent: RunningProcess;
let marker: string;
/** Answers the next polls get, in order; then `{ commands: [] }` after a short wait. */
const pollAnswers: Answer[] = [];
/** Answers the next results get; then a signed ack. */
const resultAnswers: Answer[] = [];
/** Results the hub accepted or refused, by command id (every attempt). */
const results = new Map<string, Record<string, any>[]>();
const allowedEffects = new Set<string>();

const json = (value: unknown): Answer => ({ status: 200, body: JSON.stringify(value) });

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function answer(response: ServerResponse, { status, body }: Answer): void {
  response.writeHead(status, { 'content-type': 'application/json' }).end(body);
}

/** The last requests the hub here got, for a failure's report. */
const requests: string[] = [];
async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const body = await readBody(request);
  requests.push(`${new Date().toISOString()} ${request.method} ${request.url} ${body.slice(0, 120)}`);
  if (requests.length > 50) requests.shift();
  const path = (request.url ?? '').split('?')[0];
  if (request.headers.authorization !== `Bearer ${AGENT_KEY}`) return answer(response, { status: 401, body: '{"error":"bad key"}' });
  if (path === '/api/agents/poll') {
    const next = pollAnswers.shift();
    if (next) return answer(response, next);
    await new Promise((resolve) => setTimeout(resolve, 100)); // a short long poll
    return answer(response, json({ commands: [] }));
  }
  if (path === '/api/agents/heartbeat') {
    const parsed = JSON.parse(body || '{}') as Record<string, unknown>;
    if (parsed.connection_mode === 'http_polling')
      return answer(response, json({ ok: true, agent_id: parsed.agent_id, permissions: GRANT, protocol: 1, signing_key: keys.signing.publicKey, poll_interval_s: 1 }));
    return answer(response, json({ ok: true }));
  }
  if (path === '/api/agents/result') {
    const parsed = JSON.parse(body) as { command_id: string; result: Record<string, any> };
    results.set(String(parsed.command_id), [...(results.get(String(parsed.command_id)) ?? []), parsed.result]);
    return answer(response, resultAnswers.shift() ?? json({ ok: true, stored: true, ack: keys.ack([String(parsed.command_id)]) }));
  }
  if (path === '/api/agents/events') return answer(response, json({ ok: true }));
  return answer(response, { status: 404, body: '{"error":"not here"}' });
}

before(async () => {
  dir = await tempDir('fuzz-agent-http');
  const { configPath, marker: written } = await writeFuzzedAgentConfig(dir.path, keys.signing.publicKey);
  marker = written;
  server = createServer((request, response) => {
    handle(request, response).catch((error: Error) => answer(response, { status: 400, body: JSON.stringify({ error: error.message }) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  agent = startAgent(agentEnv({ wsUrl: `http://127.0.0.1:${port}` }, AGENT_KEY, join(dir.path, 'state'), { TETHER_CONFIG: configPath, TETHER_FORCE_HTTP: '1', TETHER_LOG_LEVEL: 'info' }));
});

after(async () => {
  await agent?.stop();
  server?.closeAllConnections();
  server?.close();
  await dir?.remove();
});

const COMMANDS = ['ping', 'echo', 'info', 'metrics', 'capabilities', 'exec', 'backup', 'restore', 'update', 'restart', 'uninstall'];
const polledCommand = fc.record({
  command_id: fc.oneof({ arbitrary: fc.constant('fresh'), weight: 4 }, nastyString(30), fc.integer()),
  command: fc.oneof({ arbitrary: fc.constantFrom(...COMMANDS), weight: 4 }, nastyString(20)),
  data: fc.oneof(
    fc.constant(undefined),
    fc.record(
      { action: fc.oneof(fc.constant('effect'), nastyString(12)), args: fc.oneof(fc.record({ id: fc.oneof(fc.stringMatching(/^[a-z0-9-]{1,40}$/), nastyString(50)) }), jsonish()) },
      { requiredKeys: [] },
    ),
    jsonish(),
  ),
  signature: fc.constantFrom('right', 'right', 'wrong-key', 'garbage', 'none'),
  extra: fc.dictionary(fc.constantFrom('deadline', 'timeout_s', 'timestamp', 'type'), fc.oneof(nastyString(20), fc.double(), fc.integer()), { maxKeys: 2 }),
});
type PolledCommand = typeof polledCommand extends fc.Arbitrary<infer T> ? T : never;

const statusOf = fc.oneof(
  { arbitrary: fc.constant(200), weight: 8 },
  fc.constantFrom(201, 204, 400, 404, 409, 413, 422, 500, 503),
  fc.integer({ min: 100, max: 599 }).filter((status) => status >= 200),
);
const pollBody = fc.oneof(
  {
    arbitrary: fc.record({ commands: fc.array(polledCommand, { maxLength: 3 }), frames: fc.option(fc.array(fc.oneof(fc.constant('signed-grant'), jsonish()), { maxLength: 2 }), { nil: undefined }) }),
    weight: 6,
  },
  { arbitrary: jsonish(), weight: 1 },
  { arbitrary: fc.string({ maxLength: 100 }), weight: 1 },
  { arbitrary: fc.constantFrom('', '{"commands": null}', '{"commands": [null]}', '{"commands": {}}', '{"commands": [{"command_id": ""}]}'), weight: 1 },
);
const httpCase = fc.record({
  polls: fc.array(fc.record({ status: statusOf, body: pollBody }), { minLength: 1, maxLength: 3 }),
  results: fc.array(fc.record({ status: statusOf, body: fc.oneof(fc.constant('signed-ack'), jsonish(), fc.string({ maxLength: 40 })) }), { maxLength: 2 }),
});

let serial = 0;

/** The polled command as the hub would send it, signed as the case says. */
function materialize(command: PolledCommand, sent: { id: string; signedExecId?: string }[]): unknown {
  const id = command.command_id === 'fresh' ? `fh-${process.pid}-${++serial}` : command.command_id;
  const fields = { command_id: String(id), command: command.command, data: command.data };
  const message: Record<string, unknown> = { ...keys.command(fields), ...command.extra };
  if (command.signature === 'wrong-key') message.signature = keys.commandSignature(fields, String(message.timestamp), 'other');
  if (command.signature === 'garbage') message.signature = 'AAAA';
  if (command.signature === 'none') delete message.signature;
  if (typeof id === 'number') message.command_id = id;
  const args = (command.data as { args?: { id?: unknown } } | undefined)?.args;
  const valid = command.signature === 'right' && command.command === 'exec' && Object.keys(command.extra).length === 0 && typeof args?.id === 'string';
  sent.push({ id: String(id), signedExecId: valid ? (args.id as string) : undefined });
  return message;
}

/** A generated poll answer as text: its commands signed now, as the case says. */
function pollBodyText(body: unknown, sent: { id: string; signedExecId?: string }[]): string {
  if (typeof body === 'string') return body;
  const shaped = body as { commands?: unknown; frames?: unknown[] } | null;
  if (!shaped || !Array.isArray(shaped.commands)) return JSON.stringify(body);
  const commands = (shaped.commands as PolledCommand[]).map((command) => materialize(command, sent));
  const frames = shaped.frames?.map((frame) => (frame === 'signed-grant' ? keys.grant(GRANT) : frame));
  return JSON.stringify(frames ? { commands, frames } : { commands });
}

/**
 * The agent still serves: a signed ping is answered. A poll answer that reached a link the agent had
 * just given up (a refused result ends the link) is lost, so like the real hub (--http-reoffer-s)
 * the ping is offered again while it has no answer.
 */
async function agentServes(): Promise<void> {
  const id = `health-${process.pid}-${++serial}`;
  const offer = () => pollAnswers.push(json({ commands: [keys.command({ command_id: id, command: 'ping' })], frames: [keys.grant(GRANT)] }));
  offer();
  const reoffer = setInterval(() => {
    if (!pollAnswers.some((queued) => queued.body.includes(id))) offer();
  }, 5_000);
  const answered = await waitFor(() => results.get(id)?.[0], `an answer to the health ping ${id}`, 120_000, 20)
    .finally(() => clearInterval(reoffer))
    .catch((error: Error) => {
      throw new Error(`${error.message}; the agent's last lines:\n${agent.lines.slice(-12).join('\n')}\nrequests:\n${requests.slice(-12).join('\n')}\nqueued polls: ${pollAnswers.length}`);
    });
  assert.equal(answered.success, true, `the health ping failed: ${JSON.stringify(answered)}`);
}

test('every answer a hub can give over HTTP: the agent stays up, answers, runs only what is signed and valid', { timeout: 3_600_000 }, async () => {
  await agentServes(); // registered and polling
  await fuzz(
    'agent ← hub HTTP answers',
    httpCase,
    async ({ polls, results: resultCases }) => {
      const sent: { id: string; signedExecId?: string }[] = [];
      for (const poll of polls) pollAnswers.push({ status: poll.status, body: pollBodyText(poll.body, sent) });
      for (const result of resultCases)
        resultAnswers.push({ status: result.status, body: result.body === 'signed-ack' ? JSON.stringify({ ok: true }) : typeof result.body === 'string' ? result.body : JSON.stringify(result.body) });
      await agentServes();
      assert.equal(agent.exitInfo, null, `the agent exited: ${agent.lines.slice(-5).join('\n')}`);
      for (const { id, signedExecId } of sent) if (signedExecId && results.get(id)?.some((result) => result.success === true)) allowedEffects.add(signedExecId);
      const effects = effectsWritten(marker);
      for (const effect of effects) assert.ok(allowedEffects.has(effect), `effect ${effect} ran without a correctly signed, successful exec`);
      assert.deepEqual(
        agent.lines.filter((line) => /"level":60/.test(line)),
        [],
        'the agent logged a fatal error',
      );
    },
    { boundedRuns: 10, shareOfFile: 1 },
  );
  const codes = new Map<string, number>();
  for (const attempts of results.values()) {
    const last = attempts[attempts.length - 1]!;
    const code = last.success ? 'ok' : String(last.error_code);
    codes.set(code, (codes.get(code) ?? 0) + 1);
  }
  console.log(`fuzz agent ← hub HTTP answers, results: ${[...codes].map(([code, count]) => `${code}: ${count}`).join(', ')}`);
});
