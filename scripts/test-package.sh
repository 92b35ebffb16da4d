#!/usr/bin/env bash
# The packages as a user meets them (scripts/package.sh builds them first): installs the
# .deb with apt (which resolves its dependencies), runs the installed `baton --version`,
# checks the relay's user, config directory and systemd unit (`systemd-analyze verify`),
# starts the installed app and then the AppImage under Xvfb with a fresh home and sees
# each paint the demo queue and show its version (tests/e2e/installed.mjs, through
# WebDriver), then purges the package and checks nothing of it is left. The package is
# purged on every exit, failed or not.
#
# It installs a package on this machine, so it needs root (CI) or passwordless sudo;
# without either it says so and skips, except in CI.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out="$root/target/packages"

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  if sudo -n true 2>/dev/null; then
    sudo=(sudo)
  elif [ -n "${CI:-}" ]; then
    echo "test-package.sh: installing the .deb needs root or passwordless sudo" >&2
    exit 1
  else
    echo "test-package.sh: SKIPPED (installing the .deb needs root or passwordless sudo)"
    exit 0
  fi
fi

# A private D-Bus session (GTK and the keychain want one; none leaks past the test).
if [ -z "${BATON_PACKAGE_TEST_INNER:-}" ]; then
  export BATON_PACKAGE_TEST_INNER=1
  exec dbus-run-session -- "$0" "$@"
fi

version=$(cargo pkgid --locked -p baton-app | sed 's/.*[#@]//')
deb="$out/baton_${version}-1_amd64.deb"
appimage="$out/Baton-${version}-x86_64.AppImage"
for f in "$deb" "$appimage"; do
  [ -f "$f" ] || { echo "test-package.sh: no $f (run scripts/package.sh first)" >&2; exit 1; }
done
# It installs and purges its own package, and purge removes the relay's config: never on a
# machine that has Baton in any state (even removed, its config kept) or a relay set up.
if dpkg-query -W -f='${Status}' baton >/dev/null 2>&1; then
  echo "test-package.sh: dpkg knows a baton package here ($(dpkg-query -W -f='${Status}' baton)); this test installs and purges its own, so it stops" >&2
  exit 1
fi
for d in /etc/baton /var/lib/baton-relay; do
  if [ -e "$d" ]; then
    echo "test-package.sh: $d exists (a relay set up here?); purging the test's package would remove it, so it stops" >&2
    exit 1
  fi
done

step() { printf '\n== package test: %s\n' "$*"; }
fail() { echo "test-package.sh: FAILED: $*" >&2; exit 1; }

