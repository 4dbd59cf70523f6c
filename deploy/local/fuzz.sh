#!/usr/bin/env bash
# `make fuzz`: each libFuzzer target in fuzz/ for FUZZ_SECONDS (default 300) on the nightly
# toolchain, its corpus seeded from fuzz/seeds (Clio's own payloads among them); prints and writes
# executions and findings per target to target/fuzz/fuzz.json (FUZZ_TARGETS="a b" runs only those,
# adding to the figures of the others). A crash stops with its input in
# fuzz/artifacts/<target>/: keep it as a regression test.
set -euo pipefail
cd "$(dirname "$0")/../.."
say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
seconds=${FUZZ_SECONDS:-300}
command -v cargo-fuzz >/dev/null || { say "installing cargo-fuzz"; cargo install cargo-fuzz --locked; }
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
mkdir -p target/fuzz
results=()
targets=${FUZZ_TARGETS:-$(cd fuzz && cargo +nightly fuzz list)}
for target in $targets; do
  mkdir -p "fuzz/corpus/$target"
  cp -n fuzz/seeds/"$target"/* "fuzz/corpus/$target/" 2>/dev/null || true
  say "$target for ${seconds}s"
  log="target/fuzz/$target.log"
  (cd fuzz && cargo +nightly fuzz run "$target" -- -max_total_time="$seconds" -print_final_stats=1 -timeout=10) >"$log" 2>&1 \
    || { tail -n 40 "$log"; echo "fuzz target $target failed: see $log and fuzz/artifacts/$target/" >&2; exit 1; }
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  echo "  $target: ${runs:-0} executions, no crash, no hang"
  results+=("\"$target\": {\"executions\": ${runs:-0}, \"seconds\": $seconds, \"crashes\": 0}")
done
# Merged into the figures already there: a run of some targets keeps the others'.
printf '{%s}\n' "$(IFS=,; echo "${results[*]}")" | python3 -c '
import json, os, sys
path = "target/fuzz/fuzz.json"
try:
    figures = json.load(open(path))
except (OSError, ValueError):
    figures = {}
figures.update(json.load(sys.stdin))
with open(path + ".tmp", "w") as out:
    json.dump(figures, out, indent=2)
os.replace(path + ".tmp", path)'
say "wrote target/fuzz/fuzz.json"
