// `tether keys …`: create, list, show, enable/disable, delete and regenerate agent keys.
import type { Command } from 'commander';
import type { KeyView } from '@tether/shared/protocol/admin-api.ts';
import { AdminClient, withAdminOptions } from './admin-client.ts';
import type { AdminOptions } from './admin-client.ts';
import { formatTable } from './table.ts';
import { parsePermissions } from './parse-args.ts';
import { printJson, printText } from './output.ts';
import { escapeControls } from '@tether/shared/terminal-text.ts';

function print(options: AdminOptions, body: unknown, human: () => string): void {
  if (options.json) printJson(body);
  else printText(human());
}

function keyTable(keys: KeyView[]): string {
  return formatTable(
    ['ID', 'NAME', 'STATUS', 'PREFIX', 'PERMISSIONS', 'CREATED', 'LAST USED'],
    keys.map((key) => [key.id, key.name, key.status, key.key_prefix, key.permissions.join(','), key.created_at, key.last_used_at]),
  );
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
    .action(async (options: AdminOptions & { name: string; permissions?: string }) => {
      const permissions = options.permissions === undefined ? undefined : parsePermissions(options.permissions);
      const { body } = await new AdminClient(options).request('POST', '/api/agents/keys', { name: options.name, permissions });
      print(options, body, () => issuedKeyText(body));
    });

  withAdminOptions(keys.command('list').description('list agent keys')).action(async (options: AdminOptions) => {
    const { body } = await new AdminClient(options).request('GET', '/api/agents/keys');
    print(options, body, () => keyTable(body.keys));
  });

  withAdminOptions(keys.command('show').argument('<id>', 'key id').description('show one agent key')).action(async (id: string, options: AdminOptions) => {
    const { body } = await new AdminClient(options).request('GET', `/api/agents/keys/${encode(id)}`);
    print(options, body, () => keyTable([body]));
  });

  for (const [name, status] of [['disable', 'disabled'], ['enable', 'active']] as const) {
    withAdminOptions(keys.command(name).argument('<id>', 'key id').description(`${name} an agent key`)).action(async (id: string, options: AdminOptions) => {
      const { body } = await new AdminClient(options).request('PATCH', `/api/agents/keys/${encode(id)}`, { status });
      print(options, body, () => keyTable([body]));
    });
  }

  withAdminOptions(keys.command('delete').argument('<id>', 'key id').description('delete an agent key (its agents are disconnected)')).action(
    async (id: string, options: AdminOptions) => {
      const { body } = await new AdminClient(options).request('DELETE', `/api/agents/keys/${encode(id)}`);
      print(options, body, () => `deleted ${escapeControls(id)}`);
    },
  );

  withAdminOptions(keys.command('regenerate').argument('<id>', 'key id').description('issue a new key; the old one stops working')).action(
    async (id: string, options: AdminOptions) => {
      const { body } = await new AdminClient(options).request('POST', `/api/agents/keys/${encode(id)}/regenerate`);
      print(options, body, () => issuedKeyText(body));
    },
  );
}
