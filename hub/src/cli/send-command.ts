// `tether send <key-id> <command> [json-data] [--wait S]`: queue a command and print its result
// (waits up to 30 s by default; --wait 0 only queues it).
import type { Command } from 'commander';
import { AdminClient, withAdminOptions } from './admin-client.ts';
import type { AdminOptions } from './admin-client.ts';
import { parseJsonObject, parseSeconds } from './parse-args.ts';
import { HubError } from './usage-error.ts';
import { printJson, printText } from './output.ts';
import { escapeControls, jsonForTerminal } from '@tether/shared/terminal-text.ts';

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
      const head = `${escapeControls(String(body?.command_id))} ${escapeControls(String(body?.status))}`;
      if (options.json) printJson(body);
      else if (status === 202) printText(`${head}${waitS ? ` (no result within ${waitS} s)` : ''}`);
      else printText(`${head}\n${jsonForTerminal(body.result)}`);
      if (body.status === 'failed' || body.status === 'expired') throw new HubError(`command ${escapeControls(String(body.status))}${body.result?.error ? `: ${escapeControls(String(body.result.error))}` : ''}`);
    });
}
