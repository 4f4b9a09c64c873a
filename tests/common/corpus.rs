//! The real-program corpus for stepping tests: sources under `tests/corpus/`,
//! built on demand (`-g -O0`) into `target/corpus/` and rebuilt when a source
//! or this file is newer than the output.
//!
//! * `lua`: Lua 5.4 from the pinned crates.io crate `lua-src` (fetched with
//!   `cargo metadata`, see [`lua_source_dir`]) plus a small host,
//!   `tests/corpus/lua/host.c`, running the embedded `script.lua`. Built for
//!   `wasm32-wasi` and natively (an x86-64 ELF for native LLDB as an oracle).
//! * `cpp`: `tests/corpus/cpp/main.cpp`, C++17 over the standard library,
//!   against libc++ for `wasm32-wasi` and natively against the system's C++
//!   library.
//! * `rust_std`: `tests/corpus/rust-std/`, a std-heavy cargo package, for
//!   `wasm32-wasip1` (core module) and `wasm32-wasip2` (component).
//! * `zlib`: zlib from the pinned crates.io crate `libz-sys` plus a host,
//!   `tests/corpus/zlib/host.c`, that inflates a few KB in small chunks, so
//!   `inflate`'s state-machine `switch` (one long `br_table`) runs throughout.
//! * `bzip2`: bzip2 from the pinned crate `bzip2-sys` plus a host,
//!   `tests/corpus/bzip2/host.c`, decompressing in small chunks through
//!   `BZ2_decompress`, a 41-case `switch` state machine.
//! * `large_app`: `bench/large-app/`, the benchmark's Rust program over `regex`
//!   and `serde_json` from crates.io, a 16 MB `wasm32-wasip1` debug build
//!   (2 MB of code, 89,000 stores).
//!
//! Every program is deterministic: it prints the same few lines on every run,
//! on wasm and natively, and finishes quickly.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::SystemTime;

use super::{fixtures, manifest_dir};

/// The `lua-src` release whose Lua 5.4 sources the corpus builds; must match
/// `tests/corpus/lua-src-fetch/Cargo.toml`.
pub const LUA_SRC_VERSION: &str = "548.1.2";

/// Lua's sources that the corpus leaves out: the stand-alone interpreter and
/// compiler, `linit.c` (the host opens the libraries it needs itself), and
/// the io, os and package libraries, which need `popen`, `system`, `tmpnam`
/// and `dlopen` (absent from WASI).
pub const LUA_LEFT_OUT: &[&str] = &[
    "lua.c",
    "luac.c",
    "linit.c",
    "liolib.c",
    "loslib.c",
    "loadlib.c",
];

/// Compiler flags shared by both Lua builds (the wasm one adds
/// [`LUA_WASM_FLAGS`]). `include/setjmp.h` replaces Lua's setjmp/longjmp
/// error handling (which wasi-libc cannot provide) with abort(); the fixed
/// `luai_makeseed` replaces the time- and address-based string-hash seed.
fn lua_common_flags() -> Vec<String> {
    vec![
        "-g".into(),
        "-O0".into(),
        "-std=gnu17".into(),
        // host.c embeds script.lua with `#embed`, a C23 feature.
        "-Wno-c23-extensions".into(),
        "-Dluai_makeseed(L)=((unsigned int)0x2f5eedu)".into(),
        format!("-I{}", corpus_dir().join("lua/include").display()),
        format!("-I{}", lua_source_dir().display()),
    ]
}

/// Extra flags for the `wasm32-wasi` Lua build: `lstate.h` includes
/// `<signal.h>` for `sig_atomic_t`, which wasi-libc only offers in its
/// signal emulation.
pub const LUA_WASM_FLAGS: &[&str] = &[
    "--target=wasm32-wasi",
    "-Wno-deprecated",
    "-D_WASI_EMULATED_SIGNAL",
];

/// C++ flags shared by both builds. libc++ for wasm32 is built without
/// exception support (no `__cxa_throw`), so exceptions are off everywhere.
pub const CPP_FLAGS: &[&str] = &["-std=c++17", "-g", "-O0", "-fno-exceptions"];

