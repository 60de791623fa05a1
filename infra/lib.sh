# Shared by infra/run-local and infra/test: a Python venv with the local DynamoDB-API server (moto)
# and the template linters, and helpers to start moto on 127.0.0.1.
# Sourced, not run.

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Kept outside the checkout so fresh clones on the same machine (CI) reuse it.
cache="${SSO_CACHE_DIR:-$HOME/.cache/okta-sso}"
venv="$cache/venv"

# Every Python tool, pinned exactly (transitive packages too): a fresh machine gets what was tested.
requirements="$root/infra/requirements.txt"

# ensure_venv: the venv with moto, cfn-lint, SAM CLI, cargo-lambda and zig, exactly as
# infra/requirements.txt pins them; reinstalled when that file changes.
ensure_venv() {
  if [ ! -x "$venv/bin/python" ]; then
    echo "infra: creating Python venv in $venv" >&2
    mkdir -p "$cache"
    python3 -m venv "$venv"
  fi
  local want have
  want="$(sha256sum "$requirements" | cut -d' ' -f1)"
  have="$(cat "$venv/.requirements.sha256" 2>/dev/null || true)"
  if [ "$want" != "$have" ]; then
    echo "infra: installing infra/requirements.txt into $venv (from PyPI)" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check --no-input -r "$requirements"
    echo "$want" >"$venv/.requirements.sha256"
  fi
}

# cargo-deny, pinned, built once into the cache (crates.io has no prebuilt binaries). It has no
# optional features to leave out; its own release profile (fat LTO, one codegen unit) is what makes
# the build slow, so the install overrides that: a checker run a few times per CI job does not need
# the last percent of speed (docs/decisions.md, "CI time").
CARGO_DENY_VERSION=0.20.2
cargo_deny="$cache/tools/bin/cargo-deny"

ensure_cargo_deny() {
  if [ "$("$cargo_deny" --version 2>/dev/null)" != "cargo-deny $CARGO_DENY_VERSION" ]; then
    echo "infra: building cargo-deny $CARGO_DENY_VERSION into $cache/tools (once)" >&2
    CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
      cargo install --quiet --locked cargo-deny --version "$CARGO_DENY_VERSION" --root "$cache/tools"
  fi
}

# cargo_deny_check: licences, bans and sources (deny.toml); advisories too when the RustSec
# database can be fetched (it lives on GitHub, which some build machines cannot reach).
cargo_deny_check() {
  ensure_cargo_deny
  echo "== cargo deny check licenses bans sources" >&2
  "$cargo_deny" check licenses bans sources 2>&1 | grep -v '^warning\[duplicate\]' | grep -E '^(error|warning)|ok$' >&2 || true
  "$cargo_deny" check licenses bans sources >/dev/null 2>&1 || { "$cargo_deny" check licenses bans sources; return 1; }
  if "$cargo_deny" fetch db >/dev/null 2>&1; then
    echo "== cargo deny check advisories" >&2
    "$cargo_deny" check --disable-fetch advisories
  else
    echo "infra: the RustSec advisory database cannot be fetched from this machine; advisories not checked" >&2
  fi
}

free_port() {
  "$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_moto PORT: starts the local DynamoDB-API server (moto, one request at a time: see
# infra/dynamodb_server.py) on 127.0.0.1:PORT in the background, waits until it answers, and stops
# it when the calling shell exits.
start_moto() {
  local port="$1"
  # SSO_DYNAMODB_LISTEN=0.0.0.0 lets `sam local` containers reach it (docs/deploy.md).
  "$venv/bin/python" "$root/infra/dynamodb_server.py" "${SSO_DYNAMODB_LISTEN:-127.0.0.1}" "$port" >"$cache/moto-$port.log" 2>&1 &
  moto_pid=$!
  trap 'kill $moto_pid 2>/dev/null || true' EXIT
  for _ in $(seq 1 100); do
    if "$venv/bin/python" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/')" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  echo "infra: moto did not start on port $port; its log:" >&2
  cat "$cache/moto-$port.log" >&2
  return 1
}

# The AWS SDK talks to the local server with dummy credentials; no IMDS probing.
use_local_aws() {
  export AWS_ENDPOINT_URL="http://127.0.0.1:$1"
  export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_REGION=us-east-1
  export AWS_EC2_METADATA_DISABLED=true
  # moto copies the whole table in every transaction and shares the cores with the tests: give
  # its calls more time than DynamoDB's defaults in app.rs (fault tests set their own).
  export DYNAMODB_ATTEMPT_TIMEOUT_MS="${DYNAMODB_ATTEMPT_TIMEOUT_MS:-30000}"
  export DYNAMODB_OPERATION_TIMEOUT_MS="${DYNAMODB_OPERATION_TIMEOUT_MS:-90000}"
  export REQUEST_DEADLINE_MS="${REQUEST_DEADLINE_MS:-120000}"
  # The local stack serves IdP metadata from 127.0.0.1; deployed, loopback is refused
  # (shared/src/destination.rs; template.yaml sets it to false).
  export METADATA_FETCH_ALLOW_LOOPBACK="${METADATA_FETCH_ALLOW_LOOPBACK:-true}"
}
