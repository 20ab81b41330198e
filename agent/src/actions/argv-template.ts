// Builds an action's argv from its configured template and the hub's checked args. A value
// always stays inside the one argv element its placeholder is in: no shell, no word splitting.
// An arg with `paths_under` is replaced by its resolved path (allowed-path.ts), not the hub's text.
import { isAbsolute } from 'node:path';
import type { ActionConfig } from './config-schema.ts';
import { checkArgvValue, UnsafeValue } from './safe-values.ts';
import { resolveAllowedPath } from './allowed-path.ts';

export async function buildActionArgv(actionName: string, action: ActionConfig, args: Record<string, unknown>): Promise<string[]> {
  for (const name of Object.keys(args)) {
    if (!(name in action.args)) throw new UnsafeValue(`action "${actionName}" takes no arg "${name}"; it takes: ${Object.keys(action.args).join(', ') || 'no args'}`);
  }
  const values = new Map<string, string>();
  for (const [name, rule] of Object.entries(action.args)) {
    const raw = args[name];
    if (raw === undefined) throw new UnsafeValue(`action "${actionName}" needs args.${name}`);
    if (typeof raw !== 'string' && typeof raw !== 'number' && typeof raw !== 'boolean') throw new UnsafeValue(`args.${name} must be a string or a number`);
    const value = checkArgvValue(`args.${name}`, String(raw));
    if (!new RegExp(`^(?:${rule.pattern})$`).test(value)) throw new UnsafeValue(`args.${name} does not match the pattern ${rule.pattern} set for action "${actionName}"`);
    if (rule.paths_under.length > 0) values.set(name, await resolveAllowedPath(`args.${name}`, value, rule.paths_under, action.cwd));
    else if (isAbsolute(value)) throw new UnsafeValue(`args.${name} is an absolute path, which this action does not allow (no paths_under)`);
    else values.set(name, value);
  }
  return action.argv.map((element, index) => (index === 0 ? element : element.replace(/\{([a-z][a-z0-9_]*)\}/g, (_all, name: string) => values.get(name) ?? '')));
}