/// `tests/corpus/` in the source tree.
pub fn corpus_dir() -> PathBuf {
    manifest_dir().join("tests").join("corpus")
}

/// Where built corpus programs go (`target/corpus/`).
pub fn out_dir() -> PathBuf {
    manifest_dir().join("target").join("corpus")
}

/// The Lua host program, `tests/corpus/lua/host.c`.
pub fn lua_host_src() -> PathBuf {
    corpus_dir().join("lua/host.c")
}

/// The Lua script the host embeds, `tests/corpus/lua/script.lua`.
pub fn lua_script_src() -> PathBuf {
    corpus_dir().join("lua/script.lua")
}

/// The C++ program, `tests/corpus/cpp/main.cpp`.
pub fn cpp_src() -> PathBuf {
    corpus_dir().join("cpp/main.cpp")
}

/// The Rust program, `tests/corpus/rust-std/src/main.rs`.
pub fn rust_std_src() -> PathBuf {
    corpus_dir().join("rust-std/src/main.rs")
}

/// Every corpus program built for wasm: `(name, path)`.
pub fn all_wasm() -> Vec<(&'static str, PathBuf)> {
    vec![
        ("lua", lua_wasm()),
        ("cpp", cpp_wasm()),
        ("rust_std_p1", rust_std_p1()),
        ("rust_std_p2", rust_std_p2()),
        ("zlib", zlib_wasm()),
        ("bzip2", bzip2_wasm()),
    ]
}

// ---------------------------------------------------------------------------
// Lua.

/// The directory holding Lua 5.4's `.c` and `.h` files (`lua-5.4.x/` inside
/// the `lua-src` crate that `cargo metadata` downloads into Cargo's registry
/// on first use).
pub fn lua_source_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(find_lua_source_dir).clone()
}

fn lua_fetch_manifest() -> PathBuf {
    corpus_dir().join("lua-src-fetch/Cargo.toml")
}

fn find_lua_source_dir() -> PathBuf {
    let crate_dir = registry_crate_dir(&lua_fetch_manifest(), "lua-src", LUA_SRC_VERSION);
    let mut dirs: Vec<PathBuf> = fs::read_dir(&crate_dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", crate_dir.display()))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| {
            p.is_dir()
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("lua-5.4"))
        })
        .collect();
    match dirs.len() {
        1 => dirs.pop().unwrap(),
        _ => panic!(
            "expected exactly one lua-5.4.* directory in {}, found {dirs:?}",
            crate_dir.display()
        ),
    }
}

/// Lua's `.c` files that the corpus compiles (all but [`LUA_LEFT_OUT`]).
pub fn lua_c_sources() -> Vec<PathBuf> {
    let mut sources: Vec<PathBuf> = files_in(&lua_source_dir())
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "c"))
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            !LUA_LEFT_OUT.contains(&name)
        })
        .collect();
    sources.sort();
    sources
}

/// Everything the Lua builds depend on, for the staleness check.
fn lua_inputs() -> Vec<PathBuf> {
    let mut inputs = files_in(&lua_source_dir());
    inputs.extend(files_in(&corpus_dir().join("lua")));
    let fetch = lua_fetch_manifest();
    inputs.push(fetch.with_file_name("Cargo.lock"));
    inputs.push(fetch);
    inputs
}

/// Lua + `tests/corpus/lua/host.c` as a `wasm32-wasi` core module.
pub fn lua_wasm() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let out = out_dir().join("lua.wasm");
            build_if_stale(&out, &lua_inputs(), |tmp| {
                let mut cmd = Command::new(super::tools::tool_or_env("clang-22", "CLANG"));
                cmd.current_dir(manifest_dir())
                    .args(LUA_WASM_FLAGS)
                    .args(lua_common_flags())
                    .args(lua_c_sources())
                    .arg(lua_host_src())
                    .arg("-lwasi-emulated-signal")
                    .arg("-o")
                    .arg(tmp);
                fixtures::run_build(&mut cmd, "clang build of Lua for wasm32-wasi");
            });
            out
        })
        .clone()
}

