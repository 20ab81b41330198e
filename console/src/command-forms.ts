// The parameters of each command in the catalogue (protocol.md section 5), for the Host page's
// forms. The agent validates every value again; these only shape the form and the request body.
import { permissionFor } from '@tether/shared/protocol/command-permissions.ts';

export interface Field {
  name: string;
  kind: 'text' | 'number' | 'json';
  required: boolean;
  hint?: string;
}

const text = (name: string, required = true, hint?: string): Field => ({ name, kind: 'text', required, hint });

export const COMMAND_FIELDS: Readonly<Record<string, readonly Field[]>> = {
  ping: [],
  echo: [text('message')],
  info: [],
  metrics: [],
  capabilities: [],
  exec: [text('action', true, 'an action name from the agent config'), { name: 'args', kind: 'json', required: false, hint: '{"name": "value"}' }],
  git_pull: [text('repository_path'), text('branch', false)],
  docker_restart: [text('container_name')],
  backup: [text('target'), text('destination', false)],
  backup_list: [text('target', false)],
  backup_download: [text('id')],
  backup_verify: [text('id')],
  backup_prune: [text('target'), { name: 'keep', kind: 'number', required: true }],
  restore: [text('id'), text('target')],
  update: [text('version', true, '"latest" or a version such as 1.2.3')],
  restart: [],
  redeploy: [],
  uninstall: [],
};

/** Commands whose permission is in the grant; an empty grant means the hub restricts nothing. */
export function commandsAllowedBy(permissions: readonly string[]): string[] {
  return Object.keys(COMMAND_FIELDS).filter((command) => permissions.length === 0 || permissions.includes(permissionFor(command)));
}

/** Permission names a key can be granted, for the Keys page. */
export const PERMISSIONS = [...new Set(Object.keys(COMMAND_FIELDS).map(permissionFor))];

export const DEFAULT_NEW_KEY_PERMISSIONS = ['ping', 'echo', 'info', 'metrics', 'capabilities'];

/** The command's `data` from the form's strings; an error message names the field that is wrong. */
export function commandData(fields: readonly Field[], values: Record<string, string>): Record<string, unknown> | string {
  const data: Record<string, unknown> = {};
  for (const field of fields) {
    const raw = (values[field.name] ?? '').trim();
    if (raw === '') {
      if (field.required) return `${field.name} is required`;
      continue;
    }
    if (field.kind === 'number') {
      const number = Number(raw);
      if (!Number.isFinite(number)) return `${field.name} must be a number`;
      data[field.name] = number;
    } else if (field.kind === 'json') {
      try {
        data[field.name] = JSON.parse(raw);
      } catch {
        return `${field.name} must be JSON, e.g. ${field.hint ?? '{}'}`;
      }
    } else data[field.name] = raw;
  }
  return data;
}
