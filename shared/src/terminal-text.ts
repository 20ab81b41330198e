// Strings from agents and keys (hostnames, versions, ids, names, error texts) reach an operator's
// terminal only escaped: a raw ESC, C1 control (U+0080-U+009F, e.g. the one-byte CSI U+009B), DEL
// or bidi override could move the cursor, erase lines, retitle the window or reorder what is
// shown. Escaped characters are printed as \xHH or \uHHHH, so nothing is hidden either.

/** C0 and DEL and C1; bidi embeddings, overrides and isolates; line and paragraph separators. */
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const CONTROLS_BUT_NEWLINE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
/** What JSON.stringify leaves raw inside strings (it escapes C0 itself; its own newlines stay). */
const RAW_IN_JSON = /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

function escaped(char: string): string {
  const code = char.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : unicodeEscape(char);
}

function unicodeEscape(char: string): string {
  return `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/** One value for a table cell or a message: every control character escaped, newlines too. */
export function escapeControls(text: string): string {
  return text.replace(CONTROLS, escaped);
}

/** Composed output whose own line breaks are wanted: everything else escaped. */
export function escapeControlsKeepingNewlines(text: string): string {
  return text.replace(CONTROLS_BUT_NEWLINE, escaped);
}

/** What a JSON serializer (pino's too) would leave raw, written as a \uHHHH text escape. */
export function escapeRawInJson(text: string): string {
  return text.replace(RAW_IN_JSON, unicodeEscape);
}

/**
 * JSON for a terminal: still JSON that parses to the same value, with the characters
 * JSON.stringify leaves raw (DEL, C1, bidi, separators) written as \u escapes as well.
 */
export function jsonForTerminal(value: unknown, indent = 2): string {
  return (JSON.stringify(value, null, indent) ?? 'null').replace(RAW_IN_JSON, unicodeEscape);
}
