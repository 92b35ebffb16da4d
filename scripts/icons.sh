#!/usr/bin/env bash
# Derives every icon the bundles need from icons/icon.png (256 px, RGBA): the Linux sizes,
# macOS's .icns and Windows' .ico. The results are committed, since a Mac or Windows
# builder may have neither ImageMagick nor icnsutils; run this again after changing the
# source icon. Needs `imagemagick` and `icnsutils` (Debian).
set -euo pipefail
cd "$(dirname "$0")/../icons"
command -v png2icns >/dev/null || { echo "icons.sh: png2icns is missing (apt-get install icnsutils)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# PNG32: keeps the alpha channel; Tauri refuses an icon without one. -strip drops the
# timestamps ImageMagick writes, so an unchanged source gives the same bytes.
for size in 16 24 32 48 64 128 256; do
  convert icon.png -strip -resize "${size}x${size}" "PNG32:$tmp/$size.png"
done
cp "$tmp/32.png" 32x32.png
cp "$tmp/128.png" 128x128.png
cp "$tmp/256.png" 128x128@2x.png
# 256 px is the largest the source has; macOS scales it for the larger slots.
png2icns icon.icns "$tmp/16.png" "$tmp/32.png" "$tmp/48.png" "$tmp/128.png" "$tmp/256.png" >/dev/null
convert "$tmp/16.png" "$tmp/24.png" "$tmp/32.png" "$tmp/48.png" "$tmp/64.png" "$tmp/256.png" icon.ico
ls -l 32x32.png 128x128.png 128x128@2x.png icon.icns icon.ico
