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
use std::process::{Command, Stdio};
use std::sync::OnceLock;

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

/// The wasmtime-cli with wasm-gdbstub built in: `$WASMTIME_GDBSTUB` if set, else what
/// scripts/build-wasmtime-gdbstub.sh produces. The script runs every time (once per test
/// binary): it does nothing when the binary is newer than the component, and otherwise rebuilds
/// it, so the test never exercises a stale embedded component. A first build takes 10+ minutes;
/// its progress goes straight to the terminal.
pub fn builtin_wasmtime() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        if let Some(path) = std::env::var_os("WASMTIME_GDBSTUB") {
            return PathBuf::from(path);
        }
        let script = manifest_dir().join("scripts/build-wasmtime-gdbstub.sh");
        let status = Command::new(tools::tool("bash"))
            .arg(&script)
            .current_dir(manifest_dir())
            .stdin(Stdio::null())
            .status()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
        assert!(status.success(), "{} failed ({status})", script.display());
        let out = Command::new(tools::tool("bash"))
            .arg(&script)
            .arg("--print-path")
            .output()
            .unwrap();
        let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        assert!(
            path.is_file(),
            "{} did not produce {}",
            script.display(),
            path.display()
        );
        path
    })
    .clone()
}