/// Lua + `tests/corpus/lua/host.c` as a native (x86-64) executable, from the
/// same sources and flags as [`lua_wasm`].
pub fn lua_native() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let out = out_dir().join("lua-native");
            build_if_stale(&out, &lua_inputs(), |tmp| {
                let mut cmd = Command::new(super::tools::tool_or_env("clang-22", "CLANG"));
                cmd.current_dir(manifest_dir())
                    .args(lua_common_flags())
                    .args(lua_c_sources())
                    .arg(lua_host_src())
                    .arg("-lm")
                    .arg("-o")
                    .arg(tmp);
                fixtures::run_build(&mut cmd, "native clang build of Lua");
            });
            out
        })
        .clone()
}

// ---------------------------------------------------------------------------
// C++.

/// `tests/corpus/cpp/main.cpp` as a `wasm32-wasi` core module (libc++).
pub fn cpp_wasm() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let out = out_dir().join("cpp.wasm");
            build_if_stale(&out, &[cpp_src()], |tmp| {
                // The driver links -lc++ -lc++abi from /usr/lib/wasm32-wasi
                // by itself.
                let mut cmd = Command::new(super::tools::tool_or_env("clang++-22", "CLANGXX"));
                cmd.current_dir(manifest_dir())
                    .args(["--target=wasm32-wasi", "-Wno-deprecated"])
                    .args(CPP_FLAGS)
                    .arg(cpp_src())
                    .arg("-o")
                    .arg(tmp);
                fixtures::run_build(&mut cmd, "clang++ build of the C++ corpus for wasm32-wasi");
            });
            out
        })
        .clone()
}

/// `tests/corpus/cpp/main.cpp` as a native (x86-64) executable.
pub fn cpp_native() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let out = out_dir().join("cpp-native");
            build_if_stale(&out, &[cpp_src()], |tmp| {
                let mut cmd = Command::new(super::tools::tool_or_env("clang++-22", "CLANGXX"));
                cmd.current_dir(manifest_dir())
                    .args(CPP_FLAGS)
                    .arg(cpp_src())
                    .arg("-o")
                    .arg(tmp);
                fixtures::run_build(&mut cmd, "native clang++ build of the C++ corpus");
            });
            out
        })
        .clone()
}

// ---------------------------------------------------------------------------
// Rust.

/// `tests/corpus/rust-std` as a `wasm32-wasip1` core module.
pub fn rust_std_p1() -> PathBuf {
    rust_std()[0].clone()
}

/// `tests/corpus/rust-std` as a `wasm32-wasip2` component.
pub fn rust_std_p2() -> PathBuf {
    rust_std()[1].clone()
}

const RUST_TARGETS: [&str; 2] = ["wasm32-wasip1", "wasm32-wasip2"];

fn rust_std() -> &'static [PathBuf; 2] {
    static BUILT: OnceLock<[PathBuf; 2]> = OnceLock::new();
    BUILT.get_or_init(|| {
        let project = corpus_dir().join("rust-std");
        let mut sources = vec![project.join("Cargo.toml"), project.join("Cargo.lock")];
        sources.extend(files_in(&project.join("src")));
        let target_dir = out_dir().join("cargo");
        let outputs = RUST_TARGETS.map(|target| {
            let short = &target["wasm32-".len()..];
            (
                out_dir().join(format!("rust-std-{short}.wasm")),
                target_dir.join(target).join("debug/rust-std.wasm"),
            )
        });
        // One stamp for both targets: one cargo run builds them together.
        let stamp = out_dir().join("rust-std.stamp");
        if outputs.iter().any(|(dest, _)| !dest.exists()) {
            let _ = fs::remove_file(&stamp);
        }
        build_if_stale(&stamp, &sources, |tmp| {
            let mut cmd = fixtures::cargo_command();
            cmd.current_dir(&project)
                .args(["build", "--locked", "--offline"]);
            for target in RUST_TARGETS {
                cmd.args(["--target", target]);
            }
            cmd.arg("--target-dir")
                .arg(&target_dir)
                .arg("--manifest-path")
                .arg(project.join("Cargo.toml"));
            fixtures::run_build(&mut cmd, "cargo build of the rust-std corpus");
            for (dest, built) in &outputs {
                fixtures::copy_atomically(built, dest);
            }
            fs::write(tmp, b"built\n").expect("write stamp");
        });
        outputs.map(|(dest, _)| {
            assert!(dest.exists(), "{} missing after build", dest.display());
            dest
        })
    })
}

