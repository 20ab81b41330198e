// Plain text tables for humans (`--json` gives machines the raw answer). Every cell is escaped:
// a hostname holding ESC sequences or a newline can neither drive the terminal nor forge a row.
import { escapeControls } from '@tether/shared/terminal-text.ts';

export function formatTable(headers: string[], rows: Array<Array<string | number | null | undefined>>): string {
  const cells = rows.map((row) => row.map((cell) => (cell === null || cell === undefined ? '-' : escapeControls(String(cell)))));
  const widths = headers.map((header, column) => Math.max(header.length, ...cells.map((row) => row[column]!.length)));
  const line = (row: string[]) =>
    row
      .map((cell, column) => cell.padEnd(widths[column]!))
      .join('  ')
      .trimEnd();
  return [line(headers), ...cells.map(line)].join('\n');
}
