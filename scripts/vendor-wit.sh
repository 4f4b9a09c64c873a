#!/usr/bin/env bash
# Vendors the `debug-main` WIT (and its WASI deps) unchanged from the crates.io package
# `wasmtime-internal-debugger` into `wit/`. Rerun after changing the pinned version.
set -euo pipefail
VERSION="${1:-48.0.8}"
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/src"
cat > "$work/Cargo.toml" <<TOML
[package]
name = "wit-vendor-probe"
version = "0.0.0"
edition = "2021"
[dependencies]
wasmtime-internal-debugger = "=$VERSION"
TOML
: > "$work/src/lib.rs"
echo "fetching wasmtime-internal-debugger $VERSION ..."
(cd "$work" && cargo fetch --quiet)
src="$(cd "$work" && cargo metadata --format-version 1 --quiet \
  | python3 -c 'import json,sys; m=json.load(sys.stdin); print(next(p["manifest_path"] for p in m["packages"] if p["name"]=="wasmtime-internal-debugger"))')"
src="$(dirname "$src")/wit"
rm -rf "$root/wit"
cp -r "$src" "$root/wit"
echo "vendored $(find "$root/wit" -name '*.wit' | wc -l) WIT files from $src into wit/"