/// `bench/large-app` as a `wasm32-wasip1` debug module of about 16 MB.
pub fn large_app() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let project = manifest_dir().join("bench/large-app");
            let target_dir = out_dir().join("large-app-target");
            // Cargo knows best whether its sources and dependencies changed; a no-op otherwise.
            let mut cmd = fixtures::cargo_command();
            cmd.args(["build", "--quiet", "--locked", "--target", "wasm32-wasip1"])
                .arg("--target-dir")
                .arg(&target_dir)
                .current_dir(&project);
            fixtures::run_build(&mut cmd, "cargo build of bench/large-app");
            let built = target_dir.join("wasm32-wasip1/debug/large-app.wasm");
            // A stable path outside cargo's target directory, so the module's name is short.
            let wasm = out_dir().join("large-app.wasm");
            fixtures::build_with(&wasm, std::slice::from_ref(&built), &built, |tmp| {
                fs::copy(&built, tmp).expect("copy large-app.wasm");
            });
            wasm
        })
        .clone()
}

// ---------------------------------------------------------------------------
// zlib and bzip2: C libraries whose hot functions are big `switch` state
// machines (`inflate`'s `switch (state->mode)` in zlib's inflate.c,
// `BZ2_decompress`'s `switch (s->state)` in bzip2's decompress.c; each a
// `br_table` of more than 30 targets in the wasm build). Sources from pinned
// crates.io `-sys` crates, fetched like Lua's; small hosts under
// `tests/corpus/zlib/` and `tests/corpus/bzip2/` run a compress/decompress
// round trip and print one `checksum=` line.

/// The `libz-sys` release whose bundled zlib sources (`src/zlib/`, zlib 1.4)
/// the corpus builds; must match `tests/corpus/zlib-fetch/Cargo.toml`.
pub const LIBZ_SYS_VERSION: &str = "1.1.33";

/// The `bzip2-sys` release whose bundled bzip2 1.0.8 sources the corpus
/// builds; must match `tests/corpus/bzip2-fetch/Cargo.toml`.
pub const BZIP2_SYS_VERSION: &str = "0.1.13+1.0.8";

/// zlib's `.c` files that a deflate + inflate round trip needs (no gz*
/// file API, no compress/uncompress wrappers, no infback).
pub const ZLIB_SOURCES: &[&str] = &[
    "adler32.c",
    "crc32.c",
    "deflate.c",
    "inffast.c",
    "inflate.c",
    "inftrees.c",
    "trees.c",
    "zutil.c",
];

/// bzip2's library `.c` files (the ones `bzip2-sys` compiles; not the
/// `bzip2` and `bzip2recover` programs).
pub const BZIP2_SOURCES: &[&str] = &[
    "blocksort.c",
    "bzlib.c",
    "compress.c",
    "crctable.c",
    "decompress.c",
    "huffman.c",
    "randtable.c",
];

/// Flags for both zlib builds.
fn zlib_flags() -> Vec<String> {
    vec![
        "-g".into(),
        "-O0".into(),
        "-std=gnu17".into(),
        format!("-I{}", zlib_source_dir().display()),
    ]
}

/// Flags for both bzip2 builds. `BZ_NO_STDIO`, as `bzip2-sys` builds it,
/// leaves out the `FILE *` API; the host then supplies `bz_internal_error`.
fn bzip2_flags() -> Vec<String> {
    vec![
        "-g".into(),
        "-O0".into(),
        "-std=gnu17".into(),
        "-DBZ_NO_STDIO".into(),
        format!("-I{}", bzip2_source_dir().display()),
    ]
}

/// Extra flags for the `wasm32-wasi` builds of zlib and bzip2.
const C_WASM_FLAGS: &[&str] = &["--target=wasm32-wasi", "-Wno-deprecated"];

