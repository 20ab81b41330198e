// Fuzzing what the agent receives from a hub (issue 9, "Fuzzing"): a real agent process connects
// to a hub written here (a `ws` server that speaks the protocol and holds the signing key the agent
// pins), which sends fast-check-made frames: commands of every name with data of any shape,
// signed correctly, signed wrongly or not at all, with odd timestamps, deadlines and timeouts;
// cancel, ack and permissions frames; connected / registered / error frames with fields of any
// shape; unknown types, text that is not JSON, bytes. Properties: the agent never exits, answers a
// signed ping after every case (no hang), answers every command it parsed exactly with a response,
// and an `effect` action leaves its marker only for a correctly signed command that succeeded.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { join } from 'node:path';
import fc from 'fast-check';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import { signEd25519 } from '../../shared/src/crypto.ts';
import { cancelPayload } from '../../shared/src/protocol/signed-payloads.ts';
import { waitFor } from '../helpers/process.ts';
import type { RunningProcess } from '../helpers/process.ts';
import { agentEnv, startAgent, tempDir } from '../helpers/system.ts';
import { fuzz, jsonish, nastyString } from './fuzz-run.ts';
import { FuzzHubKeys, GRANT, effectsWritten, writeFuzzedAgentConfig } from './fuzzed-agent.ts';
import type { CommandFields } from './fuzzed-agent.ts';

const AGENT_KEY = 'tak_fuzz-agent-frames-key-0123456789';
const keys = new FuzzHubKeys(AGENT_KEY);

let dir: { path: string; remove(): Promise<void> };
let server: WebSocketServer;
let httpServer: Server;
let agent: RunningProcess;
let marker: string;
/** The agent's live socket once it has registered. */
let socket: WebSocket | undefined;
const received: Record<string, any>[] = [];
/** Correctly signed exec commands whose response succeeded: the only effects allowed. */
const allowedEffects = new Set<string>();

function connectedFrame(signingKey = keys.signing.publicKey): Record<string, unknown> {
  return {
    type: 'connected',
    message: 'fuzz hub',
    agent_key_id: 'k-fuzz',
    permissions: GRANT,
    timestamp: new Date().toISOString(),
    protocol: 1,
    session_id: 's',
    heartbeat_interval_s: 30,
    signing_key: signingKey,
  };
}

function signedCommand(fields: CommandFields, timestamp = new Date().toISOString()): Record<string, unknown> {
  return { type: 'command', ...keys.command(fields, timestamp) };
}

function signedAck(commandIds: string[]): Record<string, unknown> {
  return { type: 'ack', ...keys.ack(commandIds) };
}

