// The hub refuses commands outside a key's grant using shared/src/protocol/command-permissions.ts;
// the agent checks the permission each command definition names. They must agree for every command
// the agent ships, or the hub would refuse (or queue) what the agent decides differently.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { permissionFor } from '@tether/shared/protocol/command-permissions.ts';
import { createCommandRegistry } from '../../agent/src/commands/index.ts';
import { SystemMetricsSampler } from '../../agent/src/metrics/system-metrics.ts';
import { backupConfigSchema } from '../../agent/src/backup/config-schema.ts';
import { actionsConfigShape } from '../../agent/src/actions/config-schema.ts';

test('the hub maps every agent command to the permission the agent checks', () => {
  const registry = createCommandRegistry({
    sampler: new SystemMetricsSampler(),
    effectiveCommands: () => [],
    backup: backupConfigSchema.parse({}),
    actions: z.object(actionsConfigShape).parse({}),
  });
  const commands = registry.all();
  assert.ok(commands.length >= 15, `only ${commands.length} commands found`);
  for (const command of commands) assert.equal(permissionFor(command.name), command.permission, `command ${command.name}`);
  assert.equal(permissionFor('no_such_command'), 'no_such_command');
  assert.equal(permissionFor('constructor'), 'constructor', 'no prototype keys');
});