/// The directory holding zlib's `.c` and `.h` files (`src/zlib/` inside the
/// `libz-sys` crate that `cargo metadata` downloads into Cargo's registry
/// on first use).
pub fn zlib_source_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = registry_crate_dir(&zlib_fetch_manifest(), "libz-sys", LIBZ_SYS_VERSION)
            .join("src/zlib");
        assert!(
            dir.join("inflate.c").is_file(),
            "libz-sys {LIBZ_SYS_VERSION} has no {}/inflate.c",
            dir.display()
        );
        dir
    })
    .clone()
}

/// The directory holding bzip2's `.c` and `.h` files (`bzip2-1.0.8/`
/// inside the `bzip2-sys` crate that `cargo metadata` downloads into
/// Cargo's registry on first use).
pub fn bzip2_source_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = registry_crate_dir(&bzip2_fetch_manifest(), "bzip2-sys", BZIP2_SYS_VERSION)
            .join("bzip2-1.0.8");
        assert!(
            dir.join("decompress.c").is_file(),
            "bzip2-sys {BZIP2_SYS_VERSION} has no {}/decompress.c",
            dir.display()
        );
        dir
    })
    .clone()
}

/// The zlib host program, `tests/corpus/zlib/host.c`.
pub fn zlib_host_src() -> PathBuf {
    corpus_dir().join("zlib/host.c")
}

/// The bzip2 host program, `tests/corpus/bzip2/host.c`.
pub fn bzip2_host_src() -> PathBuf {
    corpus_dir().join("bzip2/host.c")
}

/// zlib's `inflate.c`, home of `inflate` and its `switch (state->mode)`.
pub fn zlib_inflate_src() -> PathBuf {
    zlib_source_dir().join("inflate.c")
}

/// bzip2's `decompress.c`, home of `BZ2_decompress` and its
/// `switch (s->state)`.
pub fn bzip2_decompress_src() -> PathBuf {
    bzip2_source_dir().join("decompress.c")
}

/// zlib's `.c` files that the corpus compiles ([`ZLIB_SOURCES`]).
pub fn zlib_c_sources() -> Vec<PathBuf> {
    let dir = zlib_source_dir();
    ZLIB_SOURCES.iter().map(|f| dir.join(f)).collect()
}

/// bzip2's `.c` files that the corpus compiles ([`BZIP2_SOURCES`]).
pub fn bzip2_c_sources() -> Vec<PathBuf> {
    let dir = bzip2_source_dir();
    BZIP2_SOURCES.iter().map(|f| dir.join(f)).collect()
}

fn zlib_fetch_manifest() -> PathBuf {
    corpus_dir().join("zlib-fetch/Cargo.toml")
}

fn bzip2_fetch_manifest() -> PathBuf {
    corpus_dir().join("bzip2-fetch/Cargo.toml")
}

/// The root of crate `name` at exactly `version`, as `cargo metadata` on
/// `manifest` (a fetch-only package with a lock file) reports it after
/// downloading it into Cargo's registry.
fn registry_crate_dir(manifest: &Path, name: &str, version: &str) -> PathBuf {
    let mut cmd = fixtures::cargo_command();
    cmd.current_dir(manifest.parent().expect("manifest dir"))
        .args(["metadata", "--format-version", "1", "--locked"])
        .arg("--manifest-path")
        .arg(manifest);
    let stdout = fixtures::run_build(&mut cmd, &format!("cargo metadata (fetching {name})"));
    let meta: serde_json::Value =
        serde_json::from_slice(&stdout).expect("cargo metadata printed invalid JSON");
    let package = meta["packages"]
        .as_array()
        .expect("cargo metadata: no packages")
        .iter()
        .find(|p| p["name"] == name && p["version"] == version)
        .unwrap_or_else(|| {
            panic!(
                "cargo metadata for {} lists no {name} {version}",
                manifest.display()
            )
        });
    Path::new(
        package["manifest_path"]
            .as_str()
            .unwrap_or_else(|| panic!("{name} manifest_path")),
    )
    .parent()
    .unwrap_or_else(|| panic!("{name} crate dir"))
    .to_path_buf()
}

