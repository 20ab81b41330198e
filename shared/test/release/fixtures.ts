// Test helpers: tiny release trees and hand-made tar archives (to craft members no tool would write).
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { execFileSync } from 'node:child_process';

export async function tempDir(t: { after: (fn: () => Promise<void>) => void }, prefix = 'tether-release-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A valid release tarball for `version`, made with the system tar; extra files optional. */
export async function makeReleaseTarball(dir: string, version: string, options: { extra?: Record<string, string | Buffer>; stated?: string } = {}): Promise<string> {
  const stage = await mkdtemp(join(dir, 'stage-'));
  const top = join(stage, `tether-agent-${version}`);
  await mkdir(join(top, 'bin'), { recursive: true });
  await writeFile(join(top, 'VERSION'), `${options.stated ?? version}\n`);
  await writeFile(join(top, 'agent.mjs'), `console.log('agent ${version}');\n`);
  await writeFile(join(top, 'supervisor.mjs'), `console.log('supervisor ${version}');\n`);
  await writeFile(join(top, 'bin', 'node'), '#!/bin/sh\necho fake node\n', { mode: 0o755 });
  for (const [name, content] of Object.entries(options.extra ?? {})) {
    await mkdir(join(top, name, '..'), { recursive: true });
    await writeFile(join(top, name), content);
  }
  const tarball = join(dir, `tether-agent-${version}-linux-x64.tar.gz`);
  execFileSync('tar', ['-c', '-z', `--file=${tarball}`, '-C', stage, `tether-agent-${version}`]);
  await rm(stage, { recursive: true, force: true });
  return tarball;
}

export interface RawEntry {
  name: string;
  /** '0' file, '2' symlink, '1' hard link, '5' directory. */
  type: '0' | '1' | '2' | '5';
  body?: string;
  linkname?: string;
}

function octal(value: number, length: number): string {
  return `${value.toString(8).padStart(length - 1, '0')}\0`;
}

/** Writes a gzip ustar archive member by member, exactly as given (no sanitising). */
export async function makeRawTarball(path: string, entries: RawEntry[]): Promise<string> {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const body = Buffer.from(entry.body ?? '');
    const header = Buffer.alloc(512);
    header.write(entry.name, 0, 100);
    header.write(octal(entry.type === '5' ? 0o755 : 0o644, 8), 100);
    header.write(octal(0, 8), 108);
    header.write(octal(0, 8), 116);
    header.write(octal(entry.type === '0' ? body.length : 0, 12), 124);
    header.write(octal(0, 12), 136);
    header.write('        ', 148); // checksum is computed with spaces here
    header.write(entry.type, 156);
    header.write(entry.linkname ?? '', 157, 100);
    header.write('ustar\0', 257);
    header.write('00', 263);
    let sum = 0;
    for (const byte of header) sum += byte;
    header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
    blocks.push(header);
    if (entry.type === '0' && body.length > 0) {
      blocks.push(body, Buffer.alloc((512 - (body.length % 512)) % 512));
    }
  }
  blocks.push(Buffer.alloc(1024));
  await writeFile(path, gzipSync(Buffer.concat(blocks)));
  return path;
}

/** The members of a complete release, for building on in raw archives. */
export function releaseEntries(version: string): RawEntry[] {
  const top = `tether-agent-${version}`;
  return [
    { name: `${top}/`, type: '5' },
    { name: `${top}/VERSION`, type: '0', body: `${version}\n` },
    { name: `${top}/agent.mjs`, type: '0', body: 'agent' },
    { name: `${top}/supervisor.mjs`, type: '0', body: 'supervisor' },
    { name: `${top}/bin/`, type: '5' },
    { name: `${top}/bin/node`, type: '0', body: 'node' },
  ];
}
