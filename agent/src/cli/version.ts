import { VERSION } from '@tether/shared/version.ts';

export function printVersion(options: { json?: boolean }): void {
  const info = { version: VERSION, node: process.version, platform: process.platform, arch: process.arch };
  process.stdout.write(options.json ? `${JSON.stringify(info)}\n` : `tether-agent ${info.version} (node ${info.node}, ${info.platform}/${info.arch})\n`);
}
