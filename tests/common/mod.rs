//! Shared integration-test harness: fixture builds (`fixtures`), debuggee
//! processes under `wasmtime run -D debugger=...` (`debuggee`), a raw GDB RSP
//! client (`rsp`) and an `lldb-22` driver (`lldb`). Each test binary uses only
//! part of it, hence the blanket dead-code allowance.
#![allow(dead_code, unused_imports)]

pub mod debuggee;
pub mod fixtures;
pub mod lldb;
pub mod rsp;

use std::path::PathBuf;

pub use debuggee::{Debuggee, Output};
pub use fixtures::line_of;

/// The package root (where Cargo.toml lives).
pub fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The debug component under test: `$WASM_GDBSTUB_COMPONENT`, else the
/// release build in this package's target directory.
pub fn component_path() -> PathBuf {
    let path = match std::env::var_os("WASM_GDBSTUB_COMPONENT") {
        Some(p) => {
            let p = PathBuf::from(p);
            if p.is_absolute() {
                p
            } else {
                manifest_dir().join(p)
            }
        }
        None => manifest_dir().join("target/wasm32-wasip2/release/wasm_gdbstub.wasm"),
    };
    assert!(
        path.is_file(),
        "debug component {} is missing: run scripts/test.sh or \
         `cargo build --release --target wasm32-wasip2` first \
         (or point WASM_GDBSTUB_COMPONENT at a build)",
        path.display()
    );
    path
}

/// The `wasmtime` CLI: `$WASMTIME`, else `wasmtime` on PATH, else
/// `~/.cargo/bin/wasmtime` (where scripts/setup.sh installs it).
pub fn wasmtime_path() -> PathBuf {
    if let Some(p) = std::env::var_os("WASMTIME") {
        return PathBuf::from(p);
    }
    if let Some(p) = fixtures::which("wasmtime") {
        return p;
    }
    if let Some(home) = std::env::var_os("HOME") {
        let p = PathBuf::from(home).join(".cargo/bin/wasmtime");
        if p.is_file() {
            return p;
        }
    }
    panic!("wasmtime not found (set WASMTIME, put it on PATH, or run scripts/setup.sh)");
}
