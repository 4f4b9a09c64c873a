//! Shared integration-test harness: fixture builds (`fixtures`), debuggee
//! processes under `wasmtime run -D debugger=...` (`debuggee`), a raw GDB RSP
//! client (`rsp`) and an `lldb-22` driver (`lldb`). Each test binary uses only
//! part of it, hence the blanket dead-code allowance.
#![allow(dead_code, unused_imports)]

pub mod corpus;
pub mod debuggee;
pub mod dwarf;
pub mod fixtures;
pub mod lldb;
pub mod rsp;
pub mod tools;
pub mod wasm;

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

/// The `wasmtime` CLI: `$WASMTIME`, else the one scripts/setup.sh installs.
pub fn wasmtime_path() -> PathBuf {
    tools::tool_or_env("wasmtime", "WASMTIME")
}
