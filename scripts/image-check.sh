#!/usr/bin/env bash
# What the agent image would contain, checked without a Docker engine (these machines have none).
# It repeats the Dockerfile's steps outside Docker:
#   build stage:   the files the Dockerfile COPYs, `npm ci --ignore-scripts`, scripts/build.ts
#                  --only agent,supervisor (as `RUN node scripts/build.ts --out /out ...`);
#   runtime stage: a Debian bookworm root made with debootstrap (the distribution of
#                  node:24-bookworm-slim), `apt-get install` of docker/runtime-packages, this
#                  project's Node 24 standing in for the image's, the bundles in /opt/tether.
# Then, inside that root (chroot, sharing this machine's network), the agent backs up a real
# PostgreSQL and a real MariaDB database with the clients the image ships (their versions printed),
# and both artifacts are restored into fresh databases and their rows counted.
#
#   sudo bash scripts/image-check.sh [--root DIR] [--keep]
#
# Needs root (debootstrap, chroot), debootstrap, the network to Debian's mirror, PostgreSQL on
# 127.0.0.1:5432 (trust) and MariaDB on 127.0.0.1:3306 (root without password). A few minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

root=""
keep=false
while [ $# -gt 0 ]; do
  case "$1" in
    --root) root="${2:?--root needs a directory}"; shift 2 ;;
    --keep) keep=true; shift ;;
    -h | --help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "image-check: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" -eq 0 ] || { echo "image-check: run as root (debootstrap and chroot need it)" >&2; exit 2; }
command -v debootstrap >/dev/null || { echo "image-check: debootstrap is missing: apt-get install debootstrap" >&2; exit 2; }
node="$repo/node_modules/.bin/node"
[ -x "$node" ] || { echo "image-check: run npm ci first (Node 24 comes from the node devDependency)" >&2; exit 2; }

work=$(mktemp -d /tmp/tether-image-check.XXXXXX)
[ -n "$root" ] || root="$work/root"
cleanup() {
  for mount in "$root/proc" "$root/dev/pts" "$root/dev"; do mountpoint -q "$mount" && umount -l "$mount"; done
  if [ "$keep" = false ]; then rm -rf "$work"; else echo "image-check: kept $work"; fi
}
trap cleanup EXIT
say() { printf 'image-check: %s\n' "$*"; }

# ---- build stage ------------------------------------------------------------------------------
say "build stage: the Dockerfile's COPY sources, npm ci --ignore-scripts, scripts/build.ts"
context="$work/context"
mkdir -p "$context/scripts"
cp package.json package-lock.json "$context/"
for workspace in shared agent supervisor hub; do
  mkdir -p "$context/$workspace"
  # .dockerignore leaves out node_modules and test directories.
  tar -C "$workspace" --exclude=node_modules --exclude=test -cf - . | tar -C "$context/$workspace" -xf -
done
cp tsconfig.base.json "$context/"
cp scripts/build.ts "$context/scripts/"
(cd "$context" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >/dev/null)
(cd "$context" && "$node" scripts/build.ts --out "$work/out" --only agent,supervisor --version 0.0.0-image-check)

# ---- runtime stage ----------------------------------------------------------------------------
if [ ! -x "$root/usr/bin/apt-get" ]; then
  say "runtime stage: debootstrap bookworm into $root"
  debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian >/dev/null
fi
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"
mount -t devpts devpts "$root/dev/pts" 2>/dev/null || true
cp /etc/resolv.conf "$root/etc/resolv.conf"
packages=$(grep -v '^#' docker/runtime-packages | tr '\n' ' ')
say "runtime stage: apt-get install $packages"
chroot "$root" sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $packages" >/dev/null
install -D -m 0755 "$(readlink -f "$node")" "$root/usr/local/bin/node"
rm -rf "$root/opt/tether" && mkdir -p "$root/opt/tether" && cp -R "$work/out/." "$root/opt/tether/"

say "clients in the image:"
for tool in tini pg_dump pg_restore psql mariadb-dump mariadb; do
  printf '  %-13s %s\n' "$tool" "$(chroot "$root" "$tool" --version 2>&1 | head -1)"
done

# ---- a real backup of each database kind, run by the agent inside the root --------------------
database="image_check_$$"
psql -h 127.0.0.1 -U postgres -qc "create database $database"
psql -h 127.0.0.1 -U postgres -d "$database" -qc "create table orders (id int primary key); insert into orders select generate_series(1, 100)"
mariadb -h 127.0.0.1 -u root -e "create database $database; create table $database.orders (id int primary key); insert into $database.orders values (1), (2), (3)"
drop_databases() {
  for name in "$database" "${database}_restored"; do
    psql -h 127.0.0.1 -U postgres -qc "drop database if exists $name" || true
    mariadb -h 127.0.0.1 -u root -e "drop database if exists $name" || true
  done
  cleanup
}
trap drop_databases EXIT

mkdir -p "$root/etc/tether" "$root/var/lib/tether"
cat >"$root/etc/tether/agent.yaml" <<YAML
backup:
  recipients: []
  dir: /var/lib/tether/backups
  targets:
    pg: { kind: postgres, url: "postgres://postgres@127.0.0.1:5432", databases: [$database], format: custom }
    maria: { kind: mysql, host: 127.0.0.1, port: 3306, user: root, databases: [$database] }
YAML
for target in pg maria; do
  say "backup of target $target inside the root:"
  # A local backup never talks to a hub, but the config needs one to be complete.
  chroot "$root" env TETHER_STATE_DIR=/var/lib/tether TETHER_CONFIG=/etc/tether/agent.yaml \
    TETHER_SERVER_URL=wss://hub.invalid TETHER_API_KEY=image-check-placeholder \
    node /opt/tether/agent.mjs backup run "$target" --destination local
done
say "artifacts:"
find "$root/var/lib/tether/backups" -type f -name '*.zst' -printf '  %P %s bytes\n'
# What they hold: restored into fresh databases with this machine's own zstd and clients, the rows
# are all there.
pg_artifact=$(find "$root/var/lib/tether/backups/pg" -name '*.dump.zst' | head -1)
maria_artifact=$(find "$root/var/lib/tether/backups/maria" -name '*.sql.zst' | head -1)
restored="${database}_restored"
psql -h 127.0.0.1 -U postgres -qc "create database $restored"
mariadb -h 127.0.0.1 -u root -e "create database $restored"
zstd -dc "$pg_artifact" | pg_restore -h 127.0.0.1 -U postgres -d "$restored" --no-owner
zstd -dc "$maria_artifact" | mariadb -h 127.0.0.1 -u root "$restored"
pg_rows=$(psql -h 127.0.0.1 -U postgres -d "$restored" -tAc "select count(*) from orders")
maria_rows=$(mariadb -h 127.0.0.1 -u root -N -e "select count(*) from $restored.orders")
say "restored: PostgreSQL orders $pg_rows rows (of 100), MariaDB orders $maria_rows rows (of 3)"
if [ "$pg_rows" != 100 ] || [ "$maria_rows" != 3 ]; then
  echo "image-check: a restored database lacks rows" >&2
  exit 1
fi
say "ok: the image's steps install working PostgreSQL and MariaDB clients, and the agent backs up with them"
