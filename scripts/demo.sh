#!/usr/bin/env bash
# The README's first command: installs what is missing, builds the component and the bundled C
# example, runs the example in Wasmtime under the component and drives a real LLDB session
# against it, printing the transcript. With a .wasm path, debugs that program and leaves LLDB
# interactive instead. DEMO_LLDB=23 uses LLDB 23.1 (setup installs it in .venv-lldb23) instead of
# Debian's LLDB 22: `step` then lands on a callee's first statement and recursive callers show
# their own variables.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

bash scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
case "${DEMO_LLDB:-22}" in
  22) lldb=lldb-22 ;;
  23) lldb="$root/.venv-lldb23/bin/lldb" ;;
  *) echo "demo.sh: DEMO_LLDB must be 22 or 23, got '${DEMO_LLDB}'" >&2; exit 2 ;;
esac

echo "==> building the component (release, wasm32-wasip2)"
cargo build --quiet --release --target wasm32-wasip2
component="$root/target/wasm32-wasip2/release/wasm_gdbstub.wasm"

app="${1:-}"
if [ -z "$app" ]; then
  mkdir -p target/demo
  echo "==> building the bundled example tests/fixtures/c/app.c"
  clang-22 --target=wasm32-wasi -Wno-deprecated -g -O0 tests/fixtures/c/app.c -o target/demo/app.wasm
  app="target/demo/app.wasm"
  interactive=0
else
  interactive=1
fi

log="$(mktemp)"
wasmtime run -D debugger="$component" -D arg=127.0.0.1:0 "$app" >"$log.out" 2>"$log" &
wasmtime_pid=$!
trap 'kill $wasmtime_pid 2>/dev/null || true; rm -f "$log" "$log.out"' EXIT

addr=""
for _ in $(seq 1 300); do
  addr="$(sed -n 's/.*listening on \([0-9.:]*\).*/\1/p' "$log" | head -n1)"
  [ -n "$addr" ] && break
  sleep 0.1
done
if [ -z "$addr" ]; then
  echo "the debug component did not start listening:" >&2
  cat "$log" >&2
  exit 1
fi
echo "==> Wasmtime is running $app under the debugger at $addr"
cat "$log"

# The project's LLDB integration first, as the README tells users: its `next`/`step` have the stub
# step each line (LLDB's own fast stepping crashes on long Wasm instructions).
integration="command script import $root/lldb/wasm_gdbstub.py"
connect="wasm-remote $addr"
if [ "$interactive" = 1 ]; then
  echo "==> starting LLDB ($integration; $connect)"
  "$lldb" -o "$integration" -o "$connect"
  exit 0
fi

line_of() { grep -n "MARK: $1\$" tests/fixtures/c/app.c | cut -d: -f1; }
echo "==> scripted LLDB session"
"$lldb" -b --no-lldbinit \
  -o "$integration" \
  -o "$connect" \
  -o "image list" \
  -o "breakpoint set --name fact" \
  -o "continue" \
  -o "continue" \
  -o "bt" \
  -o "breakpoint delete --force" \
  -o "finish" \
  -o "frame variable n" \
  -o "breakpoint set --file app.c --line $(line_of loop_body)" \
  -o "continue" \
  -o "next" \
  -o "frame variable sum i" \
  -o "next" \
  -o "next" \
  -o "step" \
  -o "next" \
  -o "bt 2" \
  -o "up" \
  -o "frame variable i total" \
  -o "down" \
  -o "finish" \
  -o "breakpoint delete --force" \
  -o "watchpoint set variable g_counter" \
  -o "continue" \
  -o "watchpoint delete 1" \
  -o "p g_value + 1" \
  -o "continue"
wait $wasmtime_pid || true
echo "==> program output"
cat "$log.out"
