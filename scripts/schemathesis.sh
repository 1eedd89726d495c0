#!/usr/bin/env bash
# Fuzzes the REST API from its own OpenAPI document with schemathesis (PyPI), against the
# given server binary on a fresh SQLite database with the demo data. Fails on any server
# error or any answer that does not match the document.
# Usage: scripts/schemathesis.sh [binary] [max-examples per operation]
set -euo pipefail
bin=${1:-target/release/gateway-console}
examples=${2:-100}
cd "$(dirname "$0")/.."
[ -x .venv/bin/schemathesis ] || { python3 -m venv .venv && .venv/bin/pip install -q schemathesis; }
dir=$(mktemp -d /tmp/gc-fuzz.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export DATABASE_URL="sqlite:$dir/console.db" LEPTOS_SITE_ADDR="127.0.0.1:$port" LEPTOS_SITE_ROOT=target/site
export CONSOLE_ADMIN_USERNAME=admin CONSOLE_ADMIN_PASSWORD="fuzz-$(head -c 12 /dev/urandom | base64 | tr -d '/+=')"
export CONSOLE_DEMO=1 RUST_LOG=error
token=$("$bin" token create --username admin --name schemathesis)
# A gateway's log shipper reports token usage with a token that may do nothing else: an
# account's token is refused there (403), so `POST /v1/usage` is fuzzed with one of its own.
usage_token=$("$bin" token create --username admin --name schemathesis-usage --scope usage-write)
"$bin" > "$dir/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$dir"' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
# The operations that can take the fuzzer's own credential away (reset or disable its account,
# demote it, revoke its token: schemathesis reuses IDs it has seen in answers) run last and
# apart, where no answer tells them a real ID; everything else runs first, authenticated
# throughout, which the check between the two runs proves.
own='^/v1/accounts/[^/]+/(password|status|role)$|^/v1/tokens/[^/]+$'
# The document is read with the account's token (a usage token may not read it) and handed
# to each run as a file.
curl -sf -H "Authorization: Bearer $token" "http://127.0.0.1:$port/v1/openapi.json" > "$dir/openapi.json"
fuzz_as() {
  local bearer=$1
  shift
  local global=()
  if [ -n "${ids_config:-}" ]; then global=(--config-file "$ids_config"); fi
  .venv/bin/schemathesis "${global[@]}" run "$dir/openapi.json" --url "http://127.0.0.1:$port" \
    -H "Authorization: Bearer $bearer" \
    --checks not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance \
    --seed 20261123 --max-examples "$examples" \
    --report junit --report-dir "$dir/report" "$@"
}
fuzz() { fuzz_as "$token" "$@"; }
still_signed_in() {
  status=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "http://127.0.0.1:$port/v1/gateways")
  [ "$status" = 200 ] || { echo "the fuzzer's token stopped working during the run (HTTP $status)" >&2; exit 1; }
}
fuzz --exclude-path-regex "$own"
still_signed_in
# Every operation on one resource again, with the IDs of real ones (scripts/fuzz-ids.py): with
# made-up IDs they only ever answer 404, so their bodies and queries were not fuzzed past the
# lookup. The deletions run after the rest, which they would otherwise leave with 404s again.
python3 scripts/fuzz-ids.py "http://127.0.0.1:$port" "$token" > "$dir/ids.toml"
ids_config="$dir/ids.toml"
fuzz --exclude-path-regex "$own" --exclude-method DELETE --exclude-name 'POST /v1/usage'
fuzz --exclude-path-regex "$own" --include-method DELETE
ids_config=
still_signed_in
fuzz_as "$usage_token" --include-name 'POST /v1/usage'
fuzz --include-path-regex "$own"
