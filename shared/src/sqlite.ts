// node:sqlite, loaded on demand. Node prints "SQLite is an experimental feature" on its first load;
// that line is noise in JSON logs and CLI output, so the filter drops exactly that warning and
// passes all others. Loading through here (never a static import) keeps the filter first.

let installed = false;

function silenceSqliteExperimentalWarning(): void {
  if (installed) return;
  installed = true;
  const emitWarning = process.emitWarning.bind(process) as (...args: unknown[]) => void;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const text = typeof warning === 'string' ? warning : warning.message;
    const option = rest[0];
    const type = typeof option === 'string' ? option : ((option as { type?: string } | undefined)?.type ?? (warning instanceof Error ? warning.name : undefined));
    if (type === 'ExperimentalWarning' && /SQLite/i.test(text)) return;
    emitWarning(warning, ...rest);
  }) as typeof process.emitWarning;
}

export function loadSqlite(): typeof import('node:sqlite') {
  silenceSqliteExperimentalWarning();
  return process.getBuiltinModule('node:sqlite');
}
