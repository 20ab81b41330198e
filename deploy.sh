#!/usr/bin/env bash
# tether agent installer and manager.
#
#   curl -fsSL https://hub.example.com/install.sh | bash -s -- --key KEY
#
# Installs the tether agent in Docker (when a working engine is found) or natively (a verified
# release under a prefix, run by its supervisor as a systemd service or, without systemd, as a
# pid-file service restarted at boot by cron), and manages it afterwards: --status, --logs,
# --update, --stop, --start, --restart, --uninstall. Run with --help for every flag.
set -euo pipefail

# The hub serving this script at GET /install.sh replaces the next line with its own URL.
TETHER_DEFAULT_SERVER_URL=''

readonly SCRIPT_VERSION='0.1.0'
readonly DEFAULT_IMAGE='ghcr.io/tether-project/tether-agent'
readonly DEFAULT_NAME='tether-agent'
readonly SERVICE_USER='tether'
# DER header of an Ed25519 SubjectPublicKeyInfo; the 32 raw key bytes follow it.
readonly ED25519_SPKI_HEADER='302a300506032b6570032100'
readonly LOG_ROTATE_BYTES=$((5 * 1024 * 1024))
readonly LOG_KEEP=3

usage() {
  cat <<'EOF'
tether agent installer and manager

install:
  deploy.sh --key KEY [--server URL] [--docker | --native] [--version V] [--allow PERMS]
            [--name NAME] [--prefix DIR] [--release-key KEY] [--image IMAGE]

  --key KEY          agent key from `tether keys create` (or env TETHER_API_KEY); required
  --server URL       hub URL, ws(s):// or http(s):// (default: the hub that served this script)
  --docker           run the agent as a Docker container (default when a Docker engine works)
  --native           install the agent release on this host (default without Docker)
  --version V        release or image version to install (default: latest)
  --allow PERMS      comma-separated commands this host allows, e.g. ping,info,exec (local policy)
  --name NAME        container / service name (default tether-agent)
  --prefix DIR       native install directory (default /opt/tether as root,
                     ~/.local/share/tether otherwise)
  --release-key KEY  pin this base64 Ed25519 release public key (default: fetch the hub's keys
                     and print their fingerprints)
  --image IMAGE      Docker image without tag (default ghcr.io/tether-project/tether-agent)

manage an installed agent (add --prefix DIR / --name NAME when not the default):
  --status           show whether it runs and which version (exit 0 running, 3 not running)
  --logs [--follow]  show its log (the last 200 lines; --follow keeps reading)
  --update           install the newest release (or --version V) and restart on it
  --stop | --start | --restart
  --uninstall        remove what the installer created; keeps the agent state and backups
  --purge            with --uninstall: remove the state (volume or state dir) and backups too
  --help             this text
  --version          the version of this script (with a value: the release to install)
EOF
}

# ---------------------------------------------------------------------------------------------
# output

say() { printf 'tether: %s\n' "$*"; }
warn() { printf 'tether: warning: %s\n' "$*" >&2; }
# Every deliberate exit goes through these, so cleanup can tell an unexpected failure apart.
EXPLAINED=0
die() {
  printf 'tether: error: %s\n' "$*" >&2
  EXPLAINED=1
  exit 1
}
usage_error() {
  printf 'tether: error: %s (see --help)\n' "$*" >&2
  EXPLAINED=1
  exit 2
}
exit_not_running() {
  EXPLAINED=1
  exit 3
}
have() { command -v "$1" >/dev/null 2>&1; }

# ---------------------------------------------------------------------------------------------
# arguments

ACTION=''
MODE=''
KEY="${TETHER_API_KEY:-}"
SERVER=''
RELEASE_VERSION=''
ALLOW=''
ALLOW_GIVEN=0
NAME="$DEFAULT_NAME"
PREFIX=''
PINNED_RELEASE_KEY=''
IMAGE="${TETHER_IMAGE:-$DEFAULT_IMAGE}"
FOLLOW=0
PURGE=0
ROTATE_PID=''

set_action() {
  if [ -n "$ACTION" ] && [ "$ACTION" != "$1" ]; then
    usage_error "--$ACTION and --$1 cannot be combined; give one action"
  fi
  ACTION="$1"
}

needs_value() { # flag, remaining argument count, next argument
  if [ "$2" -lt 2 ] || [ -z "$3" ] || [ "${3#-}" != "$3" ]; then
    usage_error "$1 needs a value"
  fi
}

parse_args() {
  while [ "$#" -gt 0 ]; do
    case "$1" in
      --key | --server | --allow | --name | --prefix | --release-key | --image)
        needs_value "$1" "$#" "${2-}"
        case "$1" in
          --key) KEY="$2" ;;
          --server) SERVER="$2" ;;
          --allow) ALLOW="$2" ALLOW_GIVEN=1 ;;
          --name) NAME="$2" ;;
          --prefix) PREFIX="$2" ;;
          --release-key) PINNED_RELEASE_KEY="$2" ;;
          --image) IMAGE="$2" ;;
        esac
        shift 2
        ;;
      --version)
        # With a value it names the release to install; alone it asks for this script's version.
        if [ "$#" -ge 2 ] && [ -n "$2" ] && [ "${2#-}" = "$2" ]; then
          RELEASE_VERSION="$2"
          shift 2
        else
          set_action script-version
          shift
        fi
        ;;
      --docker | --native)
        if [ -n "$MODE" ] && [ "$MODE" != "${1#--}" ]; then usage_error "--docker and --native cannot be combined"; fi
        MODE="${1#--}"
        shift
        ;;
      --status | --logs | --update | --stop | --start | --restart | --uninstall | --help)
        set_action "${1#--}"
        shift
        ;;
      -h) set_action help && shift ;;
      --follow) FOLLOW=1 && shift ;;
      --purge) PURGE=1 && shift ;;
      --rotate-logs-while) # internal: the log rotator of the pid-file service (see start_fallback)
        needs_value "$1" "$#" "${2-}"
        set_action rotate-logs-while
        ROTATE_PID="$2"
        shift 2
        ;;
      *) usage_error "unknown argument \"$1\"" ;;
    esac
  done
  [ -n "$ACTION" ] || ACTION=install
  if [ "$FOLLOW" = 1 ] && [ "$ACTION" != logs ]; then usage_error "--follow goes with --logs"; fi
  if [ "$PURGE" = 1 ] && [ "$ACTION" != uninstall ]; then usage_error "--purge goes with --uninstall"; fi
}

