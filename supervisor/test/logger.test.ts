// The supervisor's logger takes pino's arguments: (msg) or (fields, msg), and writes pino-shaped lines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../src/logger.ts';

function capture(level: Parameters<typeof createLogger>[0]) {
  const lines: Array<Record<string, unknown>> = [];
  return { log: createLogger(level, (line) => lines.push(JSON.parse(line) as Record<string, unknown>)), lines };
}

test('(msg) and (fields, msg) both write one JSON line with pino levels; fields follow the message', () => {
  const { log, lines } = capture('info');
  log.info('plain message');
  log.warn({ version: '1.2.3', agent_pid: 42 }, 'with fields');
  log.error({ err: new Error('boom') }, 'with an error');
  assert.equal(lines.length, 3);
  assert.deepEqual({ ...lines[0], time: undefined, pid: undefined }, { time: undefined, pid: undefined, level: 30, name: 'supervisor', msg: 'plain message' });
  assert.equal(lines[1]!.level, 40);
  assert.equal(lines[1]!.msg, 'with fields');
  assert.equal(lines[1]!.version, '1.2.3');
  assert.deepEqual(Object.keys(lines[1]!), ['time', 'level', 'pid', 'name', 'msg', 'version', 'agent_pid']);
  assert.equal((lines[2]!.err as { message: string }).message, 'boom');
});

test('lines below the level are dropped', () => {
  const { log, lines } = capture('warn');
  log.debug('no');
  log.info({ a: 1 }, 'no');
  log.warn('yes');
  assert.deepEqual(
    lines.map((line) => line.msg),
    ['yes'],
  );
});
