#!/usr/bin/env bash
# Every test suite, in order; stops at the first that fails.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/with-keyring.sh cargo test --workspace --locked
(cd ui && npm test --silent)
bash tests/e2e/run.sh
# The packages, built from one release build and met as a user meets them: the .deb
# installed with apt, the installed app and the AppImage started, the package purged.
bash scripts/package.sh
bash scripts/test-package.sh
