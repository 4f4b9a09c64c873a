#!/usr/bin/env bash
# The project's benchmark entry point: puts cargo's tools on PATH and runs the
# driver, scripts/bench.py, which builds what it needs and prints the figures
# (medians, ratios against references measured in the same run, and a README
# "## Performance" table). Not a test. Arguments go to the driver, e.g.
#   scripts/bench.sh --runs 3 --hits 500
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# wasmtime and cargo live here (scripts/setup.sh installs them).
export PATH="$HOME/.cargo/bin:$PATH"

command -v python3 >/dev/null 2>&1 || { echo "bench.sh: error: python3 not found (scripts/setup.sh installs it)" >&2; exit 1; }
exec python3 scripts/bench.py "$@"
