# Gateway Console. `make run` and `make test` install whatever is missing first.
SHELL := /bin/bash
export PATH := $(CURDIR)/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

CARGO_LEPTOS_VERSION := 0.3.10
WASM_BINDGEN_VERSION := 0.2.130
BIN := target/release/gateway-console
# Reuse cargo-leptos' dev build for cargo test/clippy instead of compiling everything twice.
SSR_FLAGS := --cfg erase_components

.PHONY: bench-list bench-usage bench-api bench-authz bench-config bench-signin bench-write bench-frontend soak run test build tools tools-test check unit integration integration-sqlite integration-postgres e2e fuzz-api fmt clippy

## Tools -------------------------------------------------------------------------------
tools:
	@rustup target list --installed | grep -q wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
	@cargo leptos --version 2>/dev/null | grep -q "$(CARGO_LEPTOS_VERSION)" || cargo install cargo-leptos@$(CARGO_LEPTOS_VERSION) --locked --debug
	@wasm-bindgen --version 2>/dev/null | grep -q "$(WASM_BINDGEN_VERSION)" || cargo install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION)
	@[ -x node_modules/.bin/wasm-opt ] && [ -x node_modules/.bin/playwright ] && [ -d node_modules/@axe-core/playwright ] || npm ci --no-audit --no-fund

# Debian packages the tests need: Chromium for Playwright, PostgreSQL for the second backend,
# nginx (auth_request) for the enforcement test, wrk for bench-authz.
tools-test: tools
	@missing=""; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	[ -x /usr/sbin/nginx ] || missing="$$missing nginx"; \
	command -v wrk >/dev/null || missing="$$missing wrk"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	if [ -n "$$missing" ]; then apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y $$missing; fi
	@[ -x .venv/bin/schemathesis ] || (python3 -m venv .venv && .venv/bin/pip install -q schemathesis)

## Build and run -----------------------------------------------------------------------
# --precompress writes .br and .gz beside every asset, served by Accept-Encoding. --split puts
# each lazy page's code in WASM chunks of its own; split-names.mjs then joins the small chunks
# that pages share into one file and makes every WASM file's name the hash of its bytes.
build: tools
	cargo leptos build --release --precompress --split
	node scripts/split-names.mjs

run: build
	@mkdir -p data
	@[ -s data/admin-password.txt ] || (umask 077; head -c 18 /dev/urandom | base64 | tr -d '/+=' > data/admin-password.txt)
	@echo "Gateway Console: http://127.0.0.1:3000  sign in as 'admin' with the password in data/admin-password.txt: $$(cat data/admin-password.txt)"
	CONSOLE_DEMO=1 CONSOLE_ADMIN_USERNAME=admin CONSOLE_ADMIN_PASSWORD="$$(cat data/admin-password.txt)" ./$(BIN)

## Benchmarks (not part of make test) ------------------------------------------------
# cargo bench relinks target/release/gateway-console: give it the output name cargo-leptos
# gives, so the binary keeps serving the built site afterwards.
bench-%: export LEPTOS_OUTPUT_NAME := gateway-console
# The release build erases components (Cargo.toml's always-erase-components): the benchmarks
# build with the same flag, so they reuse its artifacts and the binary they relink still
# hydrates the site.
bench-%: export RUSTFLAGS := $(SSR_FLAGS)
soak: export RUSTFLAGS := $(SSR_FLAGS)
soak: export LEPTOS_OUTPUT_NAME := gateway-console
# Cold and warm loads of three console pages in Debian's Chromium under three emulated links
# (unthrottled; 9 Mbit/s, 60 ms; 1.6 Mbit/s, 150 ms), against the release binary with the demo
# data: transferred bytes, time to HTML, time to hydrated; and the bundle's raw/gzip/brotli sizes.
bench-frontend: build tools-test
	node end2end/bench-frontend.mjs

# The 1M-consumer SQLite database is built once under target/bench-data and reused.
bench-list: tools
	cargo bench --no-default-features --features ssr --bench list

# GET /v1/consumers and ListConsumerAuthorizationRules at 1k and 1M consumers and rules.
bench-api: tools
	cargo bench --no-default-features --features ssr --bench api

# The enforcement check: snapshot memory at 1M keys; a full load of 1M keys and 1M rules from
# SQLite, read and build timed apart; wrk through nginx auth_request vs no
# auth, and the check vs a trivial handler, with 100k keys and 1M rules.
bench-authz: tools-test
	cargo bench --no-default-features --features ssr --bench authz

# Configuration as code at scale: the CLI exports a gateway of 100,000 consumers, 100,000 keys
# and 1,000,000 rules (the bench-authz gateway, built once), three times: time, peak RSS, size.
bench-config: tools
	cargo bench --no-default-features --features ssr --bench config

# A sign-in flood (360 wrong passwords from 60 loopback addresses) against the release
# binary, while /authz/check and a REST read are measured: targets p99 ≤ 5 ms and ≤ 50 ms.
bench-signin: tools
	cargo bench --no-default-features --features ssr --bench signin

# The Usage page's charts at 100,000 active consumers and 30 days of hourly data (3M rows),
# the bytes a row costs, and a flush's write rate: on SQLite and a throwaway PostgreSQL.
bench-usage: tools-test
	bash scripts/with-postgres.sh cargo bench --no-default-features --features ssr --bench usage

# Creating consumers and rules through REST with wrk at 1, 8 and 32 connections, on SQLite and
# on a throwaway PostgreSQL: requests/s, p50/p99 and errors.
bench-write: tools-test
	bash scripts/with-postgres.sh cargo bench --no-default-features --features ssr --bench write

# 200 clients for 60 s (SOAK_SECONDS): the check through nginx, REST reads and writes, console
# pages; errors, p50/p99 per kind, and the server's memory before and after.
soak: tools-test
	cargo bench --no-default-features --features ssr --bench soak

## Tests -------------------------------------------------------------------------------
test: tools-test fmt build clippy unit integration e2e fuzz-api
	@echo "make test: all layers passed"

fmt:
	cargo fmt --all -- --check

clippy:
	RUSTFLAGS="$(SSR_FLAGS)" cargo clippy --features ssr --all-targets -- -D warnings
	cargo clippy --lib --features hydrate --target wasm32-unknown-unknown -- -D warnings

unit:
	RUSTFLAGS="$(SSR_FLAGS)" cargo test --features ssr --lib

integration: integration-sqlite integration-postgres

integration-sqlite:
	RUSTFLAGS="$(SSR_FLAGS)" cargo test --features ssr --test '*'

integration-postgres:
	bash scripts/with-postgres.sh env RUSTFLAGS="$(SSR_FLAGS)" cargo test --features ssr --test '*'

e2e: build
	cd end2end && npx playwright test

# Schemathesis generates requests from /v1/openapi.json (fixed seed, 100 examples per
# operation, about 4,500 cases): no server error, every answer as documented.
fuzz-api: build
	bash scripts/schemathesis.sh $(BIN) 100
