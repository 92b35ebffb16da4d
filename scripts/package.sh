#!/usr/bin/env bash
# `make package`: the Linux packages of the desktop app, from one release build, into
# target/packages/: baton_<version>-1_amd64.deb (cargo-deb) and
# Baton-<version>-x86_64.AppImage (assembled here). packaging/README.md says what is in
# them and why these tools. Tools: scripts/install-deps.sh installs them (cargo-deb,
# squashfs-tools).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=target/packages
mkdir -p "$out"

version=$(cargo pkgid --locked -p baton-app | sed 's/.*[#@]//')
echo "package.sh: Baton $version"

# The app embeds the built UI at compile time.
(cd ui && npm run build --silent)
cargo build --release --locked -p baton-app --bin baton-app -p baton-cli --bin baton

# --- .deb -------------------------------------------------------------------------------
rm -f "$out"/baton_*.deb
cargo deb -p baton-app --no-build --output "$out/"

# --- AppImage ---------------------------------------------------------------------------
# The runtime comes from crates.io (packaging/appimage/Cargo.toml says why); the manifest
# is only read, never built.
runtime_crate=$(cargo metadata --locked --format-version 1 --manifest-path packaging/appimage/Cargo.toml |
  python3 -c 'import json, sys; print(next(p["manifest_path"] for p in json.load(sys.stdin)["packages"] if p["name"] == "appimage"))')
runtime="$(dirname "$runtime_crate")/assets/runtime-x86_64"
# The runtime Cargo.lock pins; checked again here since it becomes the file users run.
echo "328e0d745c5c6817048c27bc3e8314871703f8f47ffa81a37cb06cd95a94b323  $runtime" | sha256sum --check --quiet

appdir="$out/Baton.AppDir"
rm -rf "$appdir"
mkdir -p "$appdir/usr/bin" "$appdir/usr/share/applications" "$appdir/usr/share/doc/baton"
for size in 32x32:32x32.png 128x128:128x128.png 256x256:icon.png; do
  mkdir -p "$appdir/usr/share/icons/hicolor/${size%%:*}/apps"
  cp "icons/${size#*:}" "$appdir/usr/share/icons/hicolor/${size%%:*}/apps/baton.png"
done
# Stripped as the .deb's are: the symbols are most of each binary's size.
for bin in baton-app baton; do
  strip -o "$appdir/usr/bin/$bin" "target/release/$bin"
done
install -m 0755 packaging/appimage/AppRun "$appdir/AppRun"
sed "\$a X-AppImage-Version=$version" packaging/baton.desktop >"$appdir/usr/share/applications/baton.desktop"
# The AppImage spec wants the desktop entry and icon at the top as well.
cp "$appdir/usr/share/applications/baton.desktop" "$appdir/baton.desktop"
cp icons/icon.png "$appdir/baton.png"
ln -s baton.png "$appdir/.DirIcon"
cp README.md CHANGELOG.md "$appdir/usr/share/doc/baton/"

appimage="$out/Baton-$version-x86_64.AppImage"
# gzip: the runtime reads gzip and xz, and gzip opens faster.
mksquashfs "$appdir" "$out/baton.squashfs" -root-owned -noappend -comp gzip -quiet -no-progress >/dev/null
cat "$runtime" "$out/baton.squashfs" >"$appimage"
chmod 0755 "$appimage"
rm -rf "$out/baton.squashfs" "$appdir"

ls -l "$out"/baton_*.deb "$appimage"
