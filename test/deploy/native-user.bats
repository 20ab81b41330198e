#!/usr/bin/env bats
# A native install by a user who is not root (run as `nobody` here): no service user, no privilege
# change; the same verified bootstrap and manager, the pid-file service and the user's crontab.

load helpers

setup_file() {
  [ "$(id -u)" -eq 0 ] || skip "needs root to switch to the nobody user"
  command -v setpriv >/dev/null || skip "setpriv (util-linux) is needed to run as nobody"
  export HOME_DIR="$BATS_FILE_TMPDIR/home" KEYS="$BATS_FILE_TMPDIR/keys" RELEASES="$BATS_FILE_TMPDIR/releases" HUB="$BATS_FILE_TMPDIR/hub"
  export PREFIX_DIR="$HOME_DIR/.local/share/tether" CRONTAB_STANDIN_FILE="$HOME_DIR/crontab" DOCKER_STANDIN_DIR="$BATS_FILE_TMPDIR/docker"
  mkdir -p "$HOME_DIR" "$DOCKER_STANDIN_DIR" && chown nobody "$HOME_DIR"
  chmod 755 "$BATS_FILE_TMPDIR"
  use_stand_in "$BATS_FILE_TMPDIR" crontab
  use_stand_in "$BATS_FILE_TMPDIR" docker
  chmod 755 "$(stand_in_dir "$BATS_FILE_TMPDIR")"
  export PATH="$(stand_in_dir "$BATS_FILE_TMPDIR"):$PATH"
  make_release_key "$KEYS"
  build_release "$KEYS" "$RELEASES" 0.1.0
  start_hub "$HUB" "$KEYS"
  publish_release "$HUB" "$RELEASES" 0.1.0
  create_key "$HUB"
}

teardown_file() {
  [ -n "${PREFIX_DIR:-}" ] || return 0
  stop_installed "$PREFIX_DIR"
  stop_hub "$HUB"
}

as_nobody() {
  setpriv --reuid=nobody --regid=nogroup --clear-groups env -i HOME="$HOME_DIR" PATH="$PATH" \
    CRONTAB_STANDIN_FILE="$CRONTAB_STANDIN_FILE" DOCKER_STANDIN_DIR="$DOCKER_STANDIN_DIR" "$@"
}

@test "a user installs the agent under ~/.local/share/tether and manages it" {
  run as_nobody bash -c "curl -fsSL http://127.0.0.1:$HUB_PORT/install.sh | bash -s -- --key $(cat "$HUB/key") --native"
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"installed tether agent 0.1.0 in $PREFIX_DIR (fallback service)"* ]]
  [ -z "$(find "$PREFIX_DIR" ! -user nobody -print)" ]
  [ "$(ps -o user= -p "$(cat "$PREFIX_DIR/tether.pid")")" = nobody ]
  grep -qF "@reboot $PREFIX_DIR/tether.sh --start --native --prefix $PREFIX_DIR" "$CRONTAB_STANDIN_FILE"
  run as_nobody "$PREFIX_DIR/tether.sh" --status
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"running: version 0.1.0"* ]]
  run as_nobody "$PREFIX_DIR/tether.sh" --restart
  [ "$status" -eq 0 ]
  run as_nobody "$PREFIX_DIR/tether.sh" --uninstall --purge
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"removed $PREFIX_DIR"* ]]
  [ ! -e "$PREFIX_DIR" ]
  [ -z "$(processes_of "$PREFIX_DIR")" ]
}
