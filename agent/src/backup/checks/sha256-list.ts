// The per-file sha256 list a files artifact carries as its last tar entry, in `sha256sum` format
// (GNU escaping for names with "\" or a newline), so that `cd / && sha256sum -c .tether-sha256sums`
// checks an extraction by hand and the restore test compares every file with it.
export const SHA256_LIST_NAME = '.tether-sha256sums';

function escapeName(name: string): { escaped: boolean; text: string } {
  if (!/[\\\n\r]/.test(name)) return { escaped: false, text: name };
  return { escaped: true, text: name.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r') };
}

export function formatSha256List(entries: Iterable<[string, string]>): Buffer {
  const lines: string[] = [];
  for (const [name, sha256] of entries) {
    const { escaped, text } = escapeName(name);
    lines.push(`${escaped ? '\\' : ''}${sha256}  ${text}\n`);
  }
  return Buffer.from(lines.join(''), 'utf8');
}

export function parseSha256List(text: string): Map<string, string> {
  const entries = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const escaped = line.startsWith('\\');
    const body = escaped ? line.slice(1) : line;
    const match = /^([a-f0-9]{64}) {2}(.*)$/s.exec(body);
    if (!match) throw new Error(`${SHA256_LIST_NAME} has a line that is not "<sha256>  <name>": ${JSON.stringify(line.slice(0, 100))}`);
    const name = escaped ? match[2]!.replace(/\\(\\|n|r)/g, (_all, c: string) => (c === 'n' ? '\n' : c === 'r' ? '\r' : '\\')) : match[2]!;
    entries.set(name, match[1]!);
  }
  return entries;
}
