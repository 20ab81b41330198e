import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { admin, createKey, makeTempDir, startHubProcess, waitFor } from './helpers/hub-process.ts';
import { ENGINES, databaseArgs } from './helpers/hub-database.ts';
import type { HubProcess } from './helpers/hub-process.ts';
import { microHackAnswer, microHackRegisterData } from './helpers/micro-hack-client.ts';

function agentCall(hub: HubProcess, key: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  return fetch(`${hub.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  }).then(async (response) => ({ status: response.status, body: await response.json() }));
}

for (const { engine, skip } of ENGINES) {
  test(`HTTP polling (${engine})`, { skip }, async (t) => {
    const dir = await makeTempDir(t);
    const hub = await startHubProcess(join(dir, 'data'), ['--http-reoffer-s', '1', ...(await databaseArgs(engine, t))]);
    t.after(() => hub.stop());

    await t.test('micro-hack plain polling: register, heartbeat, ping/echo via the admin API', async () => {
      const { id, key } = await createKey(hub, 'mh-http');
      const registered = await agentCall(hub, key, 'POST', '/api/agents/heartbeat', { ...microHackRegisterData('mh-http-1'), connection_mode: 'http_polling' });
      assert.equal(registered.status, 200);
      assert.equal(registered.body.ok, true);
      assert.equal(registered.body.agent_id, 'mh-http-1');
      const beat = await agentCall(hub, key, 'POST', '/api/agents/heartbeat', { hostname: 'mh-host', platform: 'linux', mode: 'http_polling', version: '1.4.0', metrics: { cpu_percent: 1 } });
      assert.equal(beat.status, 200);

      let running = true;
      const agentLoop = (async () => {
        while (running) {
          const poll = await agentCall(hub, key, 'GET', '/api/agents/poll');
          for (const command of poll.body.commands) {
            const { type: _type, ...result } = microHackAnswer(command);
            await agentCall(hub, key, 'POST', '/api/agents/result', { command_id: command.command_id, result });
          }
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      })();
      t.after(() => {
        running = false;
        return agentLoop;
      });

      const echo = await admin(hub, 'POST', `/api/agents/keys/${id}/command`, { command: 'echo', data: { message: 'over http' }, wait_s: 30 });
      assert.equal(echo.status, 200);
      assert.equal(echo.body.result.data.echo, 'over http');
      const ping = await admin(hub, 'POST', `/api/agents/keys/${id}/ping`, { wait_s: 30 });
      assert.equal(ping.body.ok, true);
      const connected = await admin(hub, 'GET', '/api/agents/connected');
      const me = connected.body.agents.find((agent: any) => agent.key_id === id);
      assert.equal(me.transport, 'http_polling');
      running = false;
      await agentLoop;
    });

    await t.test('a long poll answers when a command is queued; duplicates stored once', async () => {
      const { id, key } = await createKey(hub, 'long');
      await agentCall(hub, key, 'POST', '/api/agents/heartbeat', { agent_id: 'long-1', hostname: 'h', version: '0.1.0', protocol: 1, connection_mode: 'http_polling' });
      assert.deepEqual((await agentCall(hub, key, 'GET', '/api/agents/poll')).body.commands, []);
      const pending = agentCall(hub, key, 'GET', '/api/agents/poll?wait=30');
      await new Promise((resolve) => setTimeout(resolve, 300));
      const queued = await admin(hub, 'POST', `/api/agents/keys/${id}/command`, { command: 'ping' });
      const answered = await pending;
      assert.equal(answered.body.commands.length, 1);
      assert.equal(answered.body.commands[0].command_id, queued.body.command_id);
      assert.equal(typeof answered.body.commands[0].signature, 'string');

      const commandId = queued.body.command_id;
      const first = await agentCall(hub, key, 'POST', '/api/agents/result', { command_id: commandId, result: { command_id: commandId, success: true, data: { n: 1 } } });
      const second = await agentCall(hub, key, 'POST', '/api/agents/result', { command_id: commandId, result: { command_id: commandId, success: true, data: { n: 2 } } });
      assert.equal(first.body.stored, true);
      assert.equal(second.status, 200);
      assert.equal(second.body.stored, false);
      assert.deepEqual((await admin(hub, 'GET', `/api/commands/${commandId}`)).body.result.data, { n: 1 });

      assert.equal((await agentCall(hub, key, 'GET', '/api/agents/poll?wait=99')).status, 400);
      assert.equal((await agentCall(hub, key, 'POST', '/api/agents/result', { nope: true })).status, 400);
      assert.equal((await agentCall(hub, key, 'POST', '/api/agents/events', { events: [{ type: 'job_output', job_id: commandId, line: 'hi' }] })).status, 200);
    });

    await t.test('a polled command never answered is offered again', async () => {
      const { id, key } = await createKey(hub, 'reoffer');
      const queued = await admin(hub, 'POST', `/api/agents/keys/${id}/command`, { command: 'ping' });
      const firstPoll = await agentCall(hub, key, 'GET', '/api/agents/poll');
      assert.equal(firstPoll.body.commands[0].command_id, queued.body.command_id);
      const again = await waitFor('the command offered again', async () => {
        const poll = await agentCall(hub, key, 'GET', '/api/agents/poll');
        return poll.body.commands.find((command: any) => command.command_id === queued.body.command_id);
      });
      assert.equal(again.command, 'ping');
    });
  });
}
