// The heartbeat's system_metrics, measured for real from /proc, statfs and os.
import { readFile, statfs } from 'node:fs/promises';
import os from 'node:os';
import type { SystemMetrics } from '@tether/shared/protocol/metrics.ts';
import { cpuPercentBetween, parseMeminfo, parseNetDev, parseProcStat } from './proc-parsers.ts';
import type { CpuTimes } from './proc-parsers.ts';

const GIB = 1024 ** 3;
const round2 = (value: number): number => Math.round(value * 100) / 100;

async function readText(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return null;
  }
}

/** CPU times from /proc/stat, or from os.cpus() where there is no /proc. */
async function cpuTimes(): Promise<CpuTimes> {
  const parsed = parseProcStat((await readText('/proc/stat')) ?? '');
  if (parsed) return parsed;
  let idle = 0;
  let total = 0;
  for (const cpu of os.cpus()) {
    const times = cpu.times;
    idle += times.idle;
    total += times.user + times.nice + times.sys + times.idle + times.irq;
  }
  return { idle, total };
}

export class SystemMetricsSampler {
  #lastCpu: CpuTimes | null = null;

  /** CPU % is the busy share since the previous sample; the first call measures over 250 ms. */
  async sample(): Promise<SystemMetrics> {
    let before = this.#lastCpu;
    if (!before) {
      before = await cpuTimes();
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const after = await cpuTimes();
    this.#lastCpu = after;

    const mem = parseMeminfo((await readText('/proc/meminfo')) ?? '') ?? { totalBytes: os.totalmem(), availableBytes: os.freemem() };
    const memUsed = mem.totalBytes - mem.availableBytes;

    let diskTotal = 0;
    let diskUsed = 0;
    let diskAvailable = 0;
    try {
      const fs = await statfs('/');
      diskTotal = fs.blocks * fs.bsize;
      diskUsed = (fs.blocks - fs.bfree) * fs.bsize;
      diskAvailable = fs.bavail * fs.bsize;
    } catch {
      // No statfs here: report zeros rather than fail the heartbeat.
    }
    const diskUsable = diskUsed + diskAvailable;
    const net = parseNetDev((await readText('/proc/net/dev')) ?? '');

    return {
      cpu_percent: round2(cpuPercentBetween(before, after)),
      cpu_count: os.availableParallelism(),
      memory_percent: mem.totalBytes > 0 ? round2((memUsed / mem.totalBytes) * 100) : 0,
      memory_used_gb: round2(memUsed / GIB),
      memory_total_gb: round2(mem.totalBytes / GIB),
      // Like df: used / (used + available to unprivileged users).
      disk_percent: diskUsable > 0 ? round2((diskUsed / diskUsable) * 100) : 0,
      disk_used_gb: round2(diskUsed / GIB),
      disk_total_gb: round2(diskTotal / GIB),
      net_bytes_sent: net.bytesSent,
      net_bytes_recv: net.bytesRecv,
      load_1min: round2(os.loadavg()[0] ?? 0),
    };
  }
}
