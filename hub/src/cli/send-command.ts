// `tether send <key-id> <command> [json-data] [--wait S]`: queue a command and print its result
// (waits up to 30 s by default; --wait 0 only queues it).
import type { Command } from 'commander';
import { AdminClient, withAdminOptions } from './admin-client.ts';
import type { AdminOptions } from './admin-client.ts';
import { parseJsonObject, parseSeconds } from './parse-args.ts';
import { HubError } from './usage-error.ts';

export function addSendCommand(program: Command): void {
  withAdminOptions(
    program
      .command('send')
      .description("send a command to a key's agent")
      .argument('<key-id>', 'key id of the agent')
      .argument('<command>', 'command name, e.g. ping, echo, info')
      .argument('[json-data]', 'command data as a JSON object, e.g. \'{"message":"hi"}\''),
  )
    .option('--wait <seconds>', 'wait up to this long for the result (0-300; 0 only queues it)', '30')
    .action(async (keyId: string, command: string, jsonData: string | undefined, options: AdminOptions & { wait?: string }) => {
      const data = jsonData === undefined ? {} : parseJsonObject(jsonData, 'json-data');
      const waitS = parseSeconds(options.wait ?? '30', '--wait');
      const { status, body } = await new AdminClient(options).request('POST', `/api/agents/keys/${encodeURIComponent(keyId)}/command`, { command, data, wait_s: waitS });
      if (options.json) {
        process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
      } else if (status === 202) {
        process.stdout.write(`${body.command_id} ${body.status}${waitS ? ` (no result within ${waitS} s)` : ''}\n`);
      } else {
        process.stdout.write(`${body.command_id} ${body.status}\n${JSON.stringify(body.result, null, 2)}\n`);
      }
      if (body.status === 'failed' || body.status === 'expired') throw new HubError(`command ${body.status}${body.result?.error ? `: ${body.result.error}` : ''}`);
    });
}
