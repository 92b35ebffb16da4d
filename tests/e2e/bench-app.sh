#!/usr/bin/env bash
# The desktop app's benchmark: 10,000 cached conversations (synced by `baton` from the
# simulator), then launch → queue painted, opening a 1,000-message transcript, and the
# idle memory of the app's processes. Release builds. Prints a Markdown table.
# BENCH_TICKETS=100 measures the same on a small account (the WebKit baseline).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
if [ -z "${BATON_BENCH_INNER:-}" ]; then
  (cd ui && npm run build --silent)
  cargo build --release --locked -p baton-app -p baton-cli -p baton-sim
  export BATON_BENCH_INNER=1
  exec dbus-run-session -- "$0" "$@"
fi
work=$(mktemp -d)
export XDG_DATA_HOME="$work/data" XDG_CONFIG_HOME="$work/config"
printf 'bench' | gnome-keyring-daemon --unlock --components=secrets >/dev/null
./target/release/baton-sim --port 0 --unlimited --tickets "${BENCH_TICKETS:-10000}" --long-transcript 1000 --seed 7 >"$work/sim.log" &
sim=$!
display=":$((90 + RANDOM % 9))"
Xvfb "$display" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
xvfb=$!
driver=""
cleanup() {
  [ -n "$driver" ] && { kill -TERM "$driver" 2>/dev/null || true; wait "$driver" 2>/dev/null || true; }
  kill "$sim" "$xvfb" 2>/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 100); do grep -q "listening on" "$work/sim.log" && break; sleep 0.1; done
url=$(grep -o 'http://[0-9.:]*' "$work/sim.log" | head -1)
export BATON_DB="$work/baton.db"
echo sim-token | ./target/release/baton account add zendesk --url "$url" --email alex@acme.test --name bench >/dev/null
./target/release/baton sync --once
export DISPLAY="$display" BATON_APP="$root/target/release/baton-app"
port=$((4500 + RANDOM % 400))
tauri-driver --port "$port" --native-port $((port + 1)) >"$work/driver.log" 2>&1 &
driver=$!
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
WEBDRIVER_PORT="$port" node tests/e2e/bench.mjs
