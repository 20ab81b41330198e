// Chaos sized for CI: a few hundred commands (long ones with output among them) while the hub is
// restarted, the agent is killed with SIGKILL and WebSocket is blocked, black-holed and healed.
// Every command ends with exactly one stored result; no action ever runs twice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runChaos } from './chaos-run.ts';

test('chaos: no command lost, no result stored twice, no action run twice', { timeout: 600_000 }, async () => {
  const report = await runChaos({ durationMs: 45_000, ratePerS: 8, stepMs: 5000, minSteps: 8, minCommands: 200, log: (line) => process.stdout.write(`# ${line}\n`) });
  process.stdout.write(`# chaos report: ${JSON.stringify({ ...report, lostIds: report.lostIds.slice(0, 20) })}\n`);
  assert.ok(report.sent >= 200, `sent ${report.sent}`);
  assert.ok(report.steps.length >= 8, 'every chaos step ran');
  assert.ok(report.switches >= 2, 'the agent went over to HTTP and back at least once');
  assert.equal(report.lost, 0, `lost: ${report.lostIds.join(', ')}`);
  assert.equal(report.stored, report.sent);
  assert.equal(report.duplicateResults, 0);
  assert.equal(report.duplicateRuns, 0);
});