/// The `.c` and `.h` files directly in `dir`.
fn c_files_in(dir: &Path) -> Vec<PathBuf> {
    fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "c" || e == "h"))
        .collect()
}

/// Everything a zlib or bzip2 build depends on, for the staleness check:
/// the library's C files, the host's directory and the fetch package.
fn c_library_inputs(source_dir: &Path, host_dir: &str, fetch: &Path) -> Vec<PathBuf> {
    let mut inputs = c_files_in(source_dir);
    inputs.extend(files_in(&corpus_dir().join(host_dir)));
    inputs.push(fetch.with_file_name("Cargo.lock"));
    inputs.push(fetch.to_path_buf());
    inputs
}

fn zlib_inputs() -> Vec<PathBuf> {
    c_library_inputs(&zlib_source_dir(), "zlib", &zlib_fetch_manifest())
}

fn bzip2_inputs() -> Vec<PathBuf> {
    c_library_inputs(&bzip2_source_dir(), "bzip2", &bzip2_fetch_manifest())
}

/// Compiles and links `sources` into `target/corpus/<out_name>` with
/// clang-22 (for `wasm32-wasi` when `wasm`, else natively), unless it is
/// newer than `inputs`.
fn build_c_program(
    out_name: &str,
    inputs: &[PathBuf],
    flags: &[String],
    sources: &[PathBuf],
    wasm: bool,
    what: &str,
) -> PathBuf {
    let out = out_dir().join(out_name);
    build_if_stale(&out, inputs, |tmp| {
        let mut cmd = Command::new(super::tools::tool_or_env("clang-22", "CLANG"));
        cmd.current_dir(manifest_dir());
        if wasm {
            cmd.args(C_WASM_FLAGS);
        }
        cmd.args(flags).args(sources).arg("-o").arg(tmp);
        fixtures::run_build(&mut cmd, what);
    });
    out
}

/// zlib + `tests/corpus/zlib/host.c` as a `wasm32-wasi` core module.
pub fn zlib_wasm() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let mut sources = zlib_c_sources();
            sources.push(zlib_host_src());
            build_c_program(
                "zlib.wasm",
                &zlib_inputs(),
                &zlib_flags(),
                &sources,
                true,
                "clang build of zlib for wasm32-wasi",
            )
        })
        .clone()
}

/// zlib + `tests/corpus/zlib/host.c` as a native (x86-64) executable, from
/// the same sources and flags as [`zlib_wasm`].
pub fn zlib_native() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let mut sources = zlib_c_sources();
            sources.push(zlib_host_src());
            build_c_program(
                "zlib-native",
                &zlib_inputs(),
                &zlib_flags(),
                &sources,
                false,
                "native clang build of zlib",
            )
        })
        .clone()
}

/// bzip2 + `tests/corpus/bzip2/host.c` as a `wasm32-wasi` core module.
pub fn bzip2_wasm() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let mut sources = bzip2_c_sources();
            sources.push(bzip2_host_src());
            build_c_program(
                "bzip2.wasm",
                &bzip2_inputs(),
                &bzip2_flags(),
                &sources,
                true,
                "clang build of bzip2 for wasm32-wasi",
            )
        })
        .clone()
}

/// bzip2 + `tests/corpus/bzip2/host.c` as a native (x86-64) executable,
/// from the same sources and flags as [`bzip2_wasm`].
pub fn bzip2_native() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let mut sources = bzip2_c_sources();
            sources.push(bzip2_host_src());
            build_c_program(
                "bzip2-native",
                &bzip2_inputs(),
                &bzip2_flags(),
                &sources,
                false,
                "native clang build of bzip2",
            )
        })
        .clone()
}

// ---------------------------------------------------------------------------
// Building and caching (with fixtures.rs's helpers, in its own output
// directory).

/// The files directly in `dir` and below it.
fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let entries = fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            out.extend(files_in(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// [`fixtures::build_with`], with this file as the one that holds the build flags.
fn build_if_stale(out: &Path, sources: &[PathBuf], build: impl FnOnce(&Path)) {
    let harness = manifest_dir().join(file!().trim_start_matches("./"));
    fixtures::build_with(out, sources, &harness, build);
}