work=$(mktemp -d)
xvfb="" driver="" installed=""
cleanup() {
  rc=$?
  # SIGTERM, not SIGKILL: a killed driver orphans WebKitWebDriver (PLATFORM-NOTES).
  [ -n "$driver" ] && { kill -TERM "$driver" 2>/dev/null || true; wait "$driver" 2>/dev/null || true; }
  [ -n "$xvfb" ] && { kill "$xvfb" 2>/dev/null || true; wait "$xvfb" 2>/dev/null || true; }
  if [ -n "$installed" ]; then
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get purge -y -qq baton >/dev/null 2>&1 || true
  fi
  if [ "$rc" -ne 0 ] && [ -f "$work/driver.log" ]; then
    echo "--- tauri-driver log (last 40 lines)" >&2
    tail -40 "$work/driver.log" >&2
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT

# The user's side: a fresh home with nothing configured (so the app runs its demo).
export HOME="$work/home" XDG_DATA_HOME="$work/home/.local/share" XDG_CONFIG_HOME="$work/home/.config"
export XDG_CACHE_HOME="$work/home/.cache" TMPDIR="$work/tmp"
mkdir -p "$XDG_DATA_HOME" "$XDG_CONFIG_HOME" "$XDG_CACHE_HOME" "$TMPDIR"
printf 'package-test' | gnome-keyring-daemon --unlock --components=secrets >/dev/null

# One version: the workspace's, which Tauri takes when tauri.conf.json names none, with a
# CHANGELOG section of its own.
python3 -c 'import json, sys; sys.exit("tauri.conf.json has a version of its own" if "version" in json.load(open("tauri.conf.json")) else 0)'
grep -q "^## \[$version\] - " CHANGELOG.md || fail "CHANGELOG.md has no section for $version"

ls -A /usr/bin >"$work/usr-bin.before"

step "install $(basename "$deb") ($(du -h "$deb" | cut -f1))"
installed=1
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "$deb" >"$work/apt.log" 2>&1 ||
  { cat "$work/apt.log" >&2; fail "apt-get install"; }
dpkg-query -W -f='${Status} ${Version}\n' baton | grep -qx "install ok installed ${version}-1" || fail "dpkg does not list baton ${version}-1 as installed"
dpkg -L baton >"$work/files"
# What apt must bring on a machine without them: WebKitGTK, the tray's appindicator and a
# Secret Service (library dependencies cargo-deb finds itself; the last two it cannot).
depends=$(dpkg-deb -f "$deb" Depends)
for want in libwebkit2gtk-4.1-0 libayatana-appindicator3-1 gnome-keyring; do
  grep -q "$want" <<<"$depends" || fail "the .deb does not depend on $want: $depends"
done
for f in /usr/bin/baton-app /usr/bin/baton; do [ -x "$f" ] || fail "$f is not installed"; done
[ "$(/usr/bin/baton --version)" = "baton $version" ] || fail "baton --version says '$(/usr/bin/baton --version)'"
echo "baton --version: $(/usr/bin/baton --version)"
grep -qx "Exec=baton-app" /usr/share/applications/baton.desktop || fail "the desktop entry does not start baton-app"
desktop-file-validate /usr/share/applications/baton.desktop || fail "the desktop entry does not validate"
[ -f /usr/share/icons/hicolor/256x256/apps/baton.png ] || fail "no icon"

step "the relay: its user, its config directory, its unit"
getent passwd baton-relay >/dev/null || fail "no baton-relay user"
[ "$(stat -c '%U:%G %a' /etc/baton)" = "baton-relay:baton-relay 750" ] || fail "/etc/baton is $(stat -c '%U:%G %a' /etc/baton)"
unit=/usr/lib/systemd/system/baton-relay.service
[ -f "$unit" ] || fail "no $unit"
grep -qx "ProtectSystem=strict" "$unit" || fail "the unit lacks ProtectSystem=strict"
# Installed disabled: it needs a relay.toml and secrets first.
[ ! -e /etc/systemd/system/multi-user.target.wants/baton-relay.service ] || fail "the relay was enabled on install"
if ! verify=$(systemd-analyze verify "$unit" 2>&1) || [ -n "$verify" ]; then
  echo "$verify" >&2
  fail "systemd-analyze verify $unit"
fi
echo "systemd-analyze verify: clean"
# The shipped examples: relay.toml parses (the relay reads it as the service would), and
# nats-server.conf is valid and grants a rep exactly what `relay nats-config` grants.
examples=/usr/share/doc/baton/examples
/usr/bin/baton relay --config "$examples/relay.toml" nats-config --rep maria >"$work/nats-accounts.json" ||
  fail "the example relay.toml does not load"
python3 - "$work/nats-accounts.json" "$examples/nats-server.conf" <<'PY' || fail "the example nats-server.conf's permissions differ from nats-config's"
import json, re, sys
printed = json.loads(open(sys.argv[1]).read().split(":", 1)[1])
rep = next(u for u in printed["BATON"]["users"] if u["user"] == "maria")["permissions"]
want = set(rep["publish"]["allow"]) | set(rep["subscribe"]["allow"])
conf = open(sys.argv[2]).read()
have = set(re.findall(r'"((?:\$JS|_INBOX|baton-)[^"]*)"', conf))
sys.exit(0 if want == have else f"missing {sorted(want - have)}, extra {sorted(have - want)}")
PY
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost \
  -keyout "$work/nats-key.pem" -out "$work/nats.pem" >/dev/null 2>&1
sed -e "s|/etc/nats/server.pem|$work/nats.pem|; s|/etc/nats/server-key.pem|$work/nats-key.pem|; s|/var/lib/nats/jetstream|$work/js|" \
  "$examples/nats-server.conf" >"$work/nats-server.conf"
nats=$(PATH="$PATH:/usr/sbin" command -v nats-server) || fail "no nats-server (scripts/install-deps.sh installs it)"
"$nats" -t -c "$work/nats-server.conf" >/dev/null 2>&1 || { "$nats" -t -c "$work/nats-server.conf" >&2; fail "the example nats-server.conf is invalid"; }
echo "examples: relay.toml loads; nats-server.conf is valid, a rep's permissions match nats-config"

step "start the installed app and the AppImage under Xvfb"
display=":$((110 + RANDOM % 50))"
Xvfb "$display" -screen 0 1280x800x24 -nolisten tcp >"$work/xvfb.log" 2>&1 &
xvfb=$!
export DISPLAY="$display"
# Where FUSE is missing (containers, CI), an AppImage unpacks itself and runs: the
# standard switch, which the runtime reads from the environment (tauri-driver passes its
# own on to the app it starts).
export APPIMAGE_EXTRACT_AND_RUN=1
# Two free ports, from the kernel, for the driver and the WebKitWebDriver it starts.
read -r port native < <(python3 -c 'import socket
ss = [socket.socket() for _ in range(2)]
for s in ss: s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in ss))')
tauri-driver --port "$port" --native-port "$native" >"$work/driver.log" 2>&1 &
driver=$!
# On a loaded machine the driver takes a while to listen: wait for it, up to 30 s.
for i in $(seq 300); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  kill -0 "$driver" 2>/dev/null || fail "tauri-driver exited: $(cat "$work/driver.log")"
  [ "$i" -lt 300 ] || fail "tauri-driver is not listening on $port after 30 s"
  sleep 0.1
