#!/usr/bin/env bats
# An install made by the bash-only deploy.sh (before the bootstrap and its manager: everything under
# the state dir, and as root without systemd, supervisor and agent running as root) is upgraded by
# `deploy.sh --update`: the new layout, root's files root's, the agent running as the service user.

load helpers

# The last deploy.sh that did everything in bash.
readonly BASH_ONLY_COMMIT=b8ded3b

setup_file() {
  [ "$(id -u)" -eq 0 ] || skip "needs root: the install under test is a root install"
  export OLD_DEPLOY="$BATS_FILE_TMPDIR/deploy-bash-only.sh"
  git -C "$REPO" show "$BASH_ONLY_COMMIT:deploy.sh" >"$OLD_DEPLOY" 2>/dev/null || skip "git history with $BASH_ONLY_COMMIT is needed for the old deploy.sh"
  chmod 755 "$OLD_DEPLOY"
  export PREFIX_DIR="$BATS_FILE_TMPDIR/opt/tether" KEYS="$BATS_FILE_TMPDIR/keys" RELEASES="$BATS_FILE_TMPDIR/releases" HUB="$BATS_FILE_TMPDIR/hub"
  export CRONTAB_STANDIN_FILE="$BATS_FILE_TMPDIR/crontab" DOCKER_STANDIN_DIR="$BATS_FILE_TMPDIR/docker"
  mkdir -p "$DOCKER_STANDIN_DIR" "$BATS_FILE_TMPDIR/opt"
  use_stand_in "$BATS_FILE_TMPDIR" crontab
  use_stand_in "$BATS_FILE_TMPDIR" docker
  export PATH="$(stand_in_dir "$BATS_FILE_TMPDIR"):$PATH"
  PRE_EXISTING_USER=0
  if id tether >/dev/null 2>&1; then PRE_EXISTING_USER=1; fi
  export PRE_EXISTING_USER
  make_release_key "$KEYS"
  build_release "$KEYS" "$RELEASES" 0.1.0
  build_release "$KEYS" "$RELEASES" 0.2.0
  start_hub "$HUB" "$KEYS"
  publish_release "$HUB" "$RELEASES" 0.1.0
  create_key "$HUB"
}

teardown_file() {
  [ -n "${PREFIX_DIR:-}" ] || return 0
  if [ -f "$PREFIX_DIR/lib/current/manager.mjs" ]; then "$DEPLOY" --uninstall --purge --prefix "$PREFIX_DIR" >/dev/null 2>&1 || true; fi
  stop_installed "$PREFIX_DIR"
  stop_hub "$HUB"
}

key_id() { cat "$HUB/key_id"; }
connected_with() { admin_call GET /api/agents/connected | grep -q "\"key_id\":\"$(key_id)\"[^}]*\"version\":\"$1\""; }

@test "deploy.sh --update moves a bash-only install to the new layout, run as the service user" {
  run "$OLD_DEPLOY" --key "$(cat "$HUB/key")" --server "ws://127.0.0.1:$HUB_PORT" --native --prefix "$PREFIX_DIR" --allow ping,info
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$(ps -o user= -p "$(cat "$PREFIX_DIR/tether.pid")")" = root ] # what the old layout did
  run "$DEPLOY" --status --prefix "$PREFIX_DIR"
  [ "$status" -eq 1 ]
  [[ "$output" == *"predates the installed manager"*"deploy.sh --update --prefix $PREFIX_DIR"* ]]

  publish_release "$HUB" "$RELEASES" 0.2.0
  run "$DEPLOY" --update --prefix "$PREFIX_DIR"
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"updated 0.1.0 -> 0.2.0"* ]]
  [ -z "$(find "$PREFIX_DIR/lib" "$PREFIX_DIR/install.env" "$PREFIX_DIR/release-keys.pub" "$PREFIX_DIR/tether.sh" ! -type l \( ! -user 0 -o -perm /022 \) -print)" ]
  [ -z "$(find "$PREFIX_DIR/state" ! -user tether -print)" ]
  [ "$(stat -c '%U %a' "$PREFIX_DIR/agent.yaml")" = 'tether 600' ] # kept as it was, now the agent's to read
  grep -qxF 'allow: [ping, info]' "$PREFIX_DIR/agent.yaml"
  wait_for "agent 0.2.0 connected" connected_with 0.2.0
  [ "$(ps -o user= -p "$(cat "$PREFIX_DIR/tether.pid")")" = tether ]
  run "$PREFIX_DIR/tether.sh" --status
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"running: version 0.2.0"* ]]
  run "$DEPLOY" --uninstall --purge --prefix "$PREFIX_DIR"
  [ "$status" -eq 0 ]
  [ ! -e "$PREFIX_DIR" ]
  [ "$PRE_EXISTING_USER" = 1 ] || ! id tether
}
