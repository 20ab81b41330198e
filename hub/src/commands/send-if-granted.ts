// A command the hub created by itself (a fleet target's, a rollout host's update): sent like any
// other when the key's grant covers it, else answered permission_denied on the hub at once.
import type { CommandRecord, HubStore } from '../store/store.ts';
import type { CommandRouter } from './command-router.ts';
import { grantCovers } from './grant-check.ts';
import { pauseForTest } from '@tether/shared/release/test-pause.ts';

export async function sendIfGranted(store: HubStore, router: CommandRouter, record: CommandRecord): Promise<void> {
  const key = await store.getKey(record.key_id);
  if (!key || !grantCovers(key, record.command)) {
    await router.recordResult(record.key_id, {
      command_id: record.command_id,
      success: false,
      data: {},
      error: `agent key ${record.key_id} is not granted "${record.command}"; grant it with PATCH /api/agents/keys/${record.key_id}`,
      error_code: 'permission_denied',
    });
    return;
  }
  // Test hook (deliver-once.test.ts): the record is stale by the time it is sent, answered meanwhile.
  await pauseForTest('hub:send-if-granted');
  await router.sendStored(record);
}