done
cp "$appimage" "$work/Baton.AppImage"
[ "$("$work/Baton.AppImage" baton --version)" = "baton $version" ] || fail "the AppImage's baton --version"
ln -s Baton.AppImage "$work/baton"
[ "$("$work/baton" --version)" = "baton $version" ] || fail "the AppImage linked as baton: --version"
echo "AppImage: baton --version: $("$work/baton" --version)"
export WEBDRIVER_PORT="$port" BATON_PACKAGE_VERSION="$version"
for app in /usr/bin/baton-app "$work/Baton.AppImage"; do
  # Each launch starts as a first launch: no database, no window state.
  rm -rf "$XDG_DATA_HOME/baton" "$XDG_CONFIG_HOME"/app.baton.desktop
  shot="$out/$(basename "$app").png"
  BATON_PACKAGE_APP="$app" BATON_PACKAGE_SHOT="$shot" node --test tests/e2e/installed.mjs
  echo "screenshot: $shot"
  # A blank window fails: the painted queue has the many colours of text, chips and rows.
  colours=$(convert "$shot" -format %k info:)
  [ "$colours" -gt 50 ] || fail "$(basename "$app") painted a near-blank window ($colours colours)"
done
kill -TERM "$driver"; wait "$driver" 2>/dev/null || true; driver=""

step "purge"
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get purge -y -qq baton >"$work/apt.log" 2>&1 ||
  { cat "$work/apt.log" >&2; fail "apt-get purge"; }
installed=""
! dpkg-query -W -f='${Status}' baton 2>/dev/null | grep -q "ok installed" || fail "baton is still installed"
left=()
while read -r f; do
  [ -e "$f" ] && [ ! -d "$f" ] && left+=("$f")
done <"$work/files"
[ ${#left[@]} -eq 0 ] || fail "left after purge: ${left[*]}"
for d in /etc/baton /var/lib/baton-relay; do [ ! -e "$d" ] || fail "$d is left after purge"; done
# Anything new in /usr/bin must belong to a package apt pulled in, never to us.
while read -r f; do
  dpkg -S "/usr/bin/$f" >/dev/null 2>&1 || fail "/usr/bin/$f is left after purge, owned by no package"
done < <(ls -A /usr/bin | comm -13 "$work/usr-bin.before" -)
echo "purged: no file of the package is left, /usr/bin holds nothing of it"

step "sizes"
for f in "$deb" "$appimage"; do
  printf '%s\t%s bytes (%s)\n' "$(basename "$f")" "$(stat -c %s "$f")" "$(du -h "$f" | cut -f1)"
done
printf 'installed (dpkg Installed-Size): %s KiB\n' "$(dpkg-deb -f "$deb" Installed-Size)"
