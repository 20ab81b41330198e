// `tether cancel <command-id> [--wait S]`: cancel a command (POST /api/commands/{id}/cancel) and
// print how it ended (waits up to 30 s by default for the agent to stop it; --wait 0 only asks).
import type { Command } from 'commander';
import { escapeControls, jsonForTerminal } from '@tether/shared/terminal-text.ts';
import { AdminClient, withAdminOptions } from './admin-client.ts';
import type { AdminOptions } from './admin-client.ts';
import { parseSeconds } from './parse-args.ts';
import { printJson, printText } from './output.ts';

export function addCancelCommand(program: Command): void {
  withAdminOptions(
    program.command('cancel').description('cancel a command: the agent stops the job (a command not sent yet is never sent)').argument('<command-id>', 'the command id tether send printed'),
  )
    .option('--wait <seconds>', 'wait up to this long for the cancelled result (0-300; 0 only asks)', '30')
    .action(async (commandId: string, options: AdminOptions & { wait?: string }) => {
      const waitS = parseSeconds(options.wait ?? '30', '--wait');
      const { status, body } = await new AdminClient(options).request('POST', `/api/commands/${encodeURIComponent(commandId)}/cancel`, { wait_s: waitS });
      if (options.json) return printJson(body);
      const head = `${escapeControls(String(body?.command_id))} ${escapeControls(String(body?.status))} (${escapeControls(String(body?.cancel))})`;
      printText(status === 202 ? `${head}${waitS ? `: no result within ${waitS} s yet` : ''}` : `${head}\n${jsonForTerminal(body.result)}`);
    });
}
