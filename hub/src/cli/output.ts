// Everything the operator CLI prints goes through here: hub answers carry strings agents and key
// holders chose (hostnames, versions, ids, names, error texts), so control characters are escaped
// (shared/src/terminal-text.ts) and URLs or secrets in error texts masked (shared/src/redact.ts).
// --json output stays JSON that parses to the same values.
import { escapeControlsKeepingNewlines, jsonForTerminal } from '@tether/shared/terminal-text.ts';
import { maskText } from '@tether/shared/redact.ts';

/** Human text: the caller's own line breaks kept, every other control character escaped. */
export function printText(text: string): void {
  process.stdout.write(`${escapeControlsKeepingNewlines(text)}\n`);
}

export function printJson(value: unknown): void {
  process.stdout.write(`${jsonForTerminal(value)}\n`);
}

/** `tether: <message>` on stderr, escaped and with secrets masked. */
export function printError(message: string): void {
  process.stderr.write(`tether: ${escapeControlsKeepingNewlines(maskText(message))}\n`);
}
