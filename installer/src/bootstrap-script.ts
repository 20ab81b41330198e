// PREFIX/tether.sh: the deploy.sh of the installed (verified) release, with this install's hub as
// its default server, so `PREFIX/tether.sh --status` and the @reboot entry manage this install.
// Never a copy of whatever script ran the install: piped into bash, that one was never verified.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { versionDir } from '@tether/shared/release/install.ts';
import type { Layout } from './layout.ts';
import { ManagerError } from './output.ts';
import { writeFileAtomic } from '@tether/shared/atomic-file.ts';

const DEFAULT_LINE = "TETHER_DEFAULT_SERVER_URL=''";

export async function writeBootstrapScript(layout: Layout, version: string, server: string): Promise<void> {
  const source = join(versionDir(layout.libDir, version), 'deploy.sh');
  const script = await readFile(source, 'utf8');
  if (!script.includes(DEFAULT_LINE)) throw new ManagerError(`${source} has no line ${DEFAULT_LINE}; it is not tether's deploy.sh`);
  if (!/^(wss?|https?):\/\/[A-Za-z0-9.:[\]/_~-]+$/.test(server)) throw new ManagerError(`the hub URL "${server}" cannot be written into ${layout.bootstrap}`);
  await writeFileAtomic(layout.bootstrap, script.replace(DEFAULT_LINE, `TETHER_DEFAULT_SERVER_URL='${server}'`), { mode: 0o755 });
}
