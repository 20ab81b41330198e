// The dump row counters count the same rows however the stream is cut into chunks (fast-check),
// including COPY values holding escaped newlines and "\." and MariaDB rows with quotes and parens.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PostgresRowCounter } from '../../src/backup/checks/postgres-row-counter.ts';
import { MysqlRowCounter } from '../../src/backup/checks/mysql-row-counter.ts';

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
