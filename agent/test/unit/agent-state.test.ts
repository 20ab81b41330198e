// agent.json survives damage: a bad file is set aside (*.corrupt), never a crash.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '@tether/shared/logger.ts';
import { AgentStateFile } from '../../src/state.ts';

test('agent.json: stable agent_id; a corrupt file is set aside and a new identity made', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tether-agent-state-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const log = createLogger({
    name: 'test',
    level: 'silent',
    destination: new Writable({
      write(_chunk, _enc, done) {
        done();
      },
    }),
  });
  const first = new AgentStateFile(dir, log);
  assert.equal(new AgentStateFile(dir, log).agentId, first.agentId);
  await writeFile(first.path, '{not json');
  const fresh = new AgentStateFile(dir, log);
  assert.notEqual(fresh.agentId, first.agentId);
  assert.equal((await readdir(dir)).filter((name) => name.startsWith('agent.json.') && name.endsWith('.corrupt')).length, 1);
});
