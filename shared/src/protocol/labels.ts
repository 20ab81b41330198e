// Key labels (`env=prod`, `role=db`) and the selectors fleet commands address keys with.
import { z } from 'zod';

/** A label name: lower-case, digits, `.`, `-`, `_`, `/`; starts and ends with a letter or digit. */
export const LABEL_NAME = /^[a-z0-9](?:[a-z0-9._/-]{0,61}[a-z0-9])?$/;
/** A label value: letters, digits, `.`, `-`, `_`; starts and ends with a letter or digit. */
export const LABEL_VALUE = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/;
export const MAX_LABELS = 32;

export const labelNameSchema = z.string().regex(LABEL_NAME, 'a label name is 1-63 characters of a-z, 0-9, ".", "-", "_", "/", starting and ending with a letter or digit (e.g. "role")');
export const labelValueSchema = z.string().regex(LABEL_VALUE, 'a label value is 1-63 characters of A-Z, a-z, 0-9, ".", "-", "_", starting and ending with a letter or digit (e.g. "db")');

export const labelsSchema = z.record(z.string(), labelValueSchema).superRefine((labels, context) => {
  const names = Object.keys(labels);
  if (names.length > MAX_LABELS) context.addIssue({ code: 'custom', message: `a key carries at most ${MAX_LABELS} labels` });
  for (const name of names) {
    const checked = labelNameSchema.safeParse(name);
    if (!checked.success) context.addIssue({ code: 'custom', path: [name], message: `"${name}": ${checked.error.issues[0]!.message}` });
  }
});

export type Labels = Record<string, string>;

/** `name=value` as typed on a command line (`--label env=prod`). */
export function parseLabelArgument(text: string): [string, string] {
  const at = text.indexOf('=');
  if (at <= 0) throw new Error(`label "${text}" is not name=value (e.g. --label role=db)`);
  const name = labelNameSchema.safeParse(text.slice(0, at));
  if (!name.success) throw new Error(`label "${text}": ${name.error.issues[0]!.message}`);
  const value = labelValueSchema.safeParse(text.slice(at + 1));
  if (!value.success) throw new Error(`label "${text}": ${value.error.issues[0]!.message}`);
  return [name.data, value.data];
}

/** Which keys a fleet command goes to: all keys carrying every given label, a list of ids, or all. */
export const keySelectorSchema = z.union(
  [
    z.strictObject({ labels: labelsSchema.refine((labels) => Object.keys(labels).length > 0, { message: 'give at least one label to select by' }) }),
    z.strictObject({
      key_ids: z
        .array(z.string().regex(/^key_[0-9a-f]{12}$/, 'a key id looks like key_0123456789ab'))
        .min(1, 'give at least one key id')
        .max(100_000),
    }),
    z.strictObject({ all: z.literal(true) }),
  ],
  { error: 'the selector is one of {"labels":{"role":"db"}}, {"key_ids":["key_…"]} or {"all":true}' },
);

export type KeySelector = z.infer<typeof keySelectorSchema>;
