// Where a native install keeps what, under its prefix. Root-owned (root runs or trusts them): the
// prefix itself, lib/ (the verified release root runs: node runtime, manager, supervisor), the
// release keys, install.env, tether.sh, logs/ and the pid files. The service user's own: state/
// (its writable state dir, with the versions its supervisor runs) and agent.yaml (0600, read by the
// agent).
import { join } from 'node:path';

export interface Layout {
  prefix: string;
  /** The service user's state dir (TETHER_STATE_DIR of the agent). */
  stateDir: string;
  /** Root-owned release tree: lib/versions/<v>, lib/releases/<v> (its record), lib/current. */
  libDir: string;
  /** The release root runs for lifecycle commands (manager.mjs, bin/node). */
  libCurrent: string;
  config: string;
  /** What this installer set up, for later commands and --uninstall. */
  record: string;
  /** The release public keys root trusts for --update and re-installs. */
  releaseKeys: string;
  /** The bootstrap (the release's deploy.sh) that manages this install. */
  bootstrap: string;
  logsDir: string;
  logFile: string;
  pidFile: string;
  rotatorPidFile: string;
}

export function layoutOf(prefix: string): Layout {
  return {
    prefix,
    stateDir: join(prefix, 'state'),
    libDir: join(prefix, 'lib'),
    libCurrent: join(prefix, 'lib', 'current'),
    config: join(prefix, 'agent.yaml'),
    record: join(prefix, 'install.env'),
    releaseKeys: join(prefix, 'release-keys.pub'),
    bootstrap: join(prefix, 'tether.sh'),
    logsDir: join(prefix, 'logs'),
    logFile: join(prefix, 'logs', 'agent.log'),
    pidFile: join(prefix, 'tether.pid'),
    rotatorPidFile: join(prefix, 'logs', 'rotate.pid'),
  };
}
