// Commands as a table (the History page, a host's recent commands): status, outcome and, on
// click, the stored result.
import { useState } from 'preact/hooks';
import type { CommandView } from '../api.ts';
import { ago } from '../format.ts';
import { hostHref } from '../router.ts';

function outcome(command: CommandView): string {
  if (!command.result) return command.status === 'expired' ? 'expired' : '–';
  if (command.result.success) return 'ok';
  return command.result.error_code ?? 'failed';
}

export function CommandTable(props: { commands: readonly CommandView[]; keyName?(keyId: string): string }) {
  const [open, setOpen] = useState<string | null>(null);
  return (
    <table class="history">
      <thead>
        <tr>
          <th>when</th>
          <th>host key</th>
          <th>command</th>
          <th>status</th>
          <th>outcome</th>
          <th>id</th>
        </tr>
      </thead>
      <tbody>
        {props.commands.map((command) => (
          <>
            <tr
              key={command.command_id}
              data-command-id={command.command_id}
              data-status={command.status}
              class="clickable"
              onClick={() => setOpen(open === command.command_id ? null : command.command_id)}
            >
              <td title={command.created_at}>{ago(command.created_at)}</td>
              <td>
                <a href={hostHref(command.key_id)}>{props.keyName?.(command.key_id) ?? command.key_id}</a>
              </td>
              <td>{command.command}</td>
              <td>{command.status}</td>
              <td>{outcome(command)}</td>
              <td>
                <code class="muted">{command.command_id.slice(0, 8)}</code>
              </td>
            </tr>
            {open === command.command_id && (
              <tr key={`${command.command_id}-result`} class="result-row">
                <td colSpan={6}>
                  <pre>{JSON.stringify({ data: command.data, result: command.result }, null, 2)}</pre>
                </td>
              </tr>
            )}
          </>
        ))}
        {props.commands.length === 0 && (
          <tr>
            <td colSpan={6} class="muted">
              No commands match.
            </td>
          </tr>
        )}
      </tbody>
    </table>
  );
}