before(async () => {
  dir = await tempDir('fuzz-agent-frames');
  let configPath: string;
  ({ configPath, marker } = await writeFuzzedAgentConfig(dir.path, keys.signing.publicKey));
  // The hub's HTTP side (update, downloads) answers 404 to whatever the fuzzed commands ask for.
  httpServer = createServer((_request, response) => response.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not here"}'));
  server = new WebSocketServer({ server: httpServer });
  server.on('connection', (ws) => {
    ws.on('message', (raw) => {
      let message: Record<string, any>;
      try {
        message = JSON.parse(raw.toString());
      } catch {
        return;
      }
      received.push(message);
      if (message.type === 'register') {
        ws.send(JSON.stringify({ type: 'registered', agent_id: message.data?.agent_id }));
        socket = ws;
      }
      if (message.type === 'heartbeat') ws.send(JSON.stringify({ type: 'heartbeat_ack' }));
      if (message.type === 'response') ws.send(JSON.stringify(signedAck([String(message.command_id)])));
    });
    ws.send(JSON.stringify(connectedFrame()));
  });
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  const port = (httpServer.address() as { port: number }).port;
  agent = startAgent(agentEnv({ wsUrl: `ws://127.0.0.1:${port}` }, AGENT_KEY, join(dir.path, 'state'), { TETHER_CONFIG: configPath, TETHER_LOG_LEVEL: 'info' }));
  await waitFor(() => socket, 'the agent to register');
});

after(async () => {
  await agent?.stop();
  for (const client of server?.clients ?? []) client.terminate();
  server?.close();
  httpServer?.closeAllConnections();
  httpServer?.close();
  await dir?.remove();
});

const COMMANDS = [
  'ping',
  'echo',
  'info',
  'metrics',
  'capabilities',
  'exec',
  'git_pull',
  'docker_restart',
  'backup',
  'backup_list',
  'backup_download',
  'backup_verify',
  'backup_prune',
  'restore',
  'update',
  'update_agent',
  'restart',
  'redeploy',
  'uninstall',
];
const timestampish = fc.oneof(
  { arbitrary: fc.constant('now'), weight: 6 },
  fc.constantFrom('2026-11-22T04:34:36.867800', '1970-01-01T00:00:00Z', '9999-12-31T23:59:59Z', 'soon'),
  fc.date({ noInvalidDate: true }).map((date) => date.toISOString()),
  nastyString(20),
);
const execData = fc.record(
  {
    action: fc.oneof({ arbitrary: fc.constant('effect'), weight: 3 }, nastyString(16)),
    args: fc.oneof(fc.record({ id: fc.oneof(fc.stringMatching(/^[a-z0-9-]{1,40}$/), nastyString(50)) }, { requiredKeys: [] }), jsonish()),
  },
  { requiredKeys: [] },
);
const commandData = fc.oneof(
  { arbitrary: execData, weight: 3 },
  fc.record(
    {
      message: nastyString(),
      target: nastyString(20),
      id: nastyString(20),
      keep: fc.oneof(fc.integer(), nastyString(4)),
      version: fc.oneof(fc.constantFrom('latest', '0.0.1', '99.0.0'), nastyString(12)),
      repository_path: nastyString(40),
      container_name: nastyString(20),
      branch: nastyString(20),
      destination: nastyString(8),
    },
    { requiredKeys: [] },
  ),
  jsonish(),
);

/** Absent more often than not, so that valid commands (which leave most options out) are common. */
const mostlyAbsent = <T>(arbitrary: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.oneof({ arbitrary: fc.constant(undefined), weight: 2 }, arbitrary);

/** One hub → agent frame, described so the test can sign it at send time. */
const hubFrame = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('command' as const),
      command: fc.oneof({ arbitrary: fc.constantFrom(...COMMANDS), weight: 4 }, nastyString(20)),
      data: mostlyAbsent(commandData),
      timestamp: timestampish,
      deadline: mostlyAbsent(fc.oneof(fc.constant('later'), timestampish)),
      timeout_s: mostlyAbsent(fc.oneof(fc.constantFrom(0.001, 1, 30), fc.double(), fc.integer())),
      signature: fc.constantFrom('right', 'right', 'right', 'wrong-key', 'garbage', 'none'),
      id: fc.oneof({ arbitrary: fc.constant('fresh'), weight: 5 }, fc.constant('repeat'), nastyString(30), fc.integer()),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('cancel' as const), id: fc.oneof(fc.constant('repeat'), nastyString(30)), signed: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('ack' as const), ids: fc.array(fc.oneof(fc.constant('repeat'), nastyString(30)), { maxLength: 3 }), signed: fc.boolean() }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('permissions' as const), permissions: fc.oneof(fc.subarray(GRANT), fc.array(nastyString(12), { maxLength: 4 }), jsonish()), signed: fc.boolean() }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('raw' as const),
      frame: fc.oneof(
        fc.record(
          {
            type: fc.constantFrom('connected', 'registered', 'error', 'heartbeat_ack', 'hello', ''),
            message: nastyString(),
            agent_id: nastyString(20),
            permissions: fc.oneof(fc.array(nastyString(10), { maxLength: 3 }), jsonish()),
            protocol: fc.oneof(fc.constant(1), fc.integer()),
            heartbeat_interval_s: fc.oneof(fc.double(), fc.integer(), nastyString(4)),
            signing_key: fc.constantFrom(keys.signing.publicKey, keys.signing.publicKey, keys.other.publicKey, 'AAAA', ''),
          },
          { requiredKeys: ['type'] },
        ),
        jsonish(),
      ),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('text' as const), text: fc.oneof(fc.string({ maxLength: 200 }), fc.constantFrom('{', 'null', '[]', '"command"', '{"type":"command"}')) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('bytes' as const), bytes: fc.uint8Array({ maxLength: 200 }) }) },
);
type HubFrame = typeof hubFrame extends fc.Arbitrary<infer T> ? T : never;

let serial = 0;
let lastId = 'none-yet';

function resolveTimestamp(value: string): string {
  if (value === 'now') return new Date().toISOString();
  return value === 'later' ? new Date(Date.now() + 60_000).toISOString() : value;
}

