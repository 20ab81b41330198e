// A throwaway PostgreSQL server (initdb + pg_ctl) that checks passwords (scram-sha-256 for every
// connection), on a free port in a temp dir. The machine's shared server trusts 127.0.0.1, so a
// test that must prove a tool was given the right password needs its own. As root, the server
// runs as the `postgres` user (initdb refuses root).
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface PrivatePostgres {
  port: number;
  /** The superuser `postgres`, whose password is `superPassword`. */
  superPassword: string;
  /** Runs SQL as the superuser (through psql, with the password). */
  sql(database: string, text: string): Promise<string>;
  stop(): Promise<void>;
}

function serverBinDir(): string | null {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root)
    .filter((name) => existsSync(join(root, name, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(root, versions[0], 'bin') : null;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** `{ missing }` says what to install when this machine has no PostgreSQL server binaries. */
export async function startPrivatePostgres(): Promise<PrivatePostgres | { missing: string }> {
  const bin = serverBinDir();
  if (!bin) return { missing: 'PostgreSQL server binaries (/usr/lib/postgresql/<v>/bin/initdb; Debian package postgresql)' };
  const asRoot = userInfo().uid === 0;
  const as = (argv: string[]): [string, string[]] => (asRoot ? ['runuser', ['-u', 'postgres', '--', ...argv]] : [argv[0]!, argv.slice(1)]);
  const dir = await mkdtemp(join(tmpdir(), 'tether-private-pg-'));
  const superPassword = `super-${Math.random().toString(36).slice(2)}`;
  await writeFile(join(dir, 'pwfile'), `${superPassword}\n`, { mode: 0o600 });
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    await chown(dir, Number(stdout.trim()), Number(gid.trim()));
    await chown(join(dir, 'pwfile'), Number(stdout.trim()), Number(gid.trim()));
  }
  const data = join(dir, 'data');
  const [initProgram, initArgs] = as([join(bin, 'initdb'), '-D', data, '-U', 'postgres', '--auth=scram-sha-256', `--pwfile=${join(dir, 'pwfile')}`, '-N', '-E', 'UTF8', '--locale=C']);
  const port = await freePort();
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off`;
  const [ctlProgram, ctlArgs] = as([join(bin, 'pg_ctl'), '-D', data, '-o', options, '-w', '-t', '60', '-l', join(dir, 'server.log'), 'start']);
  try {
    await run(initProgram, initArgs);
    await run(ctlProgram, ctlArgs);
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  const sql = async (database: string, text: string) => {
    const { stdout } = await run('psql', ['-X', '-q', '-t', '-A', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-d', database, '-c', text], {
      env: { ...process.env, PGPASSWORD: superPassword },
    });
    return stdout;
  };
  return {
    port,
    superPassword,
    sql,
    async stop() {
      const [stopProgram, stopArgs] = as([join(bin, 'pg_ctl'), '-D', data, '-m', 'immediate', 'stop']);
      await run(stopProgram, stopArgs).catch(() => {});
      await rm(dir, { recursive: true, force: true });
    },
  };
}
