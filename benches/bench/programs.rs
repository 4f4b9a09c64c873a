//! The debuggees the benchmark measures, built on demand with the tests' own build helpers (so a
//! rebuild happens only when a source changed): a small hot loop, the C fixture app, and from
//! the tests' corpus a 16 MB Rust debug module and the Lua program for Wasm and x86-64.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{corpus, fixtures, manifest_dir, tools};
use crate::measure::progress;

pub struct Programs {
    /// `bench/c/hot_loop.c`: one small function called from a long loop.
    pub hot_loop: PathBuf,
    /// `tests/fixtures/c/app.c`.
    pub app: PathBuf,
    /// `bench/large-app`, a wasm32-wasip1 debug build of about 16 MB.
    pub large: PathBuf,
    /// The Lua corpus program (tests/corpus/lua) built for Wasm and natively.
    pub lua_wasm: PathBuf,
    pub lua_native: PathBuf,
}

pub fn build() -> Programs {
    progress("building the benchmark's debuggees");
    let out = manifest_dir().join("target/bench");
    Programs {
        hot_loop: hot_loop(&out),
        app: fixtures::c_app(),
        large: corpus::large_app(),
        lua_wasm: corpus::lua_wasm(),
        lua_native: corpus::lua_native(),
    }
}

fn hot_loop(out: &Path) -> PathBuf {
    let source = manifest_dir().join("bench/c/hot_loop.c");
    let wasm = out.join("hot_loop.wasm");
    fixtures::build_with(&wasm, std::slice::from_ref(&source), &source, |tmp| {
        // Debian's wasi-libc only knows the `wasm32-wasi` spelling of wasm32-wasip1.
        let mut cmd = Command::new(tools::tool_or_env("clang-22", "CLANG"));
        cmd.args(["--target=wasm32-wasi", "-Wno-deprecated", "-g", "-O0"])
            .arg(&source)
            .arg("-o")
            .arg(tmp);
        fixtures::run_build(&mut cmd, "clang build of bench/c/hot_loop.c");
    });
    wasm
}
