// PREFIX/install.env: what this installer set up (service kind, unit, the user it created, the
// hub), one key=value per line, so later commands manage exactly that and --uninstall removes
// exactly that. Root-owned; a root manager trusts it only after checkRootOwned.
import { z } from 'zod';
import { ManagerError } from './output.ts';
import { writeFileAtomic } from '@tether/shared/atomic-file.ts';
import { readPlainFile } from './safe-files.ts';

export const SERVICE_KINDS = ['systemd', 'systemd-user', 'fallback'] as const;
/** systemd (system unit, root), systemd-user (a user unit) or fallback (pid file + @reboot crontab entry). */
export type ServiceKind = (typeof SERVICE_KINDS)[number];

export const NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/;
const USER_PATTERN = /^[a-z_][a-z0-9_-]{0,31}$/;

const recordSchema = z.object({
  mode: z.literal('native'),
  name: z.string().regex(NAME_PATTERN, 'must be letters, digits, ".", "_" or "-"'),
  service: z.enum(SERVICE_KINDS),
  unit: z
    .string()
    .regex(/^(\/[A-Za-z0-9._/@+-]+\.service)?$/, 'must be empty or the path of a .service file')
    .default(''),
  created_user: z.union([z.literal(''), z.string().regex(USER_PATTERN)]).default(''),
  server: z
    .string()
    .regex(/^(wss?|https?):\/\/[^\s'"\\]+$/, 'must be the hub URL')
    .or(z.literal(''))
    .default(''),
  /** The account the agent runs as ('' = the user who installed it). Older records lack it. */
  user: z.union([z.literal(''), z.string().regex(USER_PATTERN)]).optional(),
});

export type InstallRecord = z.infer<typeof recordSchema> & { user: string };

export async function readInstallRecord(path: string): Promise<InstallRecord | null> {
  const text = await readPlainFile(path, 64 * 1024);
  if (text === null) return null;
  const values: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const at = line.indexOf('=');
    if (at > 0 && !line.startsWith('#')) values[line.slice(0, at)] = line.slice(at + 1);
  }
  const parsed = recordSchema.safeParse(values);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ManagerError(`${path}: ${issue.path.join('.') || 'record'} ${issue.message}; it was not written by this installer (reinstall with deploy.sh --key KEY)`);
  }
  // Records of the bash-only deploy.sh: systemd installs ran as `tether`, every other one as the installer.
  const user = parsed.data.user ?? (parsed.data.service === 'systemd' ? 'tether' : '');
  return { ...parsed.data, user };
}

export async function writeInstallRecord(path: string, record: InstallRecord): Promise<void> {
  const valid = recordSchema.parse(record);
  const lines = ['mode', 'name', 'service', 'unit', 'created_user', 'server', 'user'].map((key) => `${key}=${(valid as Record<string, unknown>)[key] ?? ''}`);
  await writeFileAtomic(path, `${lines.join('\n')}\n`, { mode: 0o644 });
}
