// YAML syntax errors, told without quoting the file: the parser's own messages embed the
// offending line (a config line is often `api_key: …`), so only its position and a plain
// description of the problem are printed, never the text.
import { parseDocument } from 'yaml';
import type { YAMLError } from 'yaml';
import { TetherError } from '../errors.ts';

const PROBLEMS: Record<string, string> = {
  ALIAS_PROPS: 'an alias (*name) cannot carry an anchor or a tag',
  BAD_ALIAS: 'an alias (*name) whose anchor (&name) is not defined before it',
  BAD_COLLECTION_TYPE: 'a tag that does not fit the value it is on',
  BAD_DIRECTIVE: 'a %-directive YAML does not know',
  BAD_DQ_ESCAPE: 'an invalid backslash escape inside a "double-quoted" value (use single quotes for backslashes)',
  BAD_INDENT: 'bad indentation (keys of one mapping must line up, with spaces)',
  BAD_PROP_ORDER: 'an anchor or tag in the wrong place',
  BAD_SCALAR_START: 'a value that starts with a character YAML reserves (quote the value)',
  BLOCK_AS_IMPLICIT_KEY: 'a mapping where a plain value was expected (quote values that contain ": ")',
  BLOCK_IN_FLOW: 'a nested block inside [ ] or { } (write it in flow style or indent it as a block)',
  DUPLICATE_KEY: 'the same key twice in one mapping',
  IMPOSSIBLE: 'a structure YAML cannot parse',
  KEY_OVER_1024_CHARS: 'a key longer than 1024 characters',
  MISSING_CHAR: 'a missing character (a closing quote or bracket, a ":" after a key, or a "," between items)',
  MULTILINE_IMPLICIT_KEY: 'a key spread over several lines (a missing ":" or a value that needs quotes)',
  MULTIPLE_ANCHORS: 'two anchors on one value',
  MULTIPLE_DOCS: 'more than one YAML document (---); the config is one mapping',
  MULTIPLE_TAGS: 'two tags on one value',
  NON_STRING_KEY: 'a key that is not a plain string',
  RESOURCE_EXHAUSTION: 'too many alias expansions',
  TAB_AS_INDENT: 'a tab used for indentation (YAML indents with spaces)',
  TAG_RESOLVE_FAILED: 'an unknown !tag',
  UNEXPECTED_TOKEN: 'an unexpected character (quote values containing ": ", " #", [ ] { } or a leading special character)',
};

/** "line 3, column 9: a missing character (…)", from the error's position and code only. */
export function describeYamlError(error: YAMLError): string {
  const where = error.linePos?.[0] ? `line ${error.linePos[0].line}, column ${error.linePos[0].col}` : 'somewhere in the file';
  return `${where}: ${PROBLEMS[error.code] ?? 'a YAML syntax error'}`;
}

export class YamlSyntaxError extends TetherError {
  override name = 'YamlSyntaxError';
  /** One line per problem, e.g. "line 3, column 9: …"; none quotes the file. */
  readonly problems: string[];
  constructor(problems: string[]) {
    super('TETHER_ERR_YAML_SYNTAX', problems.join('; '));
    this.problems = problems;
  }
}

const MAX_REPORTED = 5;

/** Parses YAML text; a syntax error throws YamlSyntaxError that says where, never what the line holds. */
export function parseYamlQuietly(text: string): unknown {
  // stringKeys: a collection as a key is an error (yaml would otherwise warn on stderr, quoting it); logLevel: no warnings printed.
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true, stringKeys: true, logLevel: 'error' });
  if (doc.errors.length > 0) throw new YamlSyntaxError(doc.errors.slice(0, MAX_REPORTED).map(describeYamlError));
  try {
    return doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    // toJS fails only on alias abuse; its message can quote values too.
    const code = (error as Partial<YAMLError>).code;
    throw new YamlSyntaxError([`somewhere in the file: ${(code && PROBLEMS[code]) ?? 'an alias (*name) that is not defined, or aliases that cannot be expanded'}`]);
  }
}
