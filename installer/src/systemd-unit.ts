// The systemd unit of a native install, rendered as text (deploy.sh --dry-run prints it).
// The system unit (root installs, run as the service user) is sandboxed as far as the default
// commands allow: `systemd-analyze security` scores it 1.6 (docs/deploy.md lists every setting and
// why; test/deploy checks the score stays at or below 3.5). What it must keep:
// - reading /proc (metrics: /proc/stat, meminfo, net/dev) and the whole file system read-only
//   (backups read their roots, home directories included);
// - AF_INET/AF_INET6 (the hub, S3, databases), AF_UNIX (database and Docker sockets) and AF_NETLINK
//   (os.networkInterfaces() for register's IP address);
// - writable, executable memory: V8's JIT (so no MemoryDenyWriteExecute);
// - chown/setuid-family system calls in @system-service: tools run by actions or `command`
//   backups (rsync -a, zstd) call them on their own files.
// A user unit (non-root installs under `systemctl --user`) keeps the settings a user manager can
// apply without user namespaces.
import type { Layout } from './layout.ts';

export interface UnitOptions {
  name: string;
  layout: Layout;
  scope: 'system' | 'user';
  /** The account of a system unit (root installs always run as one). */
  user: string | null;
}

export function serviceCommand(layout: Layout): string[] {
  const current = `${layout.stateDir}/current`;
  return [`${current}/bin/node`, `${current}/supervisor.mjs`, 'run', '--state-dir', layout.stateDir, '--agent-entry', `${current}/agent.mjs`];
}

const SYSTEM_HARDENING = `# Sandbox (docs/deploy.md, "The systemd unit"): no privileges, nothing writable but the state dir,
# no devices, kernel knobs, other users' processes or exotic sockets.
UMask=0077
NoNewPrivileges=yes
CapabilityBoundingSet=
AmbientCapabilities=
ProtectSystem=strict
ProtectHome=read-only
PrivateTmp=yes
PrivateDevices=yes
PrivateMounts=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
ProtectProc=invisible
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
RemoveIPC=yes
KeyringMode=private
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallErrorNumber=EPERM`;

const USER_HARDENING = `# Sandbox a user manager can apply (docs/deploy.md, "The systemd unit").
UMask=0077
NoNewPrivileges=yes
ProtectSystem=strict
PrivateTmp=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectControlGroups=yes
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallErrorNumber=EPERM`;

export function renderUnit(options: UnitOptions): string {
  const { layout } = options;
  const system = options.scope === 'system';
  const lines = [
    '# Written by deploy.sh (tether installer); removed by deploy.sh --uninstall.',
    '[Unit]',
    `Description=tether agent (${options.name})`,
    'Wants=network-online.target',
    'After=network-online.target',
    '',
    '[Service]',
    'Type=simple',
    ...(system && options.user !== null ? [`User=${options.user}`, `Group=${options.user}`] : []),
    `Environment=TETHER_CONFIG=${layout.config}`,
    `ExecStart=${serviceCommand(layout).join(' ')}`,
    'Restart=on-failure',
    'RestartSec=5',
    '# Exit 99: the hub deleted the key; restarting cannot help.',
    'RestartPreventExitStatus=99',
    '# SIGTERM to the supervisor only: it stops the agent itself.',
    'KillMode=mixed',
    'TimeoutStopSec=30',
    `ReadWritePaths=${layout.stateDir}`,
    system ? SYSTEM_HARDENING : USER_HARDENING,
    '',
    '[Install]',
    `WantedBy=${system ? 'multi-user.target' : 'default.target'}`,
    '',
  ];
  return lines.join('\n');
}
