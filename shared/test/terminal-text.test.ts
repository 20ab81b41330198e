// Escaping agent-supplied strings for an operator's terminal (shared/src/terminal-text.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeControls, escapeControlsKeepingNewlines, escapeRawInJson, jsonForTerminal } from '../src/terminal-text.ts';

test('C0, DEL, C1, bidi controls and separators are escaped; printable text, accents and emoji are not', () => {
  assert.equal(escapeControls('\u001b[2K\u001b[1Aevil'), '\\x1b[2K\\x1b[1Aevil');
  assert.equal(escapeControls('a\u0007b\u007fc\u009bd\u202ee\u2028f\r\n'), 'a\\x07b\\x7fc\\x9bd\\u202ee\\u2028f\\x0d\\x0a');
  assert.equal(escapeControls('café ☕ 日本 tab-free'), 'café ☕ 日本 tab-free');
  assert.equal(escapeControlsKeepingNewlines('row 1\nrow\u001b 2\r'), 'row 1\nrow\\x1b 2\\x0d');
  assert.equal(escapeRawInJson('x\u009by'), 'x\\u009by');
});

test('jsonForTerminal is JSON that parses back to the same value, with no raw control left', () => {
  const value = { hostname: '\u001b[2K\u009b\u202e\u2028', list: ['\u007f'], n: 1 };
  const text = jsonForTerminal(value);
  assert.deepEqual(JSON.parse(text), value);
  assert.doesNotMatch(text, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2028\u2029]/);
  assert.equal(jsonForTerminal(undefined), 'null');
});
