#!/usr/bin/env bash
# Builds wasmtime-cli 48.0.8 with its `gdbstub` feature and this repository's artifact/ crate
# patched in for `wasmtime-internal-gdbstub-component-artifact`, so that
#   target/wasmtime-gdbstub/bin/wasmtime run -g 1234 app.wasm
# serves LLDB through wasm-gdbstub. (The crates.io copy of that crate embeds an empty component.)
#
# Idempotent: when the binary exists and is newer than the component and artifact/, it does
# nothing. The first build compiles all of wasmtime (about 12 minutes on 2 cores); later ones
# reuse target/wasmtime-gdbstub/build and recompile little more than wasmtime-cli (2-3 minutes).
# Options: --force rebuilds anyway; --print-path prints the binary's path.
# Environment: WASMTIME_GDBSTUB_DIR (default target/wasmtime-gdbstub), WASM_GDBSTUB_COMPONENT
# (embed this component file instead of building one), CARGO_BUILD_JOBS (parallelism).
set -euo pipefail

VERSION=48.0.8
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export PATH="$HOME/.cargo/bin:$PATH"

out="${WASMTIME_GDBSTUB_DIR:-$root/target/wasmtime-gdbstub}"
bin="$out/bin/wasmtime"
src="$out/src/wasmtime-cli-$VERSION"
build_dir="$out/build"

force=0
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    --print-path) echo "$bin"; exit 0 ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-wasmtime-gdbstub.sh: unknown argument $arg" >&2; exit 2 ;;
  esac
done

# Run from a test, this script inherits the variables cargo sets for test binaries (CARGO_PKG_*,
# CARGO_MANIFEST_DIR, OUT_DIR, ...). Some build scripts watch them (ring's do), so their changing
# between callers would rebuild half of Wasmtime: the builds must not depend on who called us.
for var in $(compgen -e); do
  case "$var" in
    CARGO_HOME | CARGO_BUILD_JOBS | CARGO_NET_* | CARGO_HTTP_* | CARGO_REGISTRIES_* | CARGO_REGISTRY_* | CARGO_TERM_*) ;;
    CARGO | CARGO_* | OUT_DIR) unset "$var" ;;
  esac
done

step() { printf '==> [%s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { printf 'build-wasmtime-gdbstub.sh: error: %s\n' "$*" >&2; exit 1; }

# --- the component ---------------------------------------------------------------------------
if [ -n "${WASM_GDBSTUB_COMPONENT:-}" ]; then
  component="$(cd "$root" && realpath "$WASM_GDBSTUB_COMPONENT")"
  export WASM_GDBSTUB_COMPONENT="$component"
else
  step "building the debug component (cargo build --release --target wasm32-wasip2)"
  cargo build --quiet --release --target wasm32-wasip2
  component="$root/target/wasm32-wasip2/release/wasm_gdbstub.wasm"
fi
[ -f "$component" ] || die "no component at $component"

newer_than_inputs() {
  local input
  for input in "$component" "$root/artifact/Cargo.toml" "$root/artifact/build.rs" "$root/artifact/src/lib.rs"; do
    [ "$bin" -nt "$input" ] || return 1
  done
}
if [ "$force" = 0 ] && [ -x "$bin" ] && newer_than_inputs &&
  "$bin" --version 2>/dev/null | grep -q "^wasmtime $VERSION"; then
  step "up to date: $bin ($("$bin" --version))"
  exit 0
fi

# --- wasmtime-cli sources ----------------------------------------------------------------------
cargo_home="${CARGO_HOME:-$HOME/.cargo}"
find_registry_src() {
  compgen -G "$cargo_home/registry/src/*/wasmtime-cli-$VERSION/Cargo.toml" | head -n1 | xargs -r dirname
}
if [ ! -f "$src/Cargo.toml.orig" ] || [ ! -f "$src/.gdbstub-patched" ]; then
  registry_src="$(find_registry_src || true)"
  if [ -z "$registry_src" ]; then
    crate_file="$(compgen -G "$cargo_home/registry/cache/*/wasmtime-cli-$VERSION.crate" | head -n1 || true)"
    if [ -z "$crate_file" ]; then
      # Let cargo download the package: a throwaway manifest that depends on it.
      step "fetching wasmtime-cli $VERSION from crates.io (cargo fetch)"
      probe="$(mktemp -d)"
      mkdir -p "$probe/src"
      : >"$probe/src/lib.rs"
      printf '[package]\nname = "fetch-wasmtime-cli"\nversion = "0.0.0"\nedition = "2021"\n[workspace]\n[dependencies]\nwasmtime-cli = { version = "=%s", default-features = false }\n' \
        "$VERSION" >"$probe/Cargo.toml"
      (cd "$probe" && cargo fetch --quiet) || die "cargo fetch of wasmtime-cli $VERSION failed"
      rm -rf "$probe"
      crate_file="$(compgen -G "$cargo_home/registry/cache/*/wasmtime-cli-$VERSION.crate" | head -n1 || true)"
      [ -n "$crate_file" ] || die "cargo fetch did not leave wasmtime-cli-$VERSION.crate in $cargo_home/registry/cache"
    fi
  fi
  step "unpacking wasmtime-cli $VERSION into $src"
  rm -rf "$src"
  mkdir -p "$(dirname "$src")"
  if [ -n "$registry_src" ]; then
    # -p keeps mtimes, so a re-unpacked tree does not look modified to cargo's fingerprints.
    cp -rp "$registry_src" "$src"
  else
    tar -xzf "$crate_file" -C "$(dirname "$src")"
  fi
  [ -f "$src/Cargo.lock" ] || die "the wasmtime-cli $VERSION package has no Cargo.lock"
  # An empty [workspace] keeps cargo from adopting this tree into an enclosing workspace; the
  # [patch] swaps in the artifact crate (same name and version, so cargo accepts it).
  cat >>"$src/Cargo.toml" <<TOML

[workspace]

[patch.crates-io]
wasmtime-internal-gdbstub-component-artifact = { path = "$root/artifact" }
TOML
  touch "$src/.gdbstub-patched"
fi

# --- the build ------------------------------------------------------------------------------------
jobs="${CARGO_BUILD_JOBS:-$(nproc 2>/dev/null || echo 2)}"
step "building wasmtime-cli $VERSION --features gdbstub (jobs: $jobs, build dir: $build_dir)"
if [ -d "$build_dir/release" ]; then
  step "reusing the previous build: usually wasmtime-cli alone is recompiled (2-3 minutes)"
else
  step "a first build compiles ~290 crates (about 12 minutes on 2 cores); cargo's progress follows"
fi
start=$(date +%s)
# Not --locked: cargo must replace the registry entry for the patched crate in Cargo.lock; every
# other package keeps the version the published lock file pins.
(cd "$src" && cargo build --release --bin wasmtime --features gdbstub \
  --target-dir "$build_dir" --jobs "$jobs" --color never) ||
  die "building wasmtime-cli failed (log above)"
grep -A2 'name = "wasmtime-internal-gdbstub-component-artifact"' "$src/Cargo.lock" | grep -q '^source' &&
  die "Cargo.lock still takes wasmtime-internal-gdbstub-component-artifact from the registry: the patch did not apply"

mkdir -p "$(dirname "$bin")"
cp "$build_dir/release/wasmtime" "$bin.tmp"
mv -f "$bin.tmp" "$bin"
touch "$bin"
elapsed=$(( $(date +%s) - start ))
step "built $bin ($("$bin" --version)) in $((elapsed / 60))m$((elapsed % 60))s"
