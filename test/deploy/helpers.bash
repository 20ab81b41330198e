# Shared setup for the deploy.sh bats tests.
# shellcheck shell=bash

REPO="$(cd "$BATS_TEST_DIRNAME/../.." && pwd)"
NODE="$REPO/node_modules/.bin/node"
DEPLOY="$REPO/deploy.sh"

# The hub and the release builder the end-to-end tests use. Until the real hub serves releases
# these are the fixtures in test/deploy/fixture; switching to the real hub and release tooling
# means pointing these two at them (same command-line contract, see fixture/hub.ts and
# fixture/make-release.ts).
HUB_ENTRY="${TETHER_TEST_HUB_ENTRY:-$REPO/test/deploy/fixture/hub.ts}"
MAKE_RELEASE="${TETHER_TEST_MAKE_RELEASE:-$REPO/test/deploy/fixture/make-release.ts}"
ADMIN_TOKEN='deploy-test-admin-token'

# Stand-ins are put on PATH one by one (symlinks in a private bin dir in front of PATH).
stand_in_dir() { printf '%s/bin' "$1"; }
use_stand_in() { # dir name
  mkdir -p "$(stand_in_dir "$1")"
  ln -sf "$REPO/test/deploy/stand-ins/$2" "$(stand_in_dir "$1")/$2"
}

# start_hub DIR: a real hub process serving DIR/releases signed with DIR/keys; sets HUB_PORT.
start_hub() {
  local dir="$1"
  mkdir -p "$dir/releases" "$dir/keys"
  rm -f "$dir/port"
  [ -f "$dir/keys/release-key.pub" ] || "$NODE" -e '
    const c = require("node:crypto"), fs = require("node:fs"), dir = process.argv[1];
    const { privateKey, publicKey } = c.generateKeyPairSync("ed25519");
    fs.writeFileSync(dir + "/release-key.pem", privateKey.export({ format: "pem", type: "pkcs8" }), { mode: 0o600 });
    fs.writeFileSync(dir + "/release-key.pub", publicKey.export({ format: "der", type: "spki" }).subarray(12).toString("base64") + "\n");
  ' "$dir/keys"
  TETHER_ADMIN_TOKEN="$ADMIN_TOKEN" "$NODE" "$HUB_ENTRY" --releases "$dir/releases" \
    --release-key-file "$dir/keys/release-key.pub" --deploy-script "$DEPLOY" --port-file "$dir/port" \
    >"$dir/hub.log" 2>&1 3>&- &
  echo "$!" >"$dir/hub.pid"
  local tries=0
  while [ ! -s "$dir/port" ]; do
    tries=$((tries + 1))
    [ "$tries" -lt 300 ] || {
      cat "$dir/hub.log" >&2
      return 1
    }
    sleep 0.1
  done
  HUB_PORT="$(cat "$dir/port")"
  export HUB_PORT
}

stop_hub() {
  local pid
  pid="$(cat "$1/hub.pid" 2>/dev/null || true)"
  [ -z "$pid" ] || kill "$pid" 2>/dev/null || true
}

publish_release() { # dir version [signature|sha]
  "$NODE" "$MAKE_RELEASE" --out "$1/releases" --key-dir "$1/keys" --version "$2" ${3:+--tamper "$3"} >/dev/null
}

admin_call() { # method path
  curl -fsS -X "$1" -H "authorization: Bearer $ADMIN_TOKEN" -H 'content-type: application/json' \
    ${3:+--data "$3"} "http://127.0.0.1:$HUB_PORT$2"
}

# create_key DIR: a new agent key; writes DIR/key and DIR/key_id.
create_key() {
  local answer
  answer="$(admin_call POST /api/agents/keys '{"name":"deploy-test"}')"
  printf '%s' "$answer" | sed 's/.*"key":"\([^"]*\)".*/\1/' >"$1/key"
  printf '%s' "$answer" | sed 's/.*"id":"\([^"]*\)".*/\1/' >"$1/key_id"
}

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

# tree DIR: every path under DIR with its type and mode, sorted; for before/after comparisons.
tree() { find "$1" -printf '%y %m %P\n' | sort; }
