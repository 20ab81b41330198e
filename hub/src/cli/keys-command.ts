// `tether keys …`: create, list, show, enable/disable, delete and regenerate agent keys.
import type { Command } from 'commander';
import type { KeyView } from '@tether/shared/protocol/admin-views.ts';
import { AdminClient, withAdminOptions } from './admin-client.ts';
import type { AdminOptions } from './admin-client.ts';
import { formatTable } from './table.ts';
import { parsePermissions } from './parse-args.ts';
import { printJson, printText } from './output.ts';
import { escapeControls } from '@tether/shared/terminal-text.ts';
import { parseLabelArgument } from '@tether/shared/protocol/labels.ts';
import { UsageError } from './usage-error.ts';

function print(options: AdminOptions, body: unknown, human: () => string): void {
  if (options.json) printJson(body);
  else printText(human());
}

function labelText(labels: Record<string, string> | undefined): string {
  return Object.entries(labels ?? {})
    .map(([name, value]) => `${name}=${value}`)
    .join(',');
}

function keyTable(keys: KeyView[]): string {
  return formatTable(
    ['ID', 'NAME', 'STATUS', 'PREFIX', 'PERMISSIONS', 'LABELS', 'CREATED', 'LAST USED'],
    keys.map((key) => [key.id, key.name, key.status, key.key_prefix, key.permissions.join(','), labelText(key.labels), key.created_at, key.last_used_at]),
  );
}

/** Repeatable `--label name=value`, checked before anything is sent. */
function collectLabel(text: string, previous: Record<string, string> = {}): Record<string, string> {
  try {
    const [name, value] = parseLabelArgument(text);
    return { ...previous, [name]: value };
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function issuedKeyText(body: KeyView & { key: string }): string {
  return `${keyTable([body])}\n\nagent key (shown once, store it now):\n${escapeControls(body.key)}`;
}

const encode = encodeURIComponent;

export function addKeysCommand(program: Command): void {
  const keys = program.command('keys').description('manage agent keys');

  withAdminOptions(keys.command('create').description('create an agent key (printed once)'))
    .requiredOption('--name <name>', 'a name for the key, e.g. the host it is for')
    .option('--permissions <list>', 'comma-separated commands the key may run, e.g. ping,echo,info')
    .option('--label <name=value>', 'a label fleet commands select by, e.g. --label env=prod --label role=db (repeatable)', collectLabel)
    .action(async (options: AdminOptions & { name: string; permissions?: string; label?: Record<string, string> }) => {
      const permissions = options.permissions === undefined ? undefined : parsePermissions(options.permissions);
      const { body } = await new AdminClient(options).request('POST', '/api/agents/keys', { name: options.name, permissions, labels: options.label });
      print(options, body, () => issuedKeyText(body));
    });

  withAdminOptions(keys.command('list').description('list agent keys'))
    .option('--label <name=value>', 'only keys carrying this label (repeatable: every one)', collectLabel)
    .action(async (options: AdminOptions & { label?: Record<string, string> }) => {
      const query = Object.entries(options.label ?? {})
        .map(([name, value]) => `label=${encode(`${name}=${value}`)}`)
        .join('&');
      const { body } = await new AdminClient(options).request('GET', `/api/agents/keys${query ? `?${query}` : ''}`);
      print(options, body, () => keyTable(body.keys));
    });

  withAdminOptions(keys.command('label').argument('<id>', 'key id').description("set or remove a key's labels (the others stay)"))
    .option('--label <name=value>', 'set this label (repeatable)', collectLabel)
    .option('--remove <name>', 'remove this label (repeatable)', (name: string, previous: string[] = []) => [...previous, name])
    .action(async (id: string, options: AdminOptions & { label?: Record<string, string>; remove?: string[] }) => {
      if (!options.label && !options.remove) throw new UsageError('give --label name=value or --remove name (or both)');
      const client = new AdminClient(options);
      const { body: current } = await client.request('GET', `/api/agents/keys/${encode(id)}`);
      const labels: Record<string, string> = { ...(current.labels ?? {}), ...(options.label ?? {}) };
      for (const name of options.remove ?? []) delete labels[name];
      const { body } = await client.request('PATCH', `/api/agents/keys/${encode(id)}`, { labels });
      print(options, body, () => keyTable([body]));
    });

  withAdminOptions(keys.command('show').argument('<id>', 'key id').description('show one agent key')).action(async (id: string, options: AdminOptions) => {
    const { body } = await new AdminClient(options).request('GET', `/api/agents/keys/${encode(id)}`);
    print(options, body, () => keyTable([body]));
  });

  for (const [name, status] of [
    ['disable', 'disabled'],
    ['enable', 'active'],
  ] as const) {
    withAdminOptions(keys.command(name).argument('<id>', 'key id').description(`${name} an agent key`)).action(async (id: string, options: AdminOptions) => {
      const { body } = await new AdminClient(options).request('PATCH', `/api/agents/keys/${encode(id)}`, { status });
      print(options, body, () => keyTable([body]));
    });
  }

  withAdminOptions(keys.command('delete').argument('<id>', 'key id').description('delete an agent key (its agents are disconnected)')).action(async (id: string, options: AdminOptions) => {
    const { body } = await new AdminClient(options).request('DELETE', `/api/agents/keys/${encode(id)}`);
    print(options, body, () => `deleted ${escapeControls(id)}`);
  });

  withAdminOptions(keys.command('regenerate').argument('<id>', 'key id').description('issue a new key; the old one stops working')).action(async (id: string, options: AdminOptions) => {
    const { body } = await new AdminClient(options).request('POST', `/api/agents/keys/${encode(id)}/regenerate`);
    print(options, body, () => issuedKeyText(body));
  });
}
