#!/usr/bin/env bash
# Builds the UI and the desktop app, then drives the real window through WebDriver
# (tauri-driver → WebKitWebDriver) under Xvfb, inside a private D-Bus session.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

# The team test's NATS server: the Debian package installs it in /usr/sbin, which is not
# on every user's PATH (scripts/install-deps.sh installs it).
if [ -z "${BATON_NATS_SERVER:-}" ]; then
  BATON_NATS_SERVER=$(PATH="$PATH:/usr/sbin:/usr/local/sbin" command -v nats-server || true)
fi
if [ ! -x "${BATON_NATS_SERVER:-}" ]; then
  echo "run.sh: no nats-server (scripts/install-deps.sh installs it; or set BATON_NATS_SERVER)" >&2
  exit 1
fi
export BATON_NATS_SERVER

if [ -z "${BATON_E2E_INNER:-}" ]; then
  (cd ui && npm run build --silent)
  # The binaries as `cargo test` built them (no rebuild after the Rust tests).
  cargo test --workspace --locked --no-run
  export BATON_E2E_INNER=1
  exec dbus-run-session -- "$0" "$@"
fi

work=$(mktemp -d)
display=":$((90 + RANDOM % 9))"
Xvfb "$display" -screen 0 1280x800x24 -nolisten tcp >"$work/xvfb.log" 2>&1 &
xvfb=$!
export DISPLAY="$display"
# The app under test: its own database, demo data, a live simulator every 1.5 s.
export BATON_DB="$work/baton.db" BATON_DEMO_LIVE_EVERY=1.5 BATON_DEMO_TICKETS=120
export XDG_DATA_HOME="$work/data" XDG_CONFIG_HOME="$work/config" BATON_APP="$root/target/debug/baton-app"
# A keychain for the account the settings test adds, and a second simulator to be it.
printf 'e2e' | gnome-keyring-daemon --unlock --components=secrets >/dev/null
# That account's token is this run's own canary: the tests look for it in every file the
# app writes (the work dir holds them all: database, logs, config).
export BATON_E2E_WORK="$work" BATON_E2E_TOKEN="e2e-canary-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
"$root/target/debug/baton-sim" --port 0 --seed 5 --tickets 25 --token "$BATON_E2E_TOKEN" >"$work/sim.log" 2>&1 &
sim=$!
for _ in $(seq 100); do grep -q "listening on" "$work/sim.log" && break; sleep 0.1; done
export BATON_E2E_SIM_URL=$(grep -o 'http://[0-9.:]*' "$work/sim.log" | head -1)
port=$((4500 + RANDOM % 400))
tauri-driver --port "$port" --native-port $((port + 1)) >"$work/driver.log" 2>&1 &
driver=$!
cleanup() {
  # SIGTERM, not SIGKILL: a killed driver orphans WebKitWebDriver (PLATFORM-NOTES).
  kill -TERM "$driver" 2>/dev/null || true
  wait "$driver" 2>/dev/null || true
  kill "$xvfb" "$sim" 2>/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 50); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done
export WEBDRIVER_PORT="$port"
cd tests/e2e
# app.test.mjs: the window on the embedded simulator's demo, then a real account.
# team.test.mjs: the window in team mode (a simulator, nats-server and `baton relay` of its own).
# Arguments name some of them (`run.sh team.test.mjs`); none: all.
if [ $# -gt 0 ]; then tests=("$@"); else tests=(./*.test.mjs); fi
node --test --test-concurrency=1 "${tests[@]}"
