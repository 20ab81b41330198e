// --label name=value (repeatable), --all, --keys id,id: how the fleet commands of the CLI (`tether
// send` to many keys, `tether rollout start`) pick keys, as the API's selector.
import { parseLabelArgument } from '@tether/shared/protocol/labels.ts';
import type { KeySelector } from '@tether/shared/protocol/labels.ts';
import { UsageError } from './usage-error.ts';

export interface SelectorOptions {
  label?: Record<string, string>;
  all?: boolean;
  keys?: string;
}

/** commander's collector for a repeatable --label. */
export function collectLabel(text: string, previous: Record<string, string> = {}): Record<string, string> {
  try {
    const [name, value] = parseLabelArgument(text);
    return { ...previous, [name]: value };
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

export function hasSelector(options: SelectorOptions): boolean {
  return options.label !== undefined || options.all === true || options.keys !== undefined;
}

/** The selector the options give; exactly one way of selecting must be used. */
export function selectorOf(options: SelectorOptions): KeySelector {
  const picked = [options.label !== undefined, options.all === true, options.keys !== undefined].filter(Boolean).length;
  if (picked > 1) throw new UsageError('select keys one way: --label, --all or --keys');
  if (picked === 0) throw new UsageError('select keys with --label name=value, --all or --keys id,id');
  if (options.label !== undefined) return { labels: options.label };
  if (options.all) return { all: true };
  return {
    key_ids: options
      .keys!.split(',')
      .map((id) => id.trim())
      .filter(Boolean),
  };
}

export function positiveInteger(text: string, what: string, max: number, min = 1): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) throw new UsageError(`${what} must be a whole number from ${min} to ${max}`);
  return value;
}
