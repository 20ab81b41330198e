# Shared setup for the deploy.sh bats tests.
# shellcheck shell=bash

bats_require_minimum_version 1.5.0 # `run !`

REPO="$(cd "$BATS_TEST_DIRNAME/../.." && pwd)"
NODE="$REPO/node_modules/.bin/node"
# shellcheck disable=SC2034 # used by the .bats files
DEPLOY="$REPO/deploy.sh"
# Root installs run the agent as the service user, which must be able to reach the prefix: let every
# user enter (not list) this run's temp dir (mktemp made it 0700), as everyone may enter /opt.
[ "$(id -u)" -ne 0 ] || chmod o+x "$BATS_RUN_TMPDIR"

# The real tether CLI (hub, publish, release-key) and release builder.
TETHER_CLI="$REPO/hub/src/cli/main.ts"
RELEASE_SCRIPT="$REPO/scripts/release.ts"

# Stand-ins are put on PATH one by one (copies in a private bin dir in front of PATH). Copies, not
# symlinks into the checkout: tests run some of them as another user (nobody, the service user),
# who may not be able to reach a checkout below a private (0700) directory.
stand_in_dir() { printf '%s/bin' "$1"; }
use_stand_in() { # dir name
  mkdir -p "$(stand_in_dir "$1")"
  cp "$REPO/test/deploy/stand-ins/$2" "$(stand_in_dir "$1")/$2" # not `install`: some suites define their own
  chmod 0755 "$(stand_in_dir "$1")/$2"
}

# ---------------------------------------------------------------------------------------------
# releases

# This host's release platform, as deploy.sh computes it (linux-x64 / linux-arm64).
host_platform() { "$NODE" -p 'process.platform + "-" + process.arch'; }

# make_release_key DIR: `tether release-key generate` (DIR/release-key.pem, DIR/release-key.pub).
make_release_key() { "$NODE" "$TETHER_CLI" release-key generate --out "$1" >/dev/null; }

# build_release KEY_DIR OUT VERSION: a real signed release in OUT/VERSION/ (real bundles, this
# Node as bin/node so nothing is fetched, gzip level 1 to keep the suite fast).
build_release() {
  "$NODE" "$RELEASE_SCRIPT" --version "$3" --key "$1/release-key.pem" --out "$2/$3" \
    --platforms "$(host_platform)" --node-binary "$(readlink -f "$NODE")" --gzip-level 1 >/dev/null
}

# key_fingerprint_of KEY_DIR: the fingerprint deploy.sh prints for a key (16 hex of its sha256).
key_fingerprint_of() { tr -d '\n' <"$1/release-key.pub" | base64 -d | sha256sum | cut -c1-16; }

# ---------------------------------------------------------------------------------------------
# the real hub

# start_hub DIR KEY_DIR: a real hub process with data dir DIR/data trusting the release key of
# KEY_DIR; sets and exports HUB_PORT and ADMIN_TOKEN. Its pid is in DIR/hub.pid, its log DIR/hub.log.
start_hub() {
  local dir="$1"
  mkdir -p "$dir/data"
  chmod 700 "$dir/data"
  cp "$2/release-key.pub" "$dir/data/release-keys"
  # 3>&-: bats waits for every process holding its fd 3 open.
  "$NODE" "$TETHER_CLI" hub --host 127.0.0.1 --port 0 --data-dir "$dir/data" >"$dir/hub.log" 2>&1 3>&- &
  echo "$!" >"$dir/hub.pid"
  local tries=0 url=''
  # The hub's first JSON log line: {"url":"http://127.0.0.1:PORT",...,"msg":"hub listening"}.
  until url="$(grep -F '"msg":"hub listening"' "$dir/hub.log" | sed -n 's/.*"url":"\(http:\/\/127\.0\.0\.1:[0-9]*\)".*/\1/p' | head -n1)" && [ -n "$url" ]; do
    tries=$((tries + 1))
    if [ "$tries" -ge 300 ] || ! kill -0 "$(cat "$dir/hub.pid")" 2>/dev/null; then
      echo "the hub did not start:" >&2
      cat "$dir/hub.log" >&2
      return 1
    fi
    sleep 0.2
  done
  HUB_PORT="${url##*:}"
  ADMIN_TOKEN="$(cat "$dir/data/admin-token")"
  export HUB_PORT ADMIN_TOKEN
}

# stop_hub DIR: SIGTERM, then SIGKILL if it is still there after 10 s.
stop_hub() {
  local pid tries=0
  pid="$(cat "$1/hub.pid" 2>/dev/null || true)"
  [ -n "$pid" ] || return 0
  kill "$pid" 2>/dev/null || return 0
  while kill -0 "$pid" 2>/dev/null && [ "$tries" -lt 50 ]; do
    sleep 0.2
    tries=$((tries + 1))
  done
  kill -KILL "$pid" 2>/dev/null || true
}

# publish_release HUB_DIR RELEASES VERSION: `tether hub publish RELEASES/VERSION --data-dir HUB_DIR/data`.
publish_release() { "$NODE" "$TETHER_CLI" hub publish "$2/$3" --data-dir "$1/data" >/dev/null; }

# published_file HUB_DIR VERSION EXT: path of a published release file (EXT tar.gz, json, json.sig).
published_file() { printf '%s/data/releases/%s/tether-agent-%s-%s.%s' "$1" "$2" "$2" "$(host_platform)" "$3"; }

admin_call() { # method path [json body]
  curl -fsS -X "$1" -H "authorization: Bearer $ADMIN_TOKEN" -H 'content-type: application/json' \
    ${3:+--data "$3"} "http://127.0.0.1:$HUB_PORT$2"
}

# create_key DIR: a new agent key through the admin API; writes DIR/key and DIR/key_id.
create_key() {
  local answer
  answer="$(admin_call POST /api/agents/keys '{"name":"deploy-test"}')"
  printf '%s' "$answer" | sed -n 's/.*"key":"\([^"]*\)".*/\1/p' >"$1/key"
  printf '%s' "$answer" | sed -n 's/.*"id":"\([^"]*\)".*/\1/p' >"$1/key_id"
  if [ ! -s "$1/key" ] || [ ! -s "$1/key_id" ]; then
    echo "unexpected answer to POST /api/agents/keys: $answer" >&2
    return 1
  fi
}

# ---------------------------------------------------------------------------------------------
# waiting and processes

# wait_for "description" command...: polls (generously) until the command succeeds.
wait_for() {
  local what="$1" tries=0
  shift
  until "$@" >/dev/null 2>&1; do
    tries=$((tries + 1))
    if [ "$tries" -ge 120 ]; then
      echo "timed out waiting for $what" >&2
      return 1
    fi
    sleep 0.5
  done
}

# The processes started from a prefix (supervisor, agent, log rotator).
processes_of() { pgrep -f -- "$1/" || true; }

# stop_installed PREFIX: after a test file, whatever happened, no process of the install is left:
# the process groups of the pid-file service and its log rotator, then any straggler, by pid.
stop_installed() {
  local pid file
  for file in "$1/tether.pid" "$1/logs/rotate.pid"; do
    pid="$(cat "$file" 2>/dev/null || true)"
    [ -z "$pid" ] || kill -- "-$pid" 2>/dev/null || true
  done
  sleep 0.5
  for pid in $(processes_of "$1"); do kill -KILL "$pid" 2>/dev/null || true; done
}

# tree DIR: every path under DIR with its type and mode, sorted; for before/after comparisons.
tree() { find "$1" -printf '%y %m %P\n' | sort; }
