// Facts about this host and process that register and `info` report.
import os from 'node:os';
import { existsSync, readFileSync } from 'node:fs';

export function localIp(): string {
  for (const addresses of Object.values(os.networkInterfaces())) {
    for (const address of addresses ?? []) {
      if (address.family === 'IPv4' && !address.internal) return address.address;
    }
  }
  return '127.0.0.1';
}

export function isDocker(): boolean {
  if (existsSync('/.dockerenv')) return true;
  try {
    return /docker|containerd|kubepods/.test(readFileSync('/proc/1/cgroup', 'utf8'));
  } catch {
    return false;
  }
}

export function isSupervised(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.TETHER_SUPERVISED === '1' || env.MICROHACK_SUPERVISED === '1';
}

export interface HostInfo {
  hostname: string;
  ip: string;
  os: string;
  platform: string;
  arch: string;
  runtime: string;
  is_docker: boolean;
  is_root: boolean;
  supervised: boolean;
}

export function hostInfo(): HostInfo {
  return {
    hostname: os.hostname(),
    ip: localIp(),
    os: `${os.type()} ${os.release()}`,
    platform: process.platform,
    arch: process.arch,
    runtime: `node ${process.version}`,
    is_docker: isDocker(),
    is_root: process.getuid?.() === 0,
    supervised: isSupervised(),
  };
}