/** Builds and sends one frame; returns the command id when it was a command frame. */
function send(ws: WebSocket, frame: HubFrame): { commandId?: string; signedExecId?: string } {
  switch (frame.kind) {
    case 'command': {
      const commandId = frame.id === 'fresh' ? `fz-${process.pid}-${++serial}` : frame.id === 'repeat' ? lastId : (frame.id as string | number);
      lastId = String(commandId);
      const fields = {
        command_id: String(commandId),
        command: frame.command,
        data: frame.data,
        deadline: frame.deadline === undefined ? undefined : resolveTimestamp(frame.deadline),
        timeout_s: frame.timeout_s,
      };
      const timestamp = resolveTimestamp(frame.timestamp);
      let message: Record<string, unknown> = signedCommand(fields, timestamp);
      if (frame.signature === 'wrong-key') message.signature = keys.commandSignature(fields, timestamp, 'other');
      if (frame.signature === 'garbage') message.signature = 'AAAA';
      if (frame.signature === 'none') delete message.signature;
      if (typeof frame.id === 'number') message = { ...message, command_id: frame.id };
      ws.send(JSON.stringify(message));
      const args = (frame.data as { args?: { id?: unknown } } | undefined)?.args;
      const signedExecId = frame.signature === 'right' && frame.command === 'exec' && typeof args?.id === 'string' ? args.id : undefined;
      return { commandId: String(commandId), signedExecId };
    }
    case 'cancel': {
      const commandId = frame.id === 'repeat' ? lastId : frame.id;
      const timestamp = new Date().toISOString();
      const signature = frame.signed ? signEd25519(keys.signing.privateKeyPem, cancelPayload({ command_id: commandId, timestamp }, keys.keySha256)) : undefined;
      ws.send(JSON.stringify({ type: 'cancel', command_id: commandId, timestamp, signature }));
      return {};
    }
    case 'ack': {
      const ids = frame.ids.map((id) => (id === 'repeat' ? lastId : id));
      ws.send(JSON.stringify(frame.signed ? signedAck(ids) : { type: 'ack', command_ids: ids }));
      return {};
    }
    case 'permissions': {
      const permissions = frame.permissions as string[];
      ws.send(JSON.stringify(frame.signed && Array.isArray(permissions) && permissions.every((p) => typeof p === 'string') ? keys.grant(permissions) : { type: 'permissions', permissions }));
      return {};
    }
    case 'raw':
      ws.send(JSON.stringify(frame.frame));
      return {};
    case 'text':
      ws.send(frame.text);
      return {};
    case 'bytes':
      ws.send(Buffer.from(frame.bytes), { binary: true });
      return {};
  }
}

function responseFor(commandId: string): Record<string, any> | undefined {
  return received.find((message) => message.type === 'response' && message.command_id === commandId);
}

/** The agent still serves: a signed ping is answered. After a refusal of everything (the fuzzer offered another signing key), a reconnect resets it. */
async function agentServes(): Promise<void> {
  for (let attempt = 0; attempt < 2; attempt++) {
    const ws = await waitFor(() => socket, 'the agent to be connected', 60_000);
    ws.send(JSON.stringify(keys.grant(GRANT)));
    const id = `health-${process.pid}-${++serial}`;
    ws.send(JSON.stringify(signedCommand({ command_id: id, command: 'ping' })));
    const answer = await waitFor(() => responseFor(id), `an answer to the health ping ${id}`, 30_000, 10);
    if (answer.success === true) return;
    socket = undefined;
    ws.terminate();
  }
  throw new Error('the agent answers no signed ping, even after reconnecting');
}

test('every frame a hub can send: the agent stays up, answers, runs only what is signed and valid', { timeout: 3_600_000 }, async () => {
  await fuzz(
    'agent ← hub WebSocket frames',
    fc.array(hubFrame, { minLength: 1, maxLength: 6 }),
    async (frames) => {
      const ws = await waitFor(() => socket, 'the agent to be connected', 60_000);
      const sent: { commandId?: string; signedExecId?: string }[] = [];
      for (const frame of frames) sent.push(send(ws, frame));
      await agentServes();
      assert.equal(agent.exitInfo, null, `the agent exited: ${agent.lines.slice(-5).join('\n')}`);
      // Every command the agent could parse has a response (the signed ping came after them).
      for (const { commandId, signedExecId } of sent) {
        if (commandId === undefined) continue;
        const answer = responseFor(commandId);
        if (signedExecId && answer?.success === true) allowedEffects.add(signedExecId);
      }
      const effects = effectsWritten(marker);
      for (const effect of effects) assert.ok(allowedEffects.has(effect), `effect ${effect} ran without a correctly signed, successful exec`);
      assert.deepEqual(
        agent.lines.filter((line) => /"level":60/.test(line)),
        [],
        'the agent logged a fatal error',
      );
    },
    { boundedRuns: 25, shareOfFile: 1 },
  );
  const answers = received.filter((message) => message.type === 'response');
  const codes = new Map<string, number>();
  for (const answer of answers) codes.set(answer.success ? 'ok' : String(answer.error_code), (codes.get(answer.success ? 'ok' : String(answer.error_code)) ?? 0) + 1);
  console.log(`fuzz agent ← hub WebSocket frames, responses: ${[...codes].map(([code, count]) => `${code}: ${count}`).join(', ')}`);
});
