// Private memory (USS) and RSS of a process, from /proc/PID/smaps_rollup.
import { readFileSync } from 'node:fs';

export interface MemorySample {
  uss_mb: number;
  rss_mb: number;
  /** The anonymous part of USS (heap, stacks); the rest is file pages only this process touched. */
  private_dirty_mb: number;
}

export function readMemory(pid: number): MemorySample {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);
  const kb = field('Private_Clean') + field('Private_Dirty');
  return { uss_mb: round(kb / 1024), rss_mb: round(field('Rss') / 1024), private_dirty_mb: round(field('Private_Dirty') / 1024) };
}

export function round(value: number, digits = 2): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

export function median(values: number[]): number {
  return percentile(
    [...values].sort((a, b) => a - b),
    50,
  );
}

/** CPU seconds (user + system) a process has used so far, from /proc/PID/stat. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticksPerSecond = 100; // USER_HZ on Linux
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}
