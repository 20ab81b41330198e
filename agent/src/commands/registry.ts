// The commands this agent knows, by name.
import type { CommandDefinition } from './command.ts';

export class CommandRegistry {
  #commands = new Map<string, CommandDefinition>();

  constructor(commands: Iterable<CommandDefinition>) {
    for (const command of commands) this.#commands.set(command.name, command);
  }

  get(name: string): CommandDefinition | undefined {
    return this.#commands.get(name);
  }

  all(): CommandDefinition[] {
    return [...this.#commands.values()];
  }

  /** Names of the commands whose permission passes `allows`: the effective command set. */
  allowedNames(allows: (permission: string) => boolean): string[] {
    return this.all()
      .filter((command) => allows(command.permission))
      .map((command) => command.name);
  }
}
