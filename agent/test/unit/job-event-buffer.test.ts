// The buffer of job events kept while the link is down: order, bounds, and the marker that says
// where lines were dropped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { JobEvent } from '@tether/shared/protocol/agent-messages.ts';
import { JobEventBuffer } from '../../src/job-event-buffer.ts';

const output = (job: string, line: string): JobEvent => ({ type: 'job_output', job_id: job, command_id: job, agent_id: 'a', line, stream: 'stdout' });

test('per job: accepted first, then the lines in order, then the latest progress', () => {
  const buffer = new JobEventBuffer();
  buffer.add({ type: 'job_accepted', job_id: 'A', command_id: 'A', command: 'exec', queue_position: 0, is_priority: false });
  buffer.add(output('A', 'one'));
  buffer.add({ type: 'job_progress', job_id: 'A', command_id: 'A', progress: 10 });
  buffer.add(output('B', 'b-one'));
  buffer.add(output('A', 'two'));
  buffer.add({ type: 'job_progress', job_id: 'A', command_id: 'A', progress: 60 });
  const events = buffer.drain();
  assert.deepEqual(
    events.map((event) => (event.type === 'job_output' ? event.line : event.type === 'job_progress' ? `progress ${event.progress}` : event.type)),
    ['job_accepted', 'one', 'two', 'progress 60', 'b-one'],
  );
  assert.equal(buffer.size, 0);
  assert.deepEqual(buffer.drain(), []);
});

test('the last perJobBytes of a job are kept; a marker says how many earlier lines were dropped', () => {
  const buffer = new JobEventBuffer({ perJobBytes: 10 * (160 + 8), totalBytes: 1024 * 1024 });
  for (let i = 1; i <= 25; i += 1) buffer.add(output('A', `line ${String(i).padStart(3, '0')}`));
  const events = buffer.drain().filter((event) => event.type === 'job_output');
  assert.equal(events.length, 11);
  const [marker, ...kept] = events;
  assert.deepEqual(marker!.type === 'job_output' && marker!.dropped, { lines: 15, bytes: 15 * 8 });
  assert.match(marker!.type === 'job_output' ? marker!.line : '', /15 earlier lines \(120 bytes\) of output dropped while the link to the hub was down/);
  assert.equal(marker!.type === 'job_output' && marker!.stream, 'stderr');
  assert.deepEqual(
    kept.map((event) => (event.type === 'job_output' ? event.line : '')),
    Array.from({ length: 10 }, (_, i) => `line ${String(i + 16).padStart(3, '0')}`),
  );
});

test('the total bound takes lines from the largest job first and holds memory flat', () => {
  const buffer = new JobEventBuffer({ perJobBytes: 1024 * 1024, totalBytes: 64 * 1024 });
  for (let i = 0; i < 5000; i += 1) buffer.add(output('big', `big line ${i} ${'x'.repeat(100)}`));
  for (let i = 0; i < 10; i += 1) buffer.add(output('small', `small ${i}`));
  assert.ok(buffer.bytes <= 64 * 1024, `${buffer.bytes} bytes held`);
  const events = buffer.drain();
  const small = events.filter((event) => event.command_id === 'small');
  assert.equal(small.length, 10, 'the small job keeps all its lines');
  const bigMarker = events.find((event) => event.type === 'job_output' && event.command_id === 'big' && event.dropped);
  assert.ok(bigMarker && bigMarker.type === 'job_output' && bigMarker.dropped!.lines > 4000);
});
