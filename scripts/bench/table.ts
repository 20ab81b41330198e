// Prints benchmark rows as an aligned table.
export interface BenchRow {
  metric: string;
  value: number | string;
  unit: string;
  target?: string;
  baseline?: string;
}

export function printTable(title: string, rows: BenchRow[]): void {
  const cells = rows.map((row) => [row.metric, String(row.value), row.unit, row.target ?? '', row.baseline ?? '']);
  const header = ['metric', 'value', 'unit', 'target', 'baseline / ratio'];
  const widths = header.map((name, column) => Math.max(name.length, ...cells.map((cell) => cell[column]!.length)));
  const line = (values: string[]): string => values.map((value, column) => value.padEnd(widths[column]!)).join('  ');
  process.stdout.write(`\n${title}\n${line(header)}\n${widths.map((width) => '-'.repeat(width)).join('  ')}\n`);
  for (const cell of cells) process.stdout.write(`${line(cell)}\n`);
}
