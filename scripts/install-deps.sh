#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages Baton needs to build and test. Idempotent; skips
# apt when everything is already there.
set -euo pipefail

packages=(
  build-essential pkg-config   # C toolchain for -sys crates
  libdbus-1-dev                # keyring's Secret Service backend
  dbus gnome-keyring           # a Secret Service for headless runs and tests
  # The desktop app (Tauri 2 on WebKitGTK), and running it headless under test.
  file libssl-dev libwebkit2gtk-4.1-dev libgtk-3-dev libayatana-appindicator3-dev
  librsvg2-dev libxdo-dev
  xvfb xauth webkit2gtk-driver dbus-x11 imagemagick
  python3-dbus python3-gi          # the e2e tests' stand-in notification server
  fonts-noto-core fonts-noto-cjk fonts-noto-color-emoji   # customers write in every script, and in emoji
  nats-server openssl          # the team tests: a real NATS JetStream, and a CA for its TLS
  # make package and its test: the AppImage's image, the desktop entry's check, and
  # systemd-analyze for the relay's unit (dpkg-dev, in build-essential, reads the .deb's
  # library dependencies).
  squashfs-tools desktop-file-utils systemd
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# WebDriver for the desktop app's end-to-end tests (tests/e2e).
if ! command -v tauri-driver >/dev/null; then
  cargo install tauri-driver --locked --version 2.1.0
fi
# The .deb's packager (make package; packaging/README.md says why this one).
if ! cargo deb --version 2>/dev/null | grep -qx "cargo-deb 3.8.0"; then
  cargo install cargo-deb --locked --version 3.8.0
fi
# The UI's and the end-to-end tests' npm packages.
for dir in ui tests/e2e; do
  if [ -f "$dir/package-lock.json" ]; then
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
done
