// The steps a root install runs as the service user (see state-install.ts and uninstall.ts). The
// answer of state-install is one JSON line on stdout, for the root side to report.
import { installIntoState } from '../state-install.ts';
import { layoutOf } from '../layout.ts';
import { removeFromState } from './uninstall.ts';

export async function stateInstallCommand(prefix: string, version: string, tarball: string, clearBadMark: boolean): Promise<number> {
  process.umask(0o077);
  const result = await installIntoState(layoutOf(prefix), { version, tarball, clearBadMark });
  process.stdout.write(`${JSON.stringify(result)}\n`);
  return 0;
}

export async function stateRemoveCommand(prefix: string, purge: boolean): Promise<number> {
  await removeFromState(layoutOf(prefix).stateDir, purge);
  return 0;
}
