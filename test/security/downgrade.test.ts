// Issue 9 item 14: an `update` naming a version older than the running one could install any older
// signed release (with the holes it had). It is refused unless the host's own config says
// update.allow_downgrade: true. The agent runs from source with TETHER_SUPERVISED=1, since the
// refusal comes before anything the supervisor does; the whole path with a real supervisor and
// real releases is in test/lifecycle/update.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile } from 'node:fs/promises';
import { VERSION } from '../../shared/src/version.ts';
import { command, waitForAgent } from '../helpers/system.ts';
import { hubForFile, makeHost } from './helpers.ts';

const fx = hubForFile('downgrade');

test('update to an older version is refused unless update.allow_downgrade is set locally', { timeout: 120_000 }, async () => {
  const host = await makeHost(fx.hub, 'downgrade', { permissions: ['ping', 'update'] });
  fx.onCleanup(() => host.cleanup());
  const supervised = { TETHER_SUPERVISED: '1' };
  let agent = host.start(fx.hub.wsUrl, supervised);
  await waitForAgent(fx.hub, host.key.id);

  const refused = await command(fx.hub, host.key.id, 'update', { version: '0.0.1' });
  assert.equal(refused.body.result.success, false);
  assert.equal(refused.body.result.error_code, 'failed');
  assert.match(refused.body.result.error, new RegExp(`update refused: 0\\.0\\.1 is older than the running ${VERSION.replace(/\./g, '\\.')}.*update\\.allow_downgrade: true`));
  assert.match(refused.body.result.error, /running version is unchanged/);

  await agent.stop('SIGTERM');
  await appendFile(host.configPath, 'update:\n  allow_downgrade: true\n');
  agent = host.start(fx.hub.wsUrl, supervised);
  await waitForAgent(fx.hub, host.key.id);
  // Allowed now: it gets past the version rule and fails only because this hub publishes nothing.
  const attempted = await command(fx.hub, host.key.id, 'update', { version: '0.0.1' });
  assert.equal(attempted.body.result.success, false);
  assert.doesNotMatch(attempted.body.result.error, /older than the running|allow_downgrade/, attempted.body.result.error);
  await agent.stop('SIGTERM');
});
