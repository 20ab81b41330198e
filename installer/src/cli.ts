// The manager's command line. deploy.sh runs it (after checking the same inputs itself); every
// value is checked again here with zod, and a bad one is a one-line usage error (exit 2).
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { isValidVersion } from '@tether/shared/release/versions.ts';
import { NAME_PATTERN } from './install-record.ts';
import { EXIT_USAGE, ManagerError } from './output.ts';

export const USAGE = `usage: manager.mjs COMMAND --prefix DIR [options]   (run by deploy.sh; see deploy.sh --help)

  install        --platform P --tarball F --manifest F --signature F --release-keys F
                 [--server URL] [--name NAME] [--allow PERMS] [--requested-version V]
                 [--signing-key KEY] [--update] [--dry-run]        (agent key in env TETHER_API_KEY)
  status | start | stop | restart
  logs           [--follow]
  uninstall      [--purge]
internal (run as the service user, or by the pid-file service):
  state-install  --version V --tarball F [--clear-bad-mark]
  state-remove   [--purge]
  rotate-logs    --pid PID
`;

const prefix = z
  .string()
  .regex(/^\/[A-Za-z0-9._/+-]+$/, 'must be a plain absolute directory path (letters, digits, . _ - + /)')
  .refine((path) => !/(^|\/)\.\.?(\/|$)/.test(path), 'must not contain . or .. components')
  .transform((path) => path.replace(/\/+$/, ''));
const file = z.string().startsWith('/', 'must be an absolute path');
const version = z.string().refine(isValidVersion, 'must be a release version such as 1.4.0');
const publicKey = z.string().refine((key) => /^[A-Za-z0-9+/]{43}=$/.test(key) && Buffer.from(key, 'base64').length === 32, 'must be the base64 of a 32-byte Ed25519 public key');
const server = z.string().regex(/^(wss?|https?):\/\/[A-Za-z0-9.:[\]/_~-]+$/, 'must be a hub URL such as wss://hub.example.com');
const allow = z
  .string()
  .transform((list) =>
    list
      .split(',')
      .map((perm) => perm.trim())
      .filter((perm) => perm !== ''),
  )
  .pipe(z.array(z.string().regex(/^[a-z][a-z0-9_]*$/, 'permissions are lower-case command names, e.g. ping,info,exec')).min(1, 'give at least one command'));

const installSchema = z.object({
  command: z.literal('install'),
  prefix,
  platform: z.string().regex(/^[a-z0-9]+-[a-z0-9]+$/, 'must look like linux-x64'),
  tarball: file,
  manifest: file,
  signature: file,
  'release-keys': file,
  name: z.string().regex(NAME_PATTERN, 'must be letters, digits, ".", "_" or "-" (at most 63)').default('tether-agent'),
  server: server.optional(),
  allow: allow.optional(),
  'requested-version': version.optional(),
  'signing-key': publicKey.optional(),
  update: z.boolean().default(false),
  'dry-run': z.boolean().default(false),
});

const commandSchema = z.discriminatedUnion('command', [
  installSchema,
  z.object({ command: z.enum(['status', 'start', 'stop', 'restart']), prefix }),
  z.object({ command: z.literal('logs'), prefix, follow: z.boolean().default(false) }),
  z.object({ command: z.literal('uninstall'), prefix, purge: z.boolean().default(false) }),
  z.object({ command: z.literal('state-install'), prefix, version, tarball: file, 'clear-bad-mark': z.boolean().default(false) }),
  z.object({ command: z.literal('state-remove'), prefix, purge: z.boolean().default(false) }),
  z.object({ command: z.literal('rotate-logs'), prefix, pid: z.coerce.number().int().min(2) }),
  z.object({ command: z.literal('help') }),
]);

export type ManagerCommand = z.infer<typeof commandSchema>;

const STRING_FLAGS = ['prefix', 'platform', 'tarball', 'manifest', 'signature', 'release-keys', 'name', 'server', 'allow', 'requested-version', 'signing-key', 'version', 'pid'] as const;
const BOOLEAN_FLAGS = ['update', 'dry-run', 'follow', 'purge', 'clear-bad-mark'] as const;

export function parseCommand(argv: readonly string[]): ManagerCommand {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') return { command: 'help' };
  let values: Record<string, unknown>;
  try {
    const options = Object.fromEntries([...STRING_FLAGS.map((flag) => [flag, { type: 'string' as const }]), ...BOOLEAN_FLAGS.map((flag) => [flag, { type: 'boolean' as const }])]);
    values = parseArgs({ args: [...rest], options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new ManagerError(`manager ${command}: ${(error as Error).message}`, EXIT_USAGE);
  }
  const parsed = commandSchema.safeParse({ command, ...values });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    if (issue.path.length === 0 || issue.path[0] === 'command') throw new ManagerError(`manager: unknown command "${command}" (see manager.mjs help)`, EXIT_USAGE);
    const flag = `--${String(issue.path[0])}`;
    throw new ManagerError(`manager ${command}: ${flag} ${issue.code === 'invalid_type' && issue.input === undefined ? 'is required' : issue.message}`, EXIT_USAGE);
  }
  return parsed.data;
}
