//! Puts the wasm-gdbstub component into OUT_DIR for `include_bytes!`.
//!
//! By default it runs `cargo build --release --target wasm32-wasip2` on the package in the parent
//! directory (a no-op when that build is fresh), so the embedded component always matches the
//! sources. `WASM_GDBSTUB_COMPONENT=path/to/component.wasm` embeds that file instead and builds
//! nothing.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest_dir
        .parent()
        .expect("artifact/ lives inside the wasm-gdbstub repository");
    let out = PathBuf::from(env::var_os("OUT_DIR").unwrap()).join("wasm_gdbstub.wasm");

    println!("cargo:rerun-if-env-changed=WASM_GDBSTUB_COMPONENT");
    let component = match env::var_os("WASM_GDBSTUB_COMPONENT") {
        Some(path) => {
            let path = root.join(path);
            println!("cargo:rerun-if-changed={}", path.display());
            path
        }
        None => build_component(root),
    };

    let bytes = fs::read(&component).unwrap_or_else(|e| {
        panic!(
            "cannot read the debug component {}: {e}",
            component.display()
        )
    });
    // An empty or core-module payload is exactly the failure this crate exists to avoid.
    assert!(
        bytes.starts_with(b"\0asm\x0d\0\x01\0"),
        "{} is not a WebAssembly component",
        component.display()
    );
    fs::write(&out, &bytes).unwrap_or_else(|e| panic!("cannot write {}: {e}", out.display()));
}

fn build_component(root: &Path) -> PathBuf {
    // Rebuild the embed whenever anything that goes into the component changes. The component
    // file itself is deliberately not watched: it is written while this script runs, which would
    // make Cargo rerun the script (and relink wasmtime) on every build.
    for input in [
        "src",
        "wit",
        "Cargo.toml",
        "Cargo.lock",
        "rust-toolchain.toml",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(input).display());
    }

    let target_dir = root.join("target");
    let mut cmd = Command::new("cargo");
    cmd.current_dir(root)
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "--target-dir",
        ])
        .arg(&target_dir);
    // What Cargo set for this script describes the host build of wasmtime. The nested build must
    // choose its toolchain from rust-toolchain.toml (through the rustup proxy on PATH) and see the
    // environment a plain `cargo build` there sees, or it would redo work. The user's own
    // RUSTFLAGS and RUSTC_WRAPPER stay.
    for (key, _) in env::vars_os() {
        let Some(key) = key.to_str() else { continue };
        let keep = matches!(key, "CARGO_HOME" | "CARGO_BUILD_JOBS" | "CARGO_MAKEFLAGS")
            || [
                "CARGO_NET_",
                "CARGO_HTTP_",
                "CARGO_REGISTRIES_",
                "CARGO_REGISTRY_",
                "CARGO_TERM_",
            ]
            .iter()
            .any(|p| key.starts_with(p));
        let cargo_set = key == "CARGO"
            || key.starts_with("CARGO_")
            || key.starts_with("DEP_")
            || matches!(
                key,
                "RUSTC"
                    | "RUSTDOC"
                    | "RUSTC_LINKER"
                    | "RUSTC_WORKSPACE_WRAPPER"
                    | "RUSTUP_TOOLCHAIN"
                    | "OUT_DIR"
                    | "TARGET"
                    | "HOST"
                    | "NUM_JOBS"
                    | "OPT_LEVEL"
                    | "DEBUG"
                    | "PROFILE"
            );
        if cargo_set && !keep {
            cmd.env_remove(key);
        }
    }
    let status = cmd.status().unwrap_or_else(|e| {
        panic!(
            "cannot run cargo to build the debug component in {}: {e}",
            root.display()
        )
    });
    assert!(
        status.success(),
        "`cargo build --release --target wasm32-wasip2` failed in {}",
        root.display()
    );
    target_dir.join("wasm32-wasip2/release/wasm_gdbstub.wasm")
}
