#!/usr/bin/env bash
# The project's benchmark: builds the debug component, then runs benches/bench (a Rust binary on
# the tests' harness, tests/common), which builds its debuggees and prints every figure beside a
# reference measured in the same run, as a Markdown table for the README's Performance section.
# Not a test. Arguments go to the benchmark, e.g.
#   scripts/bench.sh --runs 3 --hits 500
#   scripts/bench.sh --only native       # just the native LLDB comparison
#   scripts/bench.sh --help
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# wasmtime and cargo live here (scripts/setup.sh installs them).
export PATH="$HOME/.cargo/bin:$PATH"

cargo build --quiet --release --target wasm32-wasip2
exec cargo bench --quiet --bench bench -- "$@"
