#!/usr/bin/env bash
# Runs a command inside a private D-Bus session with an unlocked GNOME Keyring, so the
# OS-keychain code path (Secret Service) is exercised for real on a headless machine.
set -euo pipefail
if [ -z "${BATON_IN_KEYRING_SESSION:-}" ]; then
  export BATON_IN_KEYRING_SESSION=1
  exec dbus-run-session -- "$0" "$@"
fi
# A throwaway keyring home: the tests never touch a real user's keyring.
export XDG_DATA_HOME="${XDG_DATA_HOME_FOR_TESTS:-$(mktemp -d)}"
printf 'baton-test' | gnome-keyring-daemon --unlock --components=secrets >/dev/null
exec "$@"
