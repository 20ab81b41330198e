// Pure parsers for the Linux /proc text the metrics come from (unit-tested with fixtures).

export interface CpuTimes {
  idle: number;
  total: number;
}

/** The aggregate `cpu` line of /proc/stat: idle = idle + iowait, total = every column. */
export function parseProcStat(text: string): CpuTimes | null {
  const line = text.split('\n').find((row) => /^cpu\s/.test(row));
  if (!line) return null;
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  if (values.length < 4 || values.some((value) => !Number.isFinite(value))) return null;
  // user nice system idle iowait irq softirq steal guest guest_nice; guest time is already in user.
  const counted = values.slice(0, 8);
  const total = counted.reduce((sum, value) => sum + value, 0);
  const idle = (values[3] ?? 0) + (values[4] ?? 0);
  return { idle, total };
}

export function cpuPercentBetween(before: CpuTimes, after: CpuTimes): number {
  const total = after.total - before.total;
  const idle = after.idle - before.idle;
  if (total <= 0) return 0;
  return Math.min(100, Math.max(0, ((total - idle) / total) * 100));
}

export interface MemInfo {
  totalBytes: number;
  availableBytes: number;
}

export function parseMeminfo(text: string): MemInfo | null {
  const fields = new Map<string, number>();
  for (const row of text.split('\n')) {
    const match = /^(\w+):\s+(\d+)\s*kB/.exec(row);
    if (match) fields.set(match[1]!, Number(match[2]) * 1024);
  }
  const total = fields.get('MemTotal');
  if (total === undefined) return null;
  // Kernels before 3.14 have no MemAvailable; free + buffers + cached approximates it.
  const available = fields.get('MemAvailable') ?? (fields.get('MemFree') ?? 0) + (fields.get('Buffers') ?? 0) + (fields.get('Cached') ?? 0);
  return { totalBytes: total, availableBytes: available };
}

export interface NetTotals {
  bytesRecv: number;
  bytesSent: number;
}

/** Sums every interface of /proc/net/dev except loopback. */
export function parseNetDev(text: string): NetTotals {
  let bytesRecv = 0;
  let bytesSent = 0;
  for (const row of text.split('\n')) {
    const colon = row.indexOf(':');
    if (colon < 0) continue;
    const name = row.slice(0, colon).trim();
    if (name === 'lo' || name === '') continue;
    const columns = row
      .slice(colon + 1)
      .trim()
      .split(/\s+/)
      .map(Number);
    if (columns.length < 9) continue;
    bytesRecv += columns[0] ?? 0;
    bytesSent += columns[8] ?? 0;
  }
  return { bytesRecv, bytesSent };
}
