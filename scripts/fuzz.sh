#!/usr/bin/env bash
# Runs every fuzz target in fuzz/ (cargo-fuzz, libFuzzer + AddressSanitizer) for SECONDS each
# (default 60) and prints executions per target. Exits non-zero on the first crash, leaving the
# input in fuzz/artifacts/<target>/. Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
#
# The toolchain stays the pinned stable one: cargo-fuzz needs nightly flags (-Zsanitizer), which
# RUSTC_BOOTSTRAP=1 lets stable rustc accept. Committed seeds are in fuzz/seeds/, and the built C
# fixtures (big modules with DWARF) are added as bytecode seeds when the tests have built them.
# Runs of a minute or more keep what they find in fuzz/corpus/ (git-ignored) for the next run;
# shorter ones (the smoke run of scripts/test.sh) start from the seeds in a scratch directory,
# because libFuzzer first replays the whole corpus, which for bytecode soon takes minutes.
set -euo pipefail

seconds="${1:-60}"
shift || true
case "$seconds" in
  '' | *[!0-9]*) echo "fuzz.sh: SECONDS must be a whole number, got '$seconds'" >&2; exit 2 ;;
esac

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root/fuzz"
export PATH="$HOME/.cargo/bin:$PATH"
export RUSTC_BOOTSTRAP=1
# Cargo caches what rustc printed for a set of flags without noting RUSTC_BOOTSTRAP, so one run
# without it would poison later runs with "the option `Z` is only accepted on nightly".
export CARGO_CACHE_RUSTC_INFO=0

command -v cargo-fuzz >/dev/null 2>&1 ||
  { echo "fuzz.sh: error: cargo-fuzz not found; scripts/setup.sh installs it (scripts/tools.txt)" >&2; exit 1; }

targets=("$@")
((${#targets[@]})) || targets=(packet_guard session bytecode stop_reply_monitor)

echo "==> building fuzz targets"
cargo fuzz build

if ((seconds >= 60)); then
  corpus_root=corpus
else
  corpus_root="$(mktemp -d)"
  trap 'rm -rf "$corpus_root"' EXIT
fi
for target in "${targets[@]}"; do
  mkdir -p "$corpus_root/$target" "seeds/$target"
done
mkdir -p "$corpus_root/bytecode"
for fixture in app; do
  [ -f "../target/fixtures/$fixture.wasm" ] && cp -n "../target/fixtures/$fixture.wasm" "$corpus_root/bytecode/" 2>/dev/null || true
done

summary=()
for target in "${targets[@]}"; do
  echo "==> fuzzing $target for ${seconds}s"
  log="$(mktemp)"
  # -timeout: an input that takes 30 s would stall a debugging session just as badly as a crash.
  if ! cargo fuzz run "$target" "$corpus_root/$target" "seeds/$target" -- \
      -max_total_time="$seconds" -timeout=30 -rss_limit_mb=4096 -print_final_stats=1 >"$log" 2>&1; then
    tail -n 60 "$log"
    echo "fuzz.sh: $target FAILED; the input is in fuzz/artifacts/$target/" >&2
    rm -f "$log"
    exit 1
  fi
  runs="$(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\1 runs in \2 s/p' "$log" | tail -n 1)"
  cov="$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 || true)"
  summary+=("$target: ${runs:-?} (${cov:-no coverage line}), no crash")
  rm -f "$log"
done

echo "==> fuzz summary"
printf '  %s\n' "${summary[@]}"
