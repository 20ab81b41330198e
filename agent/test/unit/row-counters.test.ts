// The dump row counters count the same rows however the stream is cut into chunks (fast-check),
// including COPY values holding escaped newlines and "\." and MariaDB rows with quotes and parens.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PostgresRowCounter } from '../../src/backup/checks/postgres-row-counter.ts';
import { MysqlRowCounter } from '../../src/backup/checks/mysql-row-counter.ts';
import { countNewlines } from '../../src/backup/checks/count-newlines.ts';

const PG_DUMP = Buffer.from(
  [
    'SET statement_timeout = 0;',
    'CREATE TABLE public.orders (id integer, note text);',
    'COPY public.orders (id, note) FROM stdin;',
    '1\tline\\nbreak',
    '2\ta \\\\. inside',
    '3\t\\.x',
    '\\.',
    '',
    'COPY "Sales Dept"."Big ""Deals""" (id) FROM stdin;',
    '7',
    '\\.',
    'COPY public.empty (id) FROM stdin;',
    '\\.',
    'ALTER TABLE ONLY public.orders ADD CONSTRAINT orders_pkey PRIMARY KEY (id);',
    '',
  ].join('\n'),
);

const MYSQL_DUMP = Buffer.from(
  [
    'CREATE TABLE `items` (',
    '  `id` int NOT NULL',
    ') ENGINE=InnoDB;',
    'INSERT INTO `items` VALUES',
    "(1,'it\\'s (1), \"q\"'),",
    "(2,'a),(b'),",
    '(3,NULL);',
    "INSERT INTO `items` VALUES (4,'x'),(5,'y');",
    'CREATE TABLE `odd``name` (`id` int);',
    'INSERT INTO `odd``name` VALUES (1);',
    'CREATE TABLE `nothing` (`id` int);',
    '',
  ].join('\n'),
);

function cuts(length: number) {
  return fc.uniqueArray(fc.integer({ min: 1, max: length - 1 }), { maxLength: 12 }).map((points) => [0, ...points.sort((a, b) => a - b), length]);
}

test('PostgreSQL COPY row counts do not depend on chunk boundaries', () => {
  fc.assert(
    fc.property(cuts(PG_DUMP.length), (points) => {
      const counter = new PostgresRowCounter();
      for (let i = 1; i < points.length; i++) counter.push(PG_DUMP.subarray(points[i - 1], points[i]));
      assert.deepEqual(counter.counts, { 'public.orders': 3, 'Sales Dept.Big "Deals"': 1, 'public.empty': 0 });
    }),
    { numRuns: 300 },
  );
});

// Long enough that the newlines of a chunk are counted by the WebAssembly SIMD loop, not the small-input loop.
const BIG_PG_DUMP = Buffer.from(
  [
    'COPY public.big (id, note) FROM stdin;',
    ...Array.from({ length: 5000 }, (_, i) => `${i}\t${'x'.repeat(i % 37)}\\.\\n`),
    '\\.',
    'COPY public.after (id) FROM stdin;',
    '\\.',
    'COPY public.last (id) FROM stdin;',
    '1',
    '\\.',
    '',
  ].join('\n'),
);

test('PostgreSQL COPY row counts of a long dump do not depend on chunk boundaries', () => {
  fc.assert(
    fc.property(cuts(BIG_PG_DUMP.length), (points) => {
      const counter = new PostgresRowCounter();
      for (let i = 1; i < points.length; i++) counter.push(BIG_PG_DUMP.subarray(points[i - 1], points[i]));
      assert.deepEqual(counter.counts, { 'public.big': 5000, 'public.after': 0, 'public.last': 1 });
    }),
    { numRuns: 200 },
  );
});

test('countNewlines agrees with a byte-by-byte count at every length and offset', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 0, maxLength: 5000 }), fc.nat(16), (bytes, skip) => {
      for (let i = 0; i < bytes.length; i += 3) if (bytes[i]! % 4 === 0) bytes[i] = 10;
      const view = bytes.subarray(Math.min(skip, bytes.length));
      assert.equal(countNewlines(view), view.filter((byte) => byte === 10).length);
    }),
    { numRuns: 300 },
  );
  const large = Buffer.alloc((3 << 20) + 17, 10);
  assert.equal(countNewlines(large), large.length);
});

test('MariaDB INSERT row counts do not depend on chunk boundaries', () => {
  fc.assert(
    fc.property(cuts(MYSQL_DUMP.length), (points) => {
      const counter = new MysqlRowCounter();
      for (let i = 1; i < points.length; i++) counter.push(MYSQL_DUMP.subarray(points[i - 1], points[i]));
      counter.end();
      assert.deepEqual(counter.counts, { items: 5, 'odd`name': 1, nothing: 0 });
    }),
    { numRuns: 300 },
  );
});
