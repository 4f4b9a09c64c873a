#!/usr/bin/env bash
# Installs every tool listed in scripts/tools.txt (Rust wasm targets, Debian packages, cargo
# installs) and skips whatever is already present, so reruns finish in seconds. Used by
# scripts/test.sh, scripts/demo.sh and CI.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

step() { printf '==> %s\n' "$*"; }
die() { printf 'setup.sh: error: %s\n' "$*" >&2; exit 1; }

# cargo installs land here; later steps (and test.sh) must find them.
export PATH="$HOME/.cargo/bin:$PATH"

# --- the list ------------------------------------------------------------------
# scripts/tools.txt is the one list of external tools; everything below installs from it.
tools_list="$root/scripts/tools.txt"
[ -f "$tools_list" ] || die "$tools_list is missing"
# Rows as "tool<TAB>source<TAB>package"; a tool name may contain spaces inside its parentheses.
list_rows() {
  sed -e 's/#.*//' "$tools_list" |
    awk 'NF >= 3 { pkg = $NF; src = $(NF - 1); $NF = ""; $(NF - 1) = ""; sub(/ +$/, ""); print $0 "\t" src "\t" pkg }'
}
packages_from() { list_rows | awk -F'\t' -v s="$1" '$2 == s { print $3 }' | sort -u; }
mapfile -t RUST_TARGETS < <(packages_from target)
mapfile -t APT_PACKAGES < <(packages_from apt)

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

# Debian ships wasi-libc for the `wasm32-wasi` triple only; prove the C
# fixtures' exact compile line works before tests depend on it.
probe="$(mktemp -d)"
trap 'rm -rf "$probe"' EXIT
printf '#include <stdio.h>\nint main(void) { puts("ok"); return 0; }\n' >"$probe/probe.c"
clang-22 --target=wasm32-wasi -Wno-deprecated -g -O0 "$probe/probe.c" -o "$probe/probe.wasm" ||
  die "clang-22 cannot build wasm32-wasi programs (check wasi-libc and libclang-rt-22-dev-wasm32)"
step "clang-22 builds wasm32-wasi programs"

"$(command -v lldb-22)" -P >/dev/null 2>&1 || die "lldb-22 -P failed (LLDB Python support missing?)"

# --- cargo install ---------------------------------------------------------------
# The list names each crate with its version (CRATE@VERSION) and the command it provides.
installed_version() { "$1" --version 2>/dev/null | awk '{ print $2; exit }'; }
while IFS=$'\t' read -r tool _ crate; do
  version="${crate#*@}"
  current="$(installed_version "$tool" || true)"
  if [ "$current" = "$version" ]; then
    step "$tool $version present"
    continue
  fi
  case "$crate" in
    wasmtime-cli@*) note="; this takes about 15 minutes" ;;
    *) note="" ;;
  esac
  step "installing $crate with cargo (found: ${current:-none})$note"
  cargo install --locked "$crate" || die "cargo install $crate failed"
  current="$(installed_version "$tool" || true)"
  [ "$current" = "$version" ] ||
    die "$tool reports '${current:-nothing}' after install, expected $version (is another $tool earlier on PATH?)"
done < <(list_rows | awk -F'\t' '$2 == "cargo"')

# --- pip into the project's virtualenv -------------------------------------------------------
# LLDB 23 comes from PyPI (lldb-for-pwndbg: `lldb`, `lldb-server` and its Python module) and lives
# in .venv-lldb23/, so it never shadows Debian's lldb-22.
while IFS=$'\t' read -r tool _ package; do
  venv="$root/${tool%%/bin/*}"
  name="${package%%==*}"
  want="${package#*==}"
  if [ ! -x "$venv/bin/python" ]; then
    step "creating the virtualenv ${venv#"$root"/}"
    python3 -m venv "$venv" || die "python3 -m venv $venv failed (is python3-venv installed?)"
  fi
  have="$("$venv/bin/python" -m pip show "$name" 2>/dev/null | awk '/^Version:/ { print $2 }' || true)"
  if [ "$have" = "$want" ]; then
    step "$name $want present in ${venv#"$root"/}"
  else
    step "installing $package into ${venv#"$root"/} (found: ${have:-none})"
    "$venv/bin/python" -m pip install --disable-pip-version-check --progress-bar on "$package" ||
      die "pip install $package failed"
  fi
  [ -x "$root/$tool" ] || die "$tool is missing after installing $package"
done < <(list_rows | awk -F'\t' '$2 == "venv"')

# --- every command of the list ------------------------------------------------------------
missing=()
while IFS= read -r tool; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done < <(list_rows | awk -F'\t' '$1 !~ /^\(/ && $1 !~ /\// { print $1 }')
((${#missing[@]} == 0)) || die "not on PATH after setup: ${missing[*]} (see scripts/tools.txt)"

step "setup complete: every tool in scripts/tools.txt is present"
