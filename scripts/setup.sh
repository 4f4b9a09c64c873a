#!/usr/bin/env bash
# Installs what building and testing wasm-gdbstub needs (Rust wasm targets,
# wasmtime-cli 48.0.8, LLVM 22's lldb/clang/lld, wasi-libc) and skips whatever
# is already present, so reruns finish in seconds. Used by scripts/test.sh and CI.
set -euo pipefail

WASMTIME_VERSION=48.0.8
RUST_TARGETS=(wasm32-wasip2 wasm32-wasip1)
# python3-lldb-22 backs `lldb-22 -P` for SB API tests; python3 runs them.
APT_PACKAGES=(lldb-22 python3-lldb-22 clang-22 lld-22 wasi-libc libclang-rt-22-dev-wasm32 python3)

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

step() { printf '==> %s\n' "$*"; }
die() { printf 'setup.sh: error: %s\n' "$*" >&2; exit 1; }

# cargo installs land here; later steps (and test.sh) must find them.
export PATH="$HOME/.cargo/bin:$PATH"

# --- Rust ------------------------------------------------------------------
command -v rustup >/dev/null 2>&1 ||
  die "rustup not found; install Rust via https://rustup.rs (the toolchain is pinned in rust-toolchain.toml)"
command -v cargo >/dev/null 2>&1 || die "cargo not found on PATH"

channel="$(sed -n 's/^channel *= *"\(.*\)"/\1/p' rust-toolchain.toml)"
[ -n "$channel" ] || die "no channel in rust-toolchain.toml"
toolchains="$(rustup toolchain list)"
if grep -q "^$channel-" <<<"$toolchains"; then
  step "Rust toolchain $channel present"
else
  step "installing Rust toolchain $channel"
  rustup toolchain install "$channel" --profile minimal || die "rustup toolchain install $channel failed"
fi

# Inside the repo rustup resolves the toolchain pinned in rust-toolchain.toml.
installed_targets="$(rustup target list --installed)" ||
  die "rustup could not resolve the toolchain pinned in rust-toolchain.toml"
missing_targets=()
for target in "${RUST_TARGETS[@]}"; do
  grep -qx "$target" <<<"$installed_targets" || missing_targets+=("$target")
done
if ((${#missing_targets[@]})); then
  step "adding Rust targets: ${missing_targets[*]}"
  rustup target add "${missing_targets[@]}" || die "rustup target add ${missing_targets[*]} failed"
else
  step "Rust targets present: ${RUST_TARGETS[*]}"
fi

# --- Debian packages ---------------------------------------------------------
missing_pkgs=()
for pkg in "${APT_PACKAGES[@]}"; do
  status="$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)"
  [ "$status" = "install ok installed" ] || missing_pkgs+=("$pkg")
done
if ((${#missing_pkgs[@]})); then
  command -v apt-get >/dev/null 2>&1 || die "missing packages ${missing_pkgs[*]} and no apt-get to install them"
  sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "missing packages ${missing_pkgs[*]}; run as root or install sudo"
    sudo=(sudo)
  fi
  step "installing Debian packages: ${missing_pkgs[*]}"
  "${sudo[@]}" apt-get update -q || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing_pkgs[@]}" ||
    die "apt-get install ${missing_pkgs[*]} failed"
else
  step "Debian packages present: ${APT_PACKAGES[*]}"
fi

for tool in lldb-22 clang-22; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is not on PATH after installing its package"
done

# Debian ships wasi-libc for the `wasm32-wasi` triple only; prove the C
# fixtures' exact compile line works before tests depend on it.
probe="$(mktemp -d)"
trap 'rm -rf "$probe"' EXIT
printf '#include <stdio.h>\nint main(void) { puts("ok"); return 0; }\n' >"$probe/probe.c"
clang-22 --target=wasm32-wasi -Wno-deprecated -g -O0 "$probe/probe.c" -o "$probe/probe.wasm" ||
  die "clang-22 cannot build wasm32-wasi programs (check wasi-libc and libclang-rt-22-dev-wasm32)"
step "clang-22 builds wasm32-wasi programs"

"$(command -v lldb-22)" -P >/dev/null 2>&1 || die "lldb-22 -P failed (LLDB Python support missing?)"

# --- wasmtime ------------------------------------------------------------------
wasmtime_version() {
  local bin
  for bin in "${WASMTIME:-}" "$(command -v wasmtime 2>/dev/null || true)" "$HOME/.cargo/bin/wasmtime"; do
    if [ -n "$bin" ] && [ -x "$bin" ]; then
      "$bin" --version 2>/dev/null | awk '{print $2; exit}'
      return
    fi
  done
}
current="$(wasmtime_version || true)"
if [ "$current" = "$WASMTIME_VERSION" ]; then
  step "wasmtime $WASMTIME_VERSION present"
else
  step "installing wasmtime-cli $WASMTIME_VERSION with cargo (found: ${current:-none}); this takes about 15 minutes"
  cargo install --locked "wasmtime-cli@$WASMTIME_VERSION" ||
    die "cargo install wasmtime-cli@$WASMTIME_VERSION failed"
  current="$(wasmtime_version || true)"
  [ "$current" = "$WASMTIME_VERSION" ] ||
    die "wasmtime reports '${current:-nothing}' after install, expected $WASMTIME_VERSION (is another wasmtime earlier on PATH or in \$WASMTIME?)"
fi

step "setup complete"
