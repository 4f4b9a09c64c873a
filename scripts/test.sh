#!/usr/bin/env bash
# The "run every test" entry point: sets up tools (scripts/setup.sh), builds the
# debug component for wasm32-wasip2, then runs the host `cargo test` (unit and
# integration tests). Extra arguments go to `cargo test`, e.g.
#   scripts/test.sh --test fixtures_smoke -- --nocapture
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

bash scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"

echo "==> building the debug component (wasm32-wasip2, release)"
cargo build --release --target wasm32-wasip2
component="target/wasm32-wasip2/release/wasm_gdbstub.wasm"
[ -f "$component" ] || { echo "test.sh: error: $component was not produced" >&2; exit 1; }

# Wasmtime's CLI with the component built in, for the `wasmtime run -g` tests: about 12 minutes the
# first time on 2 cores, a no-op while it is newer than the component.
echo "==> building wasmtime-cli 48.0.8 with the component embedded (scripts/build-wasmtime-gdbstub.sh)"
bash scripts/build-wasmtime-gdbstub.sh

# A failure in one stage must not hide the others: every stage runs, each failure is counted in
# the closing line, and any failure makes the exit status non-zero.
failed_stages=0
echo "==> short fuzz of the input parsers (scripts/fuzz.sh; FUZZ_SECONDS=${FUZZ_SECONDS:-15} per target)"
if ! bash scripts/fuzz.sh "${FUZZ_SECONDS:-15}"; then
  echo "test.sh: the fuzz stage FAILED (see above); the tests run anyway" >&2
  failed_stages=$((failed_stages + 1))
fi

# The benchmark shares the tests' harness (tests/common): one tiny run of its quickest sections
# keeps it working. Its figures mean nothing at these counts and are not checked.
echo "==> benchmark smoke run (scripts/bench.sh with tiny counts; figures ignored)"
if ! cargo bench --quiet --bench bench -- --only native --only raw --runs 1 --stops 3 \
  --hits 3 --steps 3 --watch-iterations 3 >/dev/null; then
  echo "test.sh: the benchmark smoke run FAILED; the tests run anyway" >&2
  failed_stages=$((failed_stages + 1))
fi

# Integration tests each run wasmtime and often lldb; more parallel tests than
# this oversubscribes small (2-core) machines and makes timeouts flaky.
if [ -z "${RUST_TEST_THREADS:-}" ]; then
  cores="$(nproc 2>/dev/null || echo 2)"
  RUST_TEST_THREADS=$((cores < 2 ? 2 : (cores > 4 ? 4 : cores)))
  export RUST_TEST_THREADS
fi

echo "==> cargo test --no-fail-fast (RUST_TEST_THREADS=$RUST_TEST_THREADS)"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
# --no-fail-fast: a failing test binary must not keep the later ones from running.
cargo test --no-fail-fast "$@" 2>&1 | tee "$log" || status=$?
# The LLDB end-to-end tests once more in LLDB 23.1 (setup's .venv-lldb23): users bring both.
# The native-oracle tests choose their LLDB per case, and lldb-dap exists only for LLDB 22.
if [ "$#" -eq 0 ]; then
  echo "==> the LLDB tests again in LLDB 23 (WASM_GDBSTUB_LLDB=23)"
  WASM_GDBSTUB_LLDB=23 cargo test --no-fail-fast \
    --test lldb_debuggees --test process_control --test monitor --test watchpoints \
    --test image_reads --test entry_points --test cpp_debugging --test rust_values \
    --test line_table_oracle 2>&1 | tee -a "$log" || status=$?
fi
# One closing line for the whole run, summed over every test binary; a test binary that did not
# even build or run counts as a failure too.
awk -v extra="$failed_stages" -v status="$status" '
     /^test result:/ { for (i = 1; i <= NF; i++) { if ($(i + 1) ~ /^passed/) p += $i; if ($(i + 1) ~ /^failed/) f += $i } }
     END { if (status != 0 && f == 0) f = 1; printf "tests: %d passed, %d failed\n", p, f + extra }' "$log"
if ((failed_stages > 0)) && ((status == 0)); then status=1; fi
exit "$status"
