// `tether operators …`: named console accounts (add, list, disable, enable, passwd, remove).
// Passwords come from stdin or a prompt (read-password.ts), never from argv.
import type { Command } from 'commander';
import type { OperatorView } from '@tether/shared/protocol/operator-views.ts';
import { escapeControls } from '@tether/shared/terminal-text.ts';
import { AdminClient, withAdminOptions } from './admin-client.ts';
import type { AdminOptions } from './admin-client.ts';
import { formatTable } from './table.ts';
import { printJson, printText } from './output.ts';
import { readPassword } from './read-password.ts';

function print(options: AdminOptions, body: unknown, human: () => string): void {
  if (options.json) printJson(body);
  else printText(human());
}

function operatorTable(operators: OperatorView[]): string {
  return formatTable(
    ['NAME', 'STATUS', 'CREATED', 'LAST SIGN-IN'],
    operators.map((operator) => [operator.name, operator.status, operator.created_at, operator.last_sign_in_at]),
  );
}

const encode = encodeURIComponent;

export function addOperatorsCommand(program: Command): void {
  const operators = program
    .command('operators')
    .description('manage named console accounts (passwords hashed with scrypt on the hub)')
    .addHelpText('after', '\nPasswords are read from stdin (first line) or asked for in a terminal, never taken from arguments:\n  printf \'%s\\n\' "$PASSWORD" | tether operators add alice');

  withAdminOptions(operators.command('add').argument('<name>', 'lower-case name, e.g. alice').description('create an operator account (password from stdin or a prompt)')).action(
    async (name: string, options: AdminOptions) => {
      const client = new AdminClient(options);
      const password = await readPassword(`password for ${name}`);
      const { body } = await client.request('POST', '/api/operators', { name, password });
      print(options, body, () => operatorTable([body]));
    },
  );

  withAdminOptions(operators.command('list').description('list operator accounts')).action(async (options: AdminOptions) => {
    const { body } = await new AdminClient(options).request('GET', '/api/operators');
    print(options, body, () => operatorTable(body.operators));
  });

  withAdminOptions(operators.command('passwd').argument('<name>', 'operator name').description("set an operator's password (its sessions end)")).action(async (name: string, options: AdminOptions) => {
    const client = new AdminClient(options);
    const password = await readPassword(`new password for ${name}`);
    const { body } = await client.request('PATCH', `/api/operators/${encode(name)}`, { password });
    print(options, body, () => operatorTable([body]));
  });

  for (const [command, status] of [
    ['disable', 'disabled'],
    ['enable', 'active'],
  ] as const) {
    withAdminOptions(
      operators
        .command(command)
        .argument('<name>', 'operator name')
        .description(`${command} an operator account${command === 'disable' ? ' (its sessions end)' : ''}`),
    ).action(async (name: string, options: AdminOptions) => {
      const { body } = await new AdminClient(options).request('PATCH', `/api/operators/${encode(name)}`, { status });
      print(options, body, () => operatorTable([body]));
    });
  }

  withAdminOptions(operators.command('remove').argument('<name>', 'operator name').description('delete an operator account (its sessions end)')).action(async (name: string, options: AdminOptions) => {
    const { body } = await new AdminClient(options).request('DELETE', `/api/operators/${encode(name)}`);
    print(options, body, () => `removed ${escapeControls(name)}`);
  });
}
