import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger, MASK } from '../src/logger.ts';

function capture(secrets?: string[]) {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  const log = createLogger({ name: 'test', level: 'trace', destination, secrets: secrets ? () => secrets : undefined });
  return { log, lines };
}

test('secret fields are redacted at the top level, one and two levels down, and in headers', () => {
  const { log, lines } = capture();
  log.info({ api_key: 'k1', token: 't1', nested: { password: 'p1', deeper: { authorization: 'Bearer z' } }, headers: { authorization: 'Bearer y' } }, 'fields');
  const record = JSON.parse(lines[0]!);
  assert.equal(record.api_key, MASK);
  assert.equal(record.token, MASK);
  assert.equal(record.nested.password, MASK);
  assert.equal(record.nested.deeper.authorization, MASK);
  assert.equal(record.headers.authorization, MASK);
});

test('known secret values are masked wherever they appear: messages, nested strings, errors', () => {
  const secret = 'tak_0123456789abcdefghij';
  const { log, lines } = capture([secret]);
  log.warn(`connecting with ${secret}`);
  log.error({ url: `wss://hub/ws/agent?api_key=${secret}`, list: [secret] }, 'url');
  log.error(new Error(`handshake failed for ${secret}`));
  assert.equal(lines.length, 3);
  for (const line of lines) assert.ok(!line.includes(secret), line);
  assert.match(lines[1]!, /api_key=\[redacted\]/);
});

test('a logger without secrets logs normally', () => {
  const { log, lines } = capture();
  log.info('plain');
  assert.equal(JSON.parse(lines[0]!).msg, 'plain');
});

test('URL passwords and api_key query parameters are masked without being declared; so are env secrets', () => {
  const previous = process.env.TEST_LOGGER_DB_PASSWORD;
  process.env.TEST_LOGGER_DB_PASSWORD = 'env-held-password-123';
  try {
    const { log, lines } = capture();
    log.info({ target: 'postgres://backup:hunter22@db/app', argv: ['curl', 'https://h/x?api_key=k123456'] }, 'connecting to wss://agent:s3cretpw@hub');
    log.warn('pg_dump said: env-held-password-123 rejected');
    const [first, second] = lines.map((line) => JSON.parse(line));
    assert.equal(first.target, 'postgres://backup:[redacted]@db/app');
    assert.deepEqual(first.argv, ['curl', 'https://h/x?api_key=[redacted]']);
    assert.equal(first.msg, 'connecting to wss://agent:[redacted]@hub');
    assert.equal(second.msg, 'pg_dump said: [redacted] rejected');
  } finally {
    if (previous === undefined) delete process.env.TEST_LOGGER_DB_PASSWORD;
    else process.env.TEST_LOGGER_DB_PASSWORD = previous;
  }
});
