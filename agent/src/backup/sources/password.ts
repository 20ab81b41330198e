// Database passwords from the local config: an env variable or a 0600 file. They travel to tools
// through the environment or an option file, never through argv, and never into logs.
import { readFile } from 'node:fs/promises';

export interface PasswordSource {
  password_env?: string | undefined;
  password_file?: string | undefined;
}

export async function resolvePassword(source: PasswordSource, fromUrl?: string): Promise<string | undefined> {
  if (source.password_env) {
    const value = process.env[source.password_env];
    if (value === undefined) throw new Error(`password_env names ${source.password_env}, which is not set in the agent's environment`);
    return value;
  }
  if (source.password_file) {
    const text = await readFile(source.password_file, 'utf8').catch((error: Error) => {
      throw new Error(`cannot read password_file ${source.password_file}: ${error.message}`);
    });
    return text.split('\n')[0]!;
  }
  return fromUrl || undefined;
}
