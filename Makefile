# The two commands of the README. Both set up what they need first.
.PHONY: setup ui run test lint package bench bench-team bench-salesforce

CARGO ?= cargo

setup:
	@command -v $(CARGO) >/dev/null || { echo "Rust is missing: install it with rustup (https://rustup.rs), then run make again."; exit 1; }
	@command -v npm >/dev/null || { echo "Node.js and npm are missing: install them (e.g. apt-get install nodejs npm), then run make again."; exit 1; }
	bash scripts/install-deps.sh

# The desktop app embeds the built UI at compile time.
ui: setup
	cd ui && npm run build --silent

# Baton's desktop app on the embedded, live Zendesk simulator (demo data) when no
# account is configured. `cargo run -p baton-cli --bin baton -- demo` is the headless one.
run: ui
	$(CARGO) run --release --locked -p baton-app

lint: ui
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings
	cd ui && npm run check --silent

# Every test: Rust (the keychain tests inside a private D-Bus session with a throwaway
# GNOME Keyring), the UI's Vitest suite, and the real window driven through WebDriver.
test: lint
	bash scripts/test-summary.sh bash scripts/run-tests.sh

# The Linux packages from one release build, into target/packages/: the .deb (app, CLI,
# the relay's systemd unit) and the AppImage. `make test` builds and tests them too.
package: setup
	bash scripts/package.sh

# The 10,000-ticket sync benchmark (figures in BENCHMARKS.md).
bench: setup
	$(CARGO) build --release --locked -p baton-cli -p baton-sim
	./target/release/baton-bench --tickets 10000

# One team relay and 1, 50 and 500 desktops on nats-server (figures in BENCHMARKS.md).
bench-team: setup
	$(CARGO) build --release --locked -p baton-cli -p baton-sim
	./target/release/baton-bench team --consumers 1,50,500 --minutes 2

# One Salesforce desktop, idle and on a live org, with Pub/Sub and with polling; about
# 6 minutes, all on 127.0.0.1 (figures in BENCHMARKS.md).
bench-salesforce: setup
	$(CARGO) build --release --locked -p baton-cli -p baton-sim
	./target/release/baton-bench salesforce --minutes 1
