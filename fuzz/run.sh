#!/usr/bin/env bash
# Seeds the corpus of one fuzz target and fuzzes it with a per-input timeout of 1 s.
#   fuzz/run.sh <target> [seconds]      e.g. fuzz/run.sh acs_validate 300
# Targets: acs_validate c14n_differential scim_filter scim_path scim_patch. See README.md.
set -euo pipefail
target=${1:?target}
seconds=${2:-300}
cd "$(dirname "$0")"
corpus=corpus/$target
mkdir -p "$corpus"
case $target in
  acs_validate | c14n_differential)
    for f in ../shared/tests/fixtures/saml/*/response.xml ../shared/tests/fixtures/saml/bad/*/response.xml; do
      cp "$f" "$corpus/$(md5sum <"$f" | cut -c1-12).xml"
    done
    max_len=65536 ;;
  *)
    cp seeds/"$target"/* "$corpus"/
    max_len=4096 ;;
esac
# -timeout=1: any single input that takes over a second is reported as a crash (libFuzzer's
# default is 1200 s, which is how a quadratic C14N went unnoticed). -s none: no AddressSanitizer
# (safe Rust); -a: debug assertions (integer overflow panics) stay on.
exec cargo +nightly fuzz run -s none -a "$target" "$corpus" -- \
  -timeout=1 -max_total_time="$seconds" -max_len="$max_len" -print_final_stats=1