validate_common() {
  if ! [[ "$NAME" =~ ^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$ ]]; then
    usage_error "--name \"$NAME\" must be letters, digits, '.', '_' or '-' (at most 63), e.g. tether-agent"
  fi
  if [ -n "$RELEASE_VERSION" ] && [ "$RELEASE_VERSION" != latest ] && ! valid_version "$RELEASE_VERSION"; then
    usage_error "--version \"$RELEASE_VERSION\" is not a release version such as 1.4.0 (or latest)"
  fi
  [ "$RELEASE_VERSION" != latest ] || RELEASE_VERSION=''
  if [ -n "$PREFIX" ]; then
    [ "${PREFIX#/}" != "$PREFIX" ] || PREFIX="$PWD/$PREFIX"
    PREFIX="${PREFIX%/}"
    # The prefix lands in a crontab line and a systemd unit: keep it to characters safe in both.
    if ! [[ "$PREFIX" =~ ^/[A-Za-z0-9._/+-]+$ ]] || [[ "$PREFIX" =~ (^|/)\.\.?(/|$) ]]; then
      usage_error "--prefix \"$PREFIX\" must be a plain directory path (letters, digits, . _ - + /)"
    fi
  fi
}

valid_version() { [[ "$1" =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$ ]]; }
valid_release_key() {
  [[ "$1" =~ ^[A-Za-z0-9+/]{43}=$ ]] && [ "$(printf '%s' "$1" | base64 -d 2>/dev/null | wc -c)" -eq 32 ]
}
# hex_to_bytes HEX: writes the bytes (printf octal escapes; no xxd needed).
hex_to_bytes() {
  local hex="$1" i
  for ((i = 0; i < ${#hex}; i += 2)); do
    # shellcheck disable=SC2059 # the format is the escape we build from validated hex
    printf "\\$(printf '%03o' "$((16#${hex:i:2}))")"
  done
}
key_fingerprint() { printf '%s' "$1" | base64 -d | sha256sum | cut -c1-16; }

validate_install_input() {
  [ -n "$KEY" ] || usage_error "missing --key KEY: pass the agent key from \`tether keys create\` (or set TETHER_API_KEY)"
  if ! [[ "$KEY" =~ ^[A-Za-z0-9._~+/=-]{8,512}$ ]]; then
    usage_error "--key does not look like an agent key (8 or more letters, digits or ._~+/=-); copy it again from \`tether keys create\`"
  fi
  [ -n "$SERVER" ] || SERVER="$TETHER_DEFAULT_SERVER_URL"
  [ -n "$SERVER" ] || usage_error "missing --server URL: pass the hub URL, e.g. --server wss://hub.example.com"
  check_server_url "$SERVER"
  if [ "$ALLOW_GIVEN" = 1 ]; then
    ALLOW="${ALLOW//[[:space:]]/}"
    local perm
    IFS=',' read -r -a perms <<<"$ALLOW"
    [ "${#perms[@]}" -gt 0 ] || usage_error "--allow is empty: give commands such as ping,info,exec"
    for perm in "${perms[@]}"; do
      [[ "$perm" =~ ^[a-z][a-z0-9_]*$ ]] || usage_error "--allow: \"$perm\" is not a command name (lower-case, e.g. ping,info,exec)"
    done
  fi
  if [ -n "$PINNED_RELEASE_KEY" ] && ! valid_release_key "$PINNED_RELEASE_KEY"; then
    usage_error "--release-key must be the base64 of a 32-byte Ed25519 public key (the content of release-key.pub)"
  fi
  [[ "$IMAGE" =~ ^[a-z0-9][a-z0-9._/:-]*$ ]] || usage_error "--image \"$IMAGE\" is not an image name such as ghcr.io/owner/tether-agent"
}

check_server_url() {
  if ! [[ "$1" =~ ^(wss?|https?)://[A-Za-z0-9.-]+(:[0-9]+)?(\[[0-9a-fA-F:]+\])?(/[A-Za-z0-9._~/-]*)?$ ]] &&
    ! [[ "$1" =~ ^(wss?|https?)://\[[0-9a-fA-F:]+\](:[0-9]+)?(/[A-Za-z0-9._~/-]*)?$ ]]; then
    usage_error "--server \"$1\" is not a hub URL such as wss://hub.example.com or http://10.0.0.5:8080"
  fi
}

# ws(s)://host/ws/agent → http(s)://host: the base of the hub's HTTP endpoints (protocol.md 4).
http_base() {
  local url="$1"
  case "$url" in
    ws://*) url="http://${url#ws://}" ;;
    wss://*) url="https://${url#wss://}" ;;
  esac
  local scheme="${url%%://*}" rest="${url#*://}"
  local host="${rest%%/*}" path=''
  [ "$host" = "$rest" ] || path="/${rest#*/}"
  path="${path%%/ws/agent*}"
  path="${path%/}"
  printf '%s://%s%s' "$scheme" "$host" "$path"
}

# ---------------------------------------------------------------------------------------------
# downloads

# fetch URL FILE: one line on failure that says whether the hub was unreachable or refused.
fetch() {
  local url="$1" out="$2" rc=0
  if have curl; then
    curl -fsSL --proto '=http,https' --connect-timeout 15 --max-time 900 -o "$out" "$url" 2>"$WORK/curl.err" || rc=$?
    if [ "$rc" -ne 0 ]; then
      case "$rc" in
        6 | 7 | 28 | 35 | 52 | 56) die "cannot reach the hub at $HUB_BASE ($(tail -n1 "$WORK/curl.err")); check --server and the network" ;;
        22) die "the hub refused $url ($(tail -n1 "$WORK/curl.err" | sed 's/^curl: ([0-9]*) //'))" ;;
        *) die "download of $url failed ($(tail -n1 "$WORK/curl.err"))" ;;
      esac
    fi
  elif have wget; then
    wget -q -T 30 -O "$out" "$url" 2>"$WORK/wget.err" || rc=$?
    if [ "$rc" -eq 4 ]; then die "cannot reach the hub at $HUB_BASE; check --server and the network"; fi
    [ "$rc" -eq 0 ] || die "download of $url failed (wget exit $rc)"
  else
    die "neither curl nor wget is installed; install curl and run this again"
  fi
}

# The hub's JSON is small and flat; read one string or number field without needing jq.
json_string() { sed -n 's/.*"'"$1"'"[[:space:]]*:[[:space:]]*"\([^"\\]*\)".*/\1/p' "$2" | head -n1; }
json_number() { sed -n 's/.*"'"$1"'"[[:space:]]*:[[:space:]]*\([0-9][0-9]*\).*/\1/p' "$2" | head -n1; }

WORK=''
cleanup() {
  local rc=$?
  [ -z "$WORK" ] || rm -rf "$WORK"
  if [ "$rc" -ne 0 ] && [ "$EXPLAINED" = 0 ]; then
    printf 'tether: error: unexpected failure (exit %s) at deploy.sh line %s; nothing was left half-installed\n' "$rc" "${FAILED_LINE:-?}" >&2
  fi
  # A failed install leaves nothing behind: undo every path this run created, newest first.
  if [ "$rc" -ne 0 ] && [ "${#CREATED[@]}" -gt 0 ]; then
    local i
    for ((i = ${#CREATED[@]} - 1; i >= 0; i--)); do rm -rf "${CREATED[$i]}"; done
  fi
  exit "$rc"
}
CREATED=()
make_work_dir() {
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/tether-install.XXXXXX")"
}
# mkdir_tracked DIR MODE: creates DIR (and missing parents) and remembers the topmost new one.
mkdir_tracked() {
  local dir="$1" top=''
  local probe="$dir"
  while [ ! -e "$probe" ]; do
    top="$probe"
    probe="$(dirname "$probe")"
  done
  mkdir -p "$dir"
  chmod "$2" "$dir"
  [ -z "$top" ] || CREATED+=("$top")
}

# ---------------------------------------------------------------------------------------------
# platform and permissions

detect_platform() {
  local os arch
  os="$(uname -s)"
  arch="$(uname -m)"
  [ "$os" = Linux ] || die "unsupported platform: $os $arch; tether releases exist for linux-x64 and linux-arm64 (use --docker elsewhere)"
  case "$arch" in
    x86_64 | amd64) PLATFORM=linux-x64 ;;
    aarch64 | arm64) PLATFORM=linux-arm64 ;;
    *) die "unsupported platform: Linux $arch; tether releases exist for linux-x64 and linux-arm64" ;;
  esac
}

is_root() { [ "$(id -u)" -eq 0 ]; }

default_prefix() {
  if [ -n "$PREFIX" ]; then return; fi
  # The installed copy of this script manages the install it sits in.
  local self="${BASH_SOURCE[0]:-}"
  if [ -f "$self" ] && [ -f "$(dirname "$self")/install.env" ]; then
    PREFIX="$(cd "$(dirname "$self")" && pwd)"
  elif is_root; then
    PREFIX=/opt/tether
  else
    PREFIX="${XDG_DATA_HOME:-$HOME/.local/share}/tether"
  fi
}

check_writable() {
  local probe="$1"
  while [ ! -e "$probe" ]; do probe="$(dirname "$probe")"; done
  if [ ! -d "$probe" ] || [ ! -w "$probe" ]; then
    die "no write permission for $1 ($probe is not writable by $(id -un)); run as root or pass --prefix DIR you own"
  fi
}

# ---------------------------------------------------------------------------------------------
# native: release download and verification

RELEASE_KEYS=()
load_release_keys() {
  if [ -n "$PINNED_RELEASE_KEY" ]; then
    RELEASE_KEYS=("$PINNED_RELEASE_KEY")
    say "release key pinned by --release-key: $(key_fingerprint "$PINNED_RELEASE_KEY")"
    return
  fi
  if [ -f "$PREFIX/state/release-keys.pub" ]; then
    mapfile -t RELEASE_KEYS < <(grep -E '^[A-Za-z0-9+/]{43}=$' "$PREFIX/state/release-keys.pub" || true)
    if [ "${#RELEASE_KEYS[@]}" -gt 0 ]; then return; fi
  fi
  fetch "$HUB_BASE/api/agents/release-keys" "$WORK/release-keys.json"
  local key
  while IFS= read -r key; do
    valid_release_key "$key" && RELEASE_KEYS+=("$key")
  done < <(grep -oE '"[A-Za-z0-9+/]{43}="' "$WORK/release-keys.json" | tr -d '"')
  [ "${#RELEASE_KEYS[@]}" -gt 0 ] || die "the hub at $HUB_BASE lists no release keys; pin one with --release-key KEY"
  for key in "${RELEASE_KEYS[@]}"; do
    say "release key from the hub: $(key_fingerprint "$key") (compare it with your release key; pin it with --release-key)"
  done
}

# Downloads and verifies a release into $WORK; sets RELEASE_VERSION and RELEASE_TARBALL.
download_release() {
  local version="$RELEASE_VERSION" tarball manifest signature
  if [ -z "$version" ]; then
    fetch "$HUB_BASE/api/agents/releases/latest?platform=$PLATFORM" "$WORK/latest.json"
    version="$(json_string version "$WORK/latest.json")"
    valid_version "$version" || die "the hub's latest release for $PLATFORM has no valid version (got \"$version\")"
    tarball="$(json_string tarball "$WORK/latest.json")"
    manifest="$(json_string manifest "$WORK/latest.json")"
    signature="$(json_string signature "$WORK/latest.json")"
  fi
  [ -n "${tarball:-}" ] || tarball="tether-agent-$version-$PLATFORM.tar.gz"
  [ -n "${manifest:-}" ] || manifest="tether-agent-$version-$PLATFORM.json"
  [ -n "${signature:-}" ] || signature="$manifest.sig"
  local file
  for file in "$tarball" "$manifest" "$signature"; do
    [[ "$file" =~ ^[A-Za-z0-9][A-Za-z0-9._+-]*$ ]] || die "the hub named a release file \"$file\"; refusing an unexpected file name"
  done
  say "downloading tether agent $version for $PLATFORM from $HUB_BASE"
  local base="$HUB_BASE/api/agents/releases/$version"
  fetch "$base/$manifest" "$WORK/manifest.json"
  fetch "$base/$signature" "$WORK/manifest.json.sig"
  fetch "$base/$tarball" "$WORK/release.tar.gz"
  verify_release "$version"
  RELEASE_VERSION="$version"
  RELEASE_TARBALL="$WORK/release.tar.gz"
}

# Signature first, then the manifest's claims, then the tarball's size and sha256: only a release
# that passes all of them is ever unpacked.
verify_release() {
  local version="$1" key signer=''
  tr -d ' \n\r\t' <"$WORK/manifest.json.sig" | base64 -d >"$WORK/signature.bin" 2>/dev/null ||
    die "release $version: the signature file is not base64; refusing to install"
  for key in "${RELEASE_KEYS[@]}"; do
    { hex_to_bytes "$ED25519_SPKI_HEADER" && printf '%s' "$key" | base64 -d; } >"$WORK/key.der"
    if openssl pkeyutl -verify -pubin -keyform DER -inkey "$WORK/key.der" -rawin \
      -in "$WORK/manifest.json" -sigfile "$WORK/signature.bin" >/dev/null 2>&1; then
      signer="$key"
      break
    fi
  done
  [ -n "$signer" ] || die "release $version: the manifest signature does not verify with the trusted release key(s) $(for k in "${RELEASE_KEYS[@]}"; do printf '%s ' "$(key_fingerprint "$k")"; done); refusing to install"
  local m_version m_platform m_sha m_size
  m_version="$(json_string version "$WORK/manifest.json")"
  m_platform="$(json_string platform "$WORK/manifest.json")"
  m_sha="$(json_string sha256 "$WORK/manifest.json")"
  m_size="$(json_number size "$WORK/manifest.json")"
  [ "$m_version" = "$version" ] || die "release $version: its signed manifest says version \"$m_version\"; refusing to install"
  [ "$m_platform" = "$PLATFORM" ] || die "release $version: its signed manifest is for \"$m_platform\", not $PLATFORM; refusing to install"
  [[ "$m_sha" =~ ^[0-9a-f]{64}$ ]] || die "release $version: its manifest has no valid sha256"
  local size sha
  size="$(wc -c <"$WORK/release.tar.gz" | tr -d ' ')"
  [ "$size" = "$m_size" ] || die "release $version: the tarball is $size bytes, the signed manifest says $m_size; refusing to install"
  sha="$(sha256sum "$WORK/release.tar.gz" | cut -d' ' -f1)"
  [ "$sha" = "$m_sha" ] || die "release $version: the tarball's sha256 does not match the signed manifest; refusing to install"
  # Every entry must sit inside the release's own top directory.
  local top="tether-agent-$version/" entry
  tar -tzf "$WORK/release.tar.gz" >"$WORK/entries" 2>/dev/null || die "release $version: the tarball is not a gzip tar archive"
  while IFS= read -r entry; do
    case "$entry" in
      */../* | */.. | ../*) die "release $version: the tarball has a '..' entry; refusing to install" ;;
      "$top"*) ;;
      *) die "release $version: the tarball has an entry outside $top ($entry); refusing to install" ;;
    esac
  done <"$WORK/entries"
  say "release $version verified: signed by release key $(key_fingerprint "$signer"), sha256 $sha"
}

# Unpacks the verified tarball to state/versions/<version> (unless that version is already there).
unpack_release() {
  local version="$RELEASE_VERSION" versions="$PREFIX/state/versions"
  if [ -f "$versions/$version/VERSION" ] && [ -x "$versions/$version/bin/node" ]; then
    say "release $version already unpacked in $versions/$version"
    [ -f "$PREFIX/state/releases/$version/files.json" ] || record_install
    return
  fi
  local incoming="$versions/.incoming-$version.$$"
  rm -rf "$incoming" "${versions:?}/$version"
  mkdir -p "$incoming"
  CREATED+=("$incoming")
  tar -xzf "$RELEASE_TARBALL" -C "$incoming" --no-same-owner
  local dir="$incoming/tether-agent-$version" file
  for file in bin/node agent.mjs supervisor.mjs VERSION; do
    [ -e "$dir/$file" ] || die "release $version: the tarball has no $file; it is not a tether agent release"
  done
  [ "$(tr -d '[:space:]' <"$dir/VERSION")" = "$version" ] || die "release $version: its VERSION file says otherwise"
  mv "$dir" "$versions/$version"
  rm -rf "$incoming"
  CREATED+=("$versions/$version")
  record_install
}

# The supervisor's install record, state/releases/<version>/: the signed manifest and the sha256 of
# every release file, as the supervisor writes it after its own installs. With it the supervisor
# re-checks this version at every start and can roll back to it after a later update.
record_install() {
  local version="$RELEASE_VERSION" record="$PREFIX/state/releases/$RELEASE_VERSION"
  mkdir -p "$record"
  chmod 700 "$PREFIX/state/releases" "$record"
  CREATED+=("$record")
  cp "$WORK/manifest.json" "$record/manifest.json"
  cp "$WORK/manifest.json.sig" "$record/manifest.json.sig"
  "$PREFIX/state/versions/$version/bin/node" -e '
    const fs = require("fs"), path = require("path"), crypto = require("crypto");
    const [dir, out] = process.argv.slice(1);
    const files = {};
    const walk = (prefix) => {
      for (const entry of fs.readdirSync(path.join(dir, prefix), { withFileTypes: true })) {
        const rel = prefix ? prefix + "/" + entry.name : entry.name;
        if (entry.isDirectory()) walk(rel);
        else if (entry.isFile()) files[rel] = crypto.createHash("sha256").update(fs.readFileSync(path.join(dir, rel))).digest("hex");
      }
    };
    walk("");
    fs.writeFileSync(out + ".tmp", JSON.stringify(files, null, 2) + "\n", { mode: 0o600 });
    fs.renameSync(out + ".tmp", out);' "$PREFIX/state/versions/$version" "$record/files.json" ||
    die "cannot record the install of $version in $record"
}

# <state>/bad-versions.json is the supervisor's list of versions that failed their trial on this
# host and were rolled back ({ "versions": { "<v>": { reason, marked_at } } }). The supervisor does
# not run a version on that list, so installing one would silently fall back to another version.
is_marked_bad() { [ -f "$PREFIX/state/bad-versions.json" ] && grep -qF "\"$1\":" "$PREFIX/state/bad-versions.json"; }

# check_bad_mark REQUESTED: refuses a version this host rolled back, unless it was named explicitly
# (as the agent's own update does); then its mark is cleared once it is unpacked (clear_bad_mark).
CLEAR_BAD_MARK=0
check_bad_mark() {
  is_marked_bad "$RELEASE_VERSION" || return 0
  if [ "$1" != "$RELEASE_VERSION" ]; then
    die "release $RELEASE_VERSION was rolled back on this host (see $PREFIX/state/bad-versions.json and --logs); install it anyway with --version $RELEASE_VERSION"
  fi
  CLEAR_BAD_MARK=1
}

# Removes the bad mark of the version just unpacked, with that release's own node (no jq needed).
clear_bad_mark() {
  [ "$CLEAR_BAD_MARK" = 1 ] || return 0
  local file="$PREFIX/state/bad-versions.json"
  "$PREFIX/state/versions/$RELEASE_VERSION/bin/node" -e '
    const fs = require("fs"), [file, version] = process.argv.slice(1);
    const data = JSON.parse(fs.readFileSync(file, "utf8"));
    delete data.versions[version];
    fs.writeFileSync(file + ".tmp", JSON.stringify(data, null, 2) + "\n", { mode: 0o600 });
    fs.renameSync(file + ".tmp", file);' "$file" "$RELEASE_VERSION" ||
    die "cannot clear the bad mark of $RELEASE_VERSION in $file"
  [ "$SERVICE" != systemd ] || chown "$SERVICE_USER:" "$file"
  say "release $RELEASE_VERSION was rolled back on this host before; installing it because --version named it"
}

switch_current() {
  ln -sfn "versions/$1" "$PREFIX/state/current.new"
  mv -T "$PREFIX/state/current.new" "$PREFIX/state/current"
}

installed_version() {
  local link
  link="$(readlink "$PREFIX/state/current" 2>/dev/null || true)"
  printf '%s' "${link#versions/}"
}

# ---------------------------------------------------------------------------------------------
# native: files

yaml_quote() { printf "'%s'" "${1//\'/\'\'}"; }

config_value() { # key: reads a value this script wrote to agent.yaml
  [ -f "$PREFIX/agent.yaml" ] || return 0
  sed -n "s/^$1: '\\(.*\\)'\$/\\1/p" "$PREFIX/agent.yaml" | head -n1 | sed "s/''/'/g"
}

write_config() {
  local allow_line=''
  if [ "$ALLOW_GIVEN" = 1 ]; then
    local perm list=''
    IFS=',' read -r -a perms <<<"$ALLOW"
    for perm in "${perms[@]}"; do list="${list:+$list, }$perm"; done
    allow_line="allow: [$list]"
  elif [ -f "$PREFIX/agent.yaml" ]; then
    allow_line="$(grep -E '^allow: ' "$PREFIX/agent.yaml" || true)" # a re-install keeps the policy
  fi
  local tmp="$PREFIX/.agent.yaml.tmp"
  (
    umask 077
    {
      echo '# tether agent configuration, written by deploy.sh. Holds the agent key: keep it 0600.'
      echo "server_url: $(yaml_quote "$SERVER")"
      echo "api_key: $(yaml_quote "$KEY")"
      echo "state_dir: $(yaml_quote "$PREFIX/state")"
      [ -z "$allow_line" ] || echo "$allow_line"
    } >"$tmp"
  )
  chmod 600 "$tmp"
  mv -f "$tmp" "$PREFIX/agent.yaml"
}

write_release_keys() {
  local tmp="$PREFIX/state/.release-keys.pub.tmp"
  printf '%s\n' "${RELEASE_KEYS[@]}" >"$tmp"
  chmod 644 "$tmp"
  mv -f "$tmp" "$PREFIX/state/release-keys.pub"
}

# install.env: what this installer set up, so that --uninstall removes exactly that.
write_install_record() {
  local tmp="$PREFIX/.install.env.tmp"
  {
    echo "mode=native"
    echo "name=$NAME"
    echo "service=$SERVICE"
    echo "unit=${UNIT_PATH:-}"
    echo "created_user=${CREATED_USER:-}"
    echo "server=$SERVER"
  } >"$tmp"
  mv -f "$tmp" "$PREFIX/install.env"
}

record_value() {
  [ -f "$PREFIX/install.env" ] || return 0
  sed -n "s/^$1=//p" "$PREFIX/install.env" | head -n1
}

# A copy of this script inside the prefix manages the install later (and starts it at boot).
install_self() {
  local tmp="$PREFIX/.tether.sh.tmp" self="${BASH_SOURCE[0]:-}"
  if [ -f "$self" ] && [ "$self" -ef "$PREFIX/tether.sh" ]; then
    return
  elif [ -f "$self" ] && grep -q '^readonly SCRIPT_VERSION=' "$self"; then
    cp "$self" "$tmp"
  else
    fetch "$HUB_BASE/install.sh" "$tmp" # piped into bash: fetch the same script again
  fi
  chmod 755 "$tmp"
  mv -f "$tmp" "$PREFIX/tether.sh"
}

# ---------------------------------------------------------------------------------------------
# native: service (systemd, or a pid file plus an @reboot crontab entry)

systemd_running() { [ -d /run/systemd/system ] && have systemctl; }

choose_service() {
  local recorded
  recorded="$(record_value service)"
  if [ -n "$recorded" ]; then
    SERVICE="$recorded"
    UNIT_PATH="$(record_value unit)"
    CREATED_USER="$(record_value created_user)"
  elif systemd_running && is_root; then
    SERVICE=systemd
    UNIT_PATH="/etc/systemd/system/$NAME.service"
  elif systemd_running && systemctl --user show-environment >/dev/null 2>&1; then
    SERVICE=systemd-user
    UNIT_PATH="${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user/$NAME.service"
  else
    SERVICE=fallback
    UNIT_PATH=''
  fi
}

systemctl_for() { if [ "$SERVICE" = systemd-user ]; then systemctl --user "$@"; else systemctl "$@"; fi; }

service_command() {
  printf '%s' "$PREFIX/state/current/bin/node $PREFIX/state/current/supervisor.mjs run --state-dir $PREFIX/state --agent-entry $PREFIX/state/current/agent.mjs"
}

ensure_service_user() {
  CREATED_USER="${CREATED_USER:-}"
  if ! id "$SERVICE_USER" >/dev/null 2>&1; then
    useradd --system --home-dir "$PREFIX/state" --no-create-home --shell /usr/sbin/nologin "$SERVICE_USER" ||
      die "cannot create the service user $SERVICE_USER (useradd failed)"
    CREATED_USER="$SERVICE_USER"
  fi
  chown -R "$SERVICE_USER:" "$PREFIX/state"
  chown "$SERVICE_USER:" "$PREFIX/agent.yaml"
}

write_unit() {
  local user_lines='' wanted=multi-user.target
  if [ "$SERVICE" = systemd ]; then
    user_lines="User=$SERVICE_USER
Group=$SERVICE_USER"
  else
    wanted=default.target
  fi
  mkdir -p "$(dirname "$UNIT_PATH")"
  cat >"$UNIT_PATH.tmp" <<EOF
# Written by deploy.sh (tether installer); removed by deploy.sh --uninstall.
[Unit]
Description=tether agent ($NAME)
Wants=network-online.target
After=network-online.target

[Service]
Type=simple
$user_lines
Environment=TETHER_CONFIG=$PREFIX/agent.yaml
ExecStart=$(service_command)
Restart=on-failure
RestartSec=5
# Exit 99: the hub deleted the key; restarting cannot help.
RestartPreventExitStatus=99
# SIGTERM to the supervisor only: it stops the agent itself.
KillMode=mixed
TimeoutStopSec=30
NoNewPrivileges=yes
ProtectSystem=strict
ReadWritePaths=$PREFIX/state
PrivateTmp=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectControlGroups=yes
RestrictSUIDSGID=yes
LockPersonality=yes

[Install]
WantedBy=$wanted
EOF
  mv -f "$UNIT_PATH.tmp" "$UNIT_PATH"
  systemctl_for daemon-reload
  systemctl_for enable "$NAME.service" >/dev/null 2>&1 || die "systemctl enable $NAME.service failed"
}

pid_alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }
fallback_pid() { cat "$PREFIX/tether.pid" 2>/dev/null || true; }

rotate_log() {
  local log="$PREFIX/logs/agent.log" size i
  [ -f "$log" ] || return 0
  size="$(wc -c <"$log" | tr -d ' ')"
  [ "$size" -ge "$LOG_ROTATE_BYTES" ] || return 0
  for ((i = LOG_KEEP - 1; i >= 1; i--)); do
    [ ! -f "$log.$i" ] || mv -f "$log.$i" "$log.$((i + 1))"
  done
  # copy + truncate: the supervisor keeps appending (O_APPEND) to the same open file.
  cp "$log" "$log.1"
  : >"$log"
}

cron_marker() { printf '# tether:%s' "$PREFIX"; }

add_cron_entry() {
  if ! have crontab; then
    warn "crontab is not installed: the agent will not start again after a reboot; install cron and run $PREFIX/tether.sh --start"
    return
  fi
  local marker current
  marker="$(cron_marker)"
  current="$(crontab -l 2>/dev/null || true)"
  {
    printf '%s\n' "$current" | grep -vF "$marker" | grep -v '^$' || true
    printf '@reboot %s/tether.sh --start --native --prefix %s >/dev/null 2>&1 %s\n' "$PREFIX" "$PREFIX" "$marker"
  } | crontab - || die "cannot write the crontab entry that starts the agent at boot"
}

remove_cron_entry() {
  have crontab || return 0
  local marker current
  marker="$(cron_marker)"
  current="$(crontab -l 2>/dev/null || true)"
  printf '%s\n' "$current" | grep -qF "$marker" || return 0
  local rest
  rest="$(printf '%s\n' "$current" | grep -vF "$marker" | grep -v '^$' || true)"
  if [ -z "$rest" ]; then crontab -r; else printf '%s\n' "$rest" | crontab -; fi
  say "removed the @reboot crontab entry"
}

start_fallback() {
  local pid
  pid="$(fallback_pid)"
  if pid_alive "$pid"; then
    say "already running (supervisor pid $pid)"
    return
  fi
  mkdir -p "$PREFIX/logs"
  chmod 700 "$PREFIX/logs"
  rotate_log
  # setsid: its own session, so a closing terminal does not hang it up. A clean environment, the
  # same at boot as now.
  env -i "PATH=/usr/local/bin:/usr/bin:/bin" "HOME=${HOME:-/}" "LANG=C.UTF-8" "TETHER_CONFIG=$PREFIX/agent.yaml" \
    setsid "$PREFIX/state/current/bin/node" "$PREFIX/state/current/supervisor.mjs" run \
    --state-dir "$PREFIX/state" --agent-entry "$PREFIX/state/current/agent.mjs" \
    </dev/null >>"$PREFIX/logs/agent.log" 2>&1 &
  pid=$!
  printf '%s\n' "$pid" >"$PREFIX/.tether.pid.tmp"
  mv -f "$PREFIX/.tether.pid.tmp" "$PREFIX/tether.pid"
  setsid "$PREFIX/tether.sh" --rotate-logs-while "$pid" --prefix "$PREFIX" </dev/null >/dev/null 2>&1 &
  printf '%s\n' "$!" >"$PREFIX/logs/rotate.pid"
  say "started (supervisor pid $pid, log $PREFIX/logs/agent.log)"
}

stop_fallback() {
  local pid rotator
  rotator="$(cat "$PREFIX/logs/rotate.pid" 2>/dev/null || true)"
  if pid_alive "$rotator"; then kill -TERM -- "-$rotator" 2>/dev/null || kill -TERM "$rotator" 2>/dev/null || true; fi
  rm -f "$PREFIX/logs/rotate.pid"
  pid="$(fallback_pid)"
  if ! pid_alive "$pid"; then
    rm -f "$PREFIX/tether.pid"
    say "not running"
    return
  fi
  kill -TERM "$pid" 2>/dev/null || true
  local waited=0
  while pid_alive "$pid" && [ "$waited" -lt 60 ]; do
    sleep 0.5
    waited=$((waited + 1))
  done
  if pid_alive "$pid"; then
    warn "supervisor pid $pid did not stop within 30 s; killing its process group"
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$PREFIX/tether.pid"
  say "stopped"
}

rotate_logs_while() { # internal: runs detached next to the pid-file service
  while pid_alive "$ROTATE_PID" && [ "$(fallback_pid)" = "$ROTATE_PID" ]; do
    rotate_log || true
    sleep 30
  done
}

native_start() {
  case "$SERVICE" in
    fallback) start_fallback ;;
    *) systemctl_for start "$NAME.service" && say "started $NAME.service" ;;
  esac
  wait_until_running
}

native_stop() {
  case "$SERVICE" in
    fallback) stop_fallback ;;
    *) systemctl_for stop "$NAME.service" && say "stopped $NAME.service" ;;
  esac
}

native_running() {
  case "$SERVICE" in
    fallback) pid_alive "$(fallback_pid)" ;;
    *) systemctl_for is-active --quiet "$NAME.service" ;;
  esac
}

# supervisor.json → "state version agent_pid" using the release's own node (jq may be missing).
supervisor_summary() {
  local node="$PREFIX/state/current/bin/node" file="$PREFIX/state/supervisor.json"
  [ -x "$node" ] && [ -f "$file" ] || return 0
  "$node" -e '
    try {
      const s = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
      console.log([s.state, s.version ?? "-", s.agent_pid ?? "-", s.restarts ?? 0, s.supervisor_pid ?? "-"].join(" "));
    } catch { }' "$file" 2>/dev/null || true
}

# Waits for supervisor.json to show a running supervisor (in fallback mode: the one just started,
# not a stale file from the previous run).
wait_until_running() {
  local tries=0 state version agent_pid restarts supervisor_pid expected=''
  [ "$SERVICE" != fallback ] || expected="$(fallback_pid)"
  while [ "$tries" -lt 60 ]; do
    read -r state version agent_pid restarts supervisor_pid _ <<<"$(supervisor_summary) - - - - -"
    if { [ "$state" = running ] || [ "$state" = starting ]; } && { [ -z "$expected" ] || [ "$supervisor_pid" = "$expected" ]; }; then
      return 0
    fi
    sleep 0.5
    tries=$((tries + 1))
  done
  warn "the supervisor has not reported running yet; check $PREFIX/tether.sh --logs"
}

# After an install or update: the supervisor may run another version than the one just installed
# (e.g. it found it damaged or marked bad); say so. A warning, not an error: the install is done,
# and under systemd supervisor.json may still be the previous run's for a moment.
check_running_version() {
  local state version
  read -r state version _ <<<"$(supervisor_summary) - -"
  if [ "$version" != - ] && [ "$version" != "$RELEASE_VERSION" ]; then
    warn "installed $RELEASE_VERSION, but the supervisor reports $version (state $state); see $PREFIX/tether.sh --logs"
  fi
}

# ---------------------------------------------------------------------------------------------
# native actions

require_native_install() {
  [ -f "$PREFIX/install.env" ] || die "no native tether install at $PREFIX; pass --prefix DIR, or install with --key KEY"
  NAME="$(record_value name)"
  choose_service
}

native_install() {
  detect_platform
  check_writable "$PREFIX"
  for tool in openssl tar sha256sum base64; do
    have "$tool" || die "$tool is required to verify and unpack the release; install it (e.g. apt-get install $tool)"
  done
  HUB_BASE="$(http_base "$SERVER")"
  make_work_dir
  local requested="$RELEASE_VERSION"
  load_release_keys
  download_release
  check_bad_mark "$requested"
  # Verified: only now does anything land under the prefix.
  mkdir_tracked "$PREFIX" 755
  chmod 755 "$PREFIX"
  mkdir_tracked "$PREFIX/state/versions" 700
  chmod 700 "$PREFIX/state"
  unpack_release
  choose_service
  clear_bad_mark
  local was_installed=0
  [ ! -f "$PREFIX/install.env" ] || was_installed=1
  if [ "$was_installed" = 0 ]; then
    CREATED+=("$PREFIX/agent.yaml" "$PREFIX/state/release-keys.pub" "$PREFIX/tether.sh" "$PREFIX/install.env" "$PREFIX/state/current")
  fi
  write_config
  write_release_keys
  install_self
  if [ "$was_installed" = 1 ] && native_running; then native_stop; fi
  switch_current "$RELEASE_VERSION"
  case "$SERVICE" in
    systemd)
      ensure_service_user
      write_unit
      ;;
    systemd-user) write_unit ;;
    fallback) add_cron_entry ;;
  esac
  write_install_record
  CREATED=() # installed: a failure to start from here on must not undo the install
  native_start
  check_running_version
  say "installed tether agent $RELEASE_VERSION in $PREFIX ($SERVICE service); manage it with $PREFIX/tether.sh --status"
}

native_update() {
  require_native_install
  detect_platform
  SERVER="$(config_value server_url)"
  [ -n "$SERVER" ] || die "$PREFIX/agent.yaml has no server_url; reinstall with --key KEY --server URL"
  HUB_BASE="$(http_base "$SERVER")"
  make_work_dir
  local before requested="$RELEASE_VERSION"
  before="$(installed_version)"
  load_release_keys
  download_release
  if [ "$RELEASE_VERSION" = "$before" ]; then
    say "already on $before"
    native_running || native_start
    return
  fi
  check_bad_mark "$requested"
  unpack_release
  CREATED=()
  [ "$SERVICE" != systemd ] || chown -R "$SERVICE_USER:" "$PREFIX/state/versions/$RELEASE_VERSION" "$PREFIX/state/releases"
  clear_bad_mark
  native_stop
  switch_current "$RELEASE_VERSION"
  native_start
  check_running_version
  say "updated $before -> $RELEASE_VERSION"
}

native_status() {
  require_native_install
  local summary state version agent_pid restarts
  summary="$(supervisor_summary)"
  read -r state version agent_pid restarts _ <<<"${summary:-unknown - - 0}"
  [ "$version" != - ] || version="$(installed_version)"
  if native_running && [ "$state" != stopped ] && [ "$state" != halted ]; then
    say "$NAME is running: version $version, supervisor ${state}, agent pid $agent_pid, restarts $restarts ($SERVICE service, $PREFIX)"
    return 0
  fi
  say "$NAME is not running: installed version $(installed_version), supervisor $state ($SERVICE service, $PREFIX)"
  exit_not_running
}

native_logs() {
  require_native_install
  if [ "$SERVICE" = fallback ]; then
    local log="$PREFIX/logs/agent.log"
    [ -f "$log" ] || die "no log yet at $log"
    if [ "$FOLLOW" = 1 ]; then exec tail -n 200 -F "$log"; fi
    tail -n 200 "$log"
  else
    local scope=()
    [ "$SERVICE" != systemd-user ] || scope=(--user)
    if [ "$FOLLOW" = 1 ]; then exec journalctl "${scope[@]}" -u "$NAME.service" -n 200 -f; fi
    journalctl "${scope[@]}" -u "$NAME.service" -n 200 --no-pager
  fi
}

native_uninstall() {
  require_native_install
  native_stop || true
  case "$SERVICE" in
    fallback) remove_cron_entry ;;
    *)
      systemctl_for disable "$NAME.service" >/dev/null 2>&1 || true
      rm -f "$UNIT_PATH"
      systemctl_for daemon-reload || true
      say "removed $UNIT_PATH"
      ;;
  esac
  if [ -n "$CREATED_USER" ]; then
    if userdel "$CREATED_USER" 2>/dev/null; then say "removed the service user $CREATED_USER"; else warn "could not remove the user $CREATED_USER"; fi
  fi
  rm -rf "$PREFIX/state/versions" "$PREFIX/state/releases" "$PREFIX/state/current" "$PREFIX/state/current.new" "$PREFIX/state/release-keys.pub" \
    "$PREFIX/agent.yaml" "$PREFIX/logs" "$PREFIX/tether.pid" "$PREFIX/install.env" "$PREFIX/tether.sh"
  if [ "$PURGE" = 1 ]; then
    rm -rf "$PREFIX/state"
  fi
  rmdir "$PREFIX/state" 2>/dev/null || true
  rmdir "$PREFIX" 2>/dev/null || true
  if [ -e "$PREFIX/state" ]; then
    say "uninstalled; left $PREFIX/state (agent state, outbox and backups); remove it with --uninstall --purge"
  elif [ -e "$PREFIX" ]; then
    say "uninstalled; left $PREFIX (it holds files the installer did not create)"
  else
    say "uninstalled; removed $PREFIX"
  fi
}

# ---------------------------------------------------------------------------------------------
# Docker

docker_works() { have docker && docker info >/dev/null 2>&1; }
docker_volume() { if [ "$NAME" = "$DEFAULT_NAME" ]; then printf 'tether-state'; else printf '%s-state' "$NAME"; fi; }
container_exists() { docker inspect --format '{{.Id}}' "$NAME" >/dev/null 2>&1; }

# The local policy of a container (--allow), mounted read-only as its /etc/tether/agent.yaml.
# TETHER_CONFIG_DIR overrides where it is kept.
policy_file() {
  local dir="${TETHER_CONFIG_DIR:-}"
  if [ -z "$dir" ]; then
    if is_root; then dir=/etc/tether; else dir="${XDG_CONFIG_HOME:-$HOME/.config}/tether"; fi
  fi
  printf '%s/%s.policy.yaml' "$dir" "$NAME"
}

# docker_run IMAGE: the container, with the key passed by name (-e VAR) so it is not in argv.
docker_run() {
  local image="$1" policy
  policy="$(policy_file)"
  local mount=()
  [ ! -f "$policy" ] || mount=(-v "$policy:/etc/tether/agent.yaml:ro")
  TETHER_SERVER_URL="$SERVER" TETHER_API_KEY="$KEY" docker run -d --name "$NAME" --restart unless-stopped \
    --network host -e TETHER_SERVER_URL -e TETHER_API_KEY -v "$(docker_volume):/var/lib/tether" \
    "${mount[@]}" "$image" >/dev/null || die "docker run failed for $image"
}

docker_install() {
  docker_works || die "no working Docker engine (docker info failed); start Docker or install with --native"
  [ -z "$PINNED_RELEASE_KEY" ] || warn "--release-key applies to native installs; a Docker install trusts the image"
  local image="$IMAGE:${RELEASE_VERSION:-latest}"
  local policy
  policy="$(policy_file)"
  if [ "$ALLOW_GIVEN" = 1 ]; then
    mkdir -p "$(dirname "$policy")"
    printf '# tether local policy for container %s, written by deploy.sh\nallow: [%s]\n' "$NAME" "${ALLOW//,/, }" >"$policy.tmp"
    chmod 644 "$policy.tmp" # no secret in it; the container user must read it
    mv -f "$policy.tmp" "$policy"
  fi
  say "pulling $image"
  docker pull "$image" >/dev/null || die "docker pull $image failed; check --image and --version"
  if container_exists; then
    docker rm -f "$NAME" >/dev/null
    say "replaced the existing container $NAME"
  fi
  docker_run "$image"
  say "started container $NAME from $image (state volume $(docker_volume))"
}

require_container() { container_exists || die "no container named $NAME; pass --name NAME, or install with --key KEY"; }

docker_update() {
  require_container
  local image env_line
  image="$(docker inspect --format '{{.Config.Image}}' "$NAME")"
  while IFS= read -r env_line; do
    case "$env_line" in
      TETHER_SERVER_URL=*) SERVER="${env_line#TETHER_SERVER_URL=}" ;;
      TETHER_API_KEY=*) KEY="${env_line#TETHER_API_KEY=}" ;;
    esac
  done < <(docker inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "$NAME")
  if [ -z "$SERVER" ] || [ -z "$KEY" ]; then die "container $NAME has no TETHER_SERVER_URL / TETHER_API_KEY; reinstall with --key KEY --server URL"; fi
  # The image name without its tag (a registry port keeps its colon: only strip after the last /).
  local repo="$image"
  case "${image##*/}" in *:*) repo="${image%:*}" ;; esac
  local target="$repo:${RELEASE_VERSION:-latest}"
  say "pulling $target"
  docker pull "$target" >/dev/null || die "docker pull $target failed"
  docker rm -f "$NAME" >/dev/null
  docker_run "$target"
  say "recreated container $NAME from $target"
}

docker_status() {
  require_container
  local info
  info="$(docker inspect --format '{{.State.Status}}|{{.Config.Image}}|{{if .State.Health}}{{.State.Health.Status}}{{end}}' "$NAME")"
  local state image health
  IFS='|' read -r state image health <<<"$info"
  if [ "$state" = running ]; then
    say "$NAME is running: image $image${health:+, health $health} (docker)"
    return 0
  fi
  say "$NAME is not running: $state, image $image (docker)"
  exit_not_running
}

docker_uninstall() {
  require_container
  docker rm -f "$NAME" >/dev/null
  say "removed container $NAME"
  local policy
  policy="$(policy_file)"
  if [ -f "$policy" ]; then
    rm -f "$policy"
    say "removed $policy"
  fi
  if [ "$PURGE" = 1 ]; then
    docker volume rm "$(docker_volume)" >/dev/null && say "removed volume $(docker_volume)"
  else
    say "left volume $(docker_volume) (agent state and backups); remove it with --uninstall --purge"
  fi
}

# ---------------------------------------------------------------------------------------------
# dispatch

# Which install a lifecycle action is about: --docker/--native, else whatever exists.
resolve_mode() {
  [ -z "$MODE" ] || return 0
  if [ -f "$PREFIX/install.env" ]; then
    MODE=native
  elif docker_works && container_exists; then
    MODE=docker
  else
    die "no tether agent installed at $PREFIX or as container $NAME; pass --prefix DIR or --name NAME, or install with --key KEY"
  fi
}

main() {
  parse_args "$@"
  case "$ACTION" in
    help) usage && return 0 ;;
    script-version) echo "tether deploy.sh $SCRIPT_VERSION" && return 0 ;;
  esac
  validate_common
  default_prefix
  trap cleanup EXIT
  trap 'FAILED_LINE=$LINENO' ERR
  case "$ACTION" in
    rotate-logs-while) rotate_logs_while ;;
    install)
      validate_install_input
      if [ -z "$MODE" ]; then
        if docker_works; then MODE=docker; else MODE=native; fi
        say "installing in $MODE mode (choose with --docker or --native)"
      fi
      if [ "$MODE" = docker ]; then docker_install; else native_install; fi
      ;;
    *)
      resolve_mode
      if [ "$MODE" = docker ]; then
        docker_works || die "no working Docker engine (docker info failed); start Docker first"
        case "$ACTION" in
          status) docker_status ;;
          logs)
            require_container
            if [ "$FOLLOW" = 1 ]; then exec docker logs --follow --tail 200 "$NAME"; fi
            docker logs --tail 200 "$NAME"
            ;;
          update) docker_update ;;
          stop) require_container && docker stop "$NAME" >/dev/null && say "stopped container $NAME" ;;
          start) require_container && docker start "$NAME" >/dev/null && say "started container $NAME" ;;
          restart) require_container && docker restart "$NAME" >/dev/null && say "restarted container $NAME" ;;
          uninstall) docker_uninstall ;;
        esac
      else
        case "$ACTION" in
          status) native_status ;;
          logs) native_logs ;;
          update) native_update ;;
          stop) require_native_install && native_stop ;;
          start) require_native_install && native_start ;;
          restart) require_native_install && native_stop && native_start ;;
          uninstall) native_uninstall ;;
        esac
      fi
      ;;
  esac
}

main "$@"
