// Node prints "SQLite is an experimental feature" on first load of node:sqlite. That line is
// noise in the hub's JSON log, so this filter drops exactly that warning and passes all others.

let installed = false;

export function silenceSqliteExperimentalWarning(): void {
  if (installed) return;
  installed = true;
  const emitWarning = process.emitWarning.bind(process) as (...args: unknown[]) => void;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const text = typeof warning === 'string' ? warning : warning.message;
    const option = rest[0];
    const type = typeof option === 'string' ? option : (option as { type?: string } | undefined)?.type ?? (warning instanceof Error ? warning.name : undefined);
    if (type === 'ExperimentalWarning' && /SQLite/i.test(text)) return;
    emitWarning(warning, ...rest);
  }) as typeof process.emitWarning;
}
