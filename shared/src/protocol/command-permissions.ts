// Which permission a command needs (protocol.md section 5): its own name unless listed here. The hub
// refuses a command outside the key's grant before queueing it; the agent checks the same rule.
const PERMISSION_OF: Readonly<Record<string, string>> = {
  backup_list: 'backup_read',
  backup_download: 'backup_read',
  backup_verify: 'backup_read',
  backup_prune: 'backup',
  update_agent: 'update',
};

export function permissionFor(command: string): string {
  return Object.hasOwn(PERMISSION_OF, command) ? PERMISSION_OF[command]! : command;
}
