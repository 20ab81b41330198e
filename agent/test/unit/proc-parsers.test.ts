import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpuPercentBetween, parseMeminfo, parseNetDev, parseProcStat } from '../../src/metrics/proc-parsers.ts';

test('/proc/stat: cpu percent from two samples', () => {
  const a = parseProcStat('cpu  100 0 100 700 100 0 0 0 0 0\ncpu0 1 2 3 4\n')!;
  const b = parseProcStat('cpu  200 0 150 1000 150 0 0 0 0 0\n')!;
  assert.deepEqual(a, { idle: 800, total: 1000 });
  // busy +150 of total +500
  assert.equal(cpuPercentBetween(a, b), 30);
  assert.equal(cpuPercentBetween(b, b), 0);
  assert.equal(parseProcStat('garbage'), null);
});

test('/proc/meminfo: total and available, with a fallback for old kernels', () => {
  const modern = parseMeminfo('MemTotal:       16000000 kB\nMemFree:         1000000 kB\nMemAvailable:    8000000 kB\n')!;
  assert.deepEqual(modern, { totalBytes: 16000000 * 1024, availableBytes: 8000000 * 1024 });
  const old = parseMeminfo('MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 50 kB\nCached: 250 kB\n')!;
  assert.equal(old.availableBytes, 400 * 1024);
  assert.equal(parseMeminfo(''), null);
});

test('/proc/net/dev: sums every interface except lo', () => {
  const text = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo: 999999     100    0    0    0     0          0         0   999999     100    0    0    0     0       0          0
  eth0: 1000      10    0    0    0     0          0         0     2000      20    0    0    0     0       0          0
 wlan0:500 5 0 0 0 0 0 0 700 7 0 0 0 0 0 0
`;
  assert.deepEqual(parseNetDev(text), { bytesRecv: 1500, bytesSent: 2700 });
});
