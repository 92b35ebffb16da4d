# The two commands of the README. Both set up what they need first.
.PHONY: setup run test lint bench

CARGO ?= cargo

setup:
	@command -v $(CARGO) >/dev/null || { echo "Rust is missing: install it with rustup (https://rustup.rs), then run make again."; exit 1; }
	bash scripts/install-deps.sh

# Baton on the embedded, live Zendesk simulator (demo data), until Ctrl-C.
run: setup
	$(CARGO) run --release --locked -p baton-cli --bin baton -- demo

lint: setup
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

# Every test. The keychain tests need a Secret Service: they run inside a private
# D-Bus session with a throwaway, unlocked GNOME Keyring.
test: lint
	bash scripts/test-summary.sh bash scripts/with-keyring.sh $(CARGO) test --workspace --locked

# The 10,000-ticket sync benchmark (figures in BENCHMARKS.md).
bench: setup
	$(CARGO) build --release --locked -p baton-cli -p baton-sim
	./target/release/baton-bench --tickets 10000
