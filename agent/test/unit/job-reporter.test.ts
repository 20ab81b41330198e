import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createJobReporter } from '../../src/job-reporter.ts';

const ids = { jobId: 'j', commandId: 'c', agentId: 'a' };

test('job_output: long lines capped, a flood rate-limited with one notice, total capped with a marker', () => {
  const sent: Record<string, any>[] = [];
  const reporter = createJobReporter(ids, (message) => sent.push(message), { maxLinesPerS: 10, maxOutputBytes: 100_000 });
  reporter.output('x'.repeat(10_000));
  assert.equal(sent[0]!.line.length, 4097, 'a line is cut at 4096 characters plus …');
  for (let i = 0; i < 50; i++) reporter.output(`line ${i}`);
  const lines = sent.map((message) => message.line as string);
  assert.equal(lines.length, 11, 'ten lines per second, then one notice');
  assert.match(lines.at(-1)!, /output rate limit/);
  assert.equal(
    sent.every((message) => message.type === 'job_output' && message.command_id === 'c'),
    true,
  );

  const flood: Record<string, any>[] = [];
  const capped = createJobReporter(ids, (message) => flood.push(message), { maxLinesPerS: 1_000_000, maxOutputBytes: 1000 });
  for (let i = 0; i < 500; i++) capped.output('0123456789');
  assert.equal(flood.at(-1)!.line, '[output truncated]');
  assert.equal(flood.filter((message) => message.line === '[output truncated]').length, 1);
  assert.ok(flood.length <= 102);
});

test('job_progress: rate-limited, but 100 % always goes out', () => {
  const sent: Record<string, any>[] = [];
  const reporter = createJobReporter(ids, (message) => sent.push(message));
  for (let i = 0; i < 50; i++) reporter.progress({ progress: i });
  reporter.progress({ progress: 100 });
  assert.equal(sent.length, 2);
  assert.equal(sent.at(-1)!.progress, 100);
});
