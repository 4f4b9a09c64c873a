//! The real-program corpus (tests/common/corpus.rs) builds, runs to
//! completion under plain `wasmtime run`, and prints the same non-empty
//! output on wasm as natively (or, for Rust, as a core module and as a
//! component).

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::corpus;
use common::debuggee::run_plain;

const RUN_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs a wasm program without a debugger and returns its stdout.
fn run_wasm(wasm: &Path) -> String {
    let out = run_plain(wasm, &[], RUN_TIMEOUT);
    out.assert_success();
    assert!(
        out.stderr.trim().is_empty(),
        "{} wrote to stderr:\n{out}",
        wasm.display()
    );
    out.stdout
}

/// Runs a native executable directly and returns its stdout.
fn run_native(exe: &Path) -> String {
    let out = Command::new(exe)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", exe.display()));
    assert!(
        out.status.success(),
        "{} failed ({}):\n{}{}",
        exe.display(),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("native stdout is UTF-8")
}

/// Size and function count (of the program's own core module) of a build.
fn describe(name: &str, wasm: &Path) {
    use wasmparser::{Parser, Payload};
    let bytes = common::fixtures::read(wasm);
    let module = common::fixtures::program_module(&bytes);
    let mut imported = 0;
    let mut defined = 0;
    for payload in Parser::new(0).parse_all(&module) {
        match payload.expect("parse wasm") {
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    if matches!(import.expect("import").ty, wasmparser::TypeRef::Func(_)) {
                        imported += 1;
                    }
                }
            }
            Payload::CodeSectionStart { count, .. } => defined = count,
            _ => {}
        }
    }
    eprintln!(
        "{name}: {} ({} bytes, {defined} functions defined, {imported} imported)",
        wasm.display(),
        bytes.len()
    );
}

fn timed<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let value = f();
    eprintln!("{what}: {:.1?}", start.elapsed());
    value
}

#[track_caller]
fn assert_same(name: &str, wasm_out: &str, native_out: &str) {
    assert!(!wasm_out.trim().is_empty(), "{name}: empty output");
    assert_eq!(
        wasm_out, native_out,
        "{name}: wasm and native outputs differ"
    );
    assert_eq!(
        wasm_out
            .lines()
            .filter(|l| l.starts_with("checksum="))
            .count(),
        1,
        "{name}: no checksum line in\n{wasm_out}"
    );
    eprintln!("{name} output:\n{wasm_out}");
}

#[test]
fn lua_builds_and_matches_native() {
    let wasm = timed("lua wasm build", corpus::lua_wasm);
    let native = timed("lua native build", corpus::lua_native);
    assert!(corpus::lua_source_dir().join("ltable.c").is_file());
    describe("lua", &wasm);
    let wasm_out = timed("lua wasm run", || run_wasm(&wasm));
    let native_out = timed("lua native run", || run_native(&native));
    assert_same("lua", &wasm_out, &native_out);
}

#[test]
fn cpp_builds_and_matches_native() {
    let wasm = timed("cpp wasm build", corpus::cpp_wasm);
    let native = timed("cpp native build", corpus::cpp_native);
    describe("cpp", &wasm);
    let wasm_out = timed("cpp wasm run", || run_wasm(&wasm));
    let native_out = timed("cpp native run", || run_native(&native));
    assert_same("cpp", &wasm_out, &native_out);
}

#[test]
fn rust_std_builds_for_p1_and_p2() {
    let p1 = timed("rust-std builds (p1 + p2)", corpus::rust_std_p1);
    let p2 = corpus::rust_std_p2();
    describe("rust_std_p1", &p1);
    describe("rust_std_p2", &p2);
    assert!(
        wasmparser::Parser::is_component(&common::fixtures::read(&p2)),
        "{} is not a component",
        p2.display()
    );
    let p1_out = timed("rust-std p1 run", || run_wasm(&p1));
    let p2_out = timed("rust-std p2 run", || run_wasm(&p2));
    assert_same("rust_std", &p1_out, &p2_out);
}

#[test]
fn zlib_builds_and_matches_native() {
    let wasm = timed("zlib wasm build", corpus::zlib_wasm);
    let native = timed("zlib native build", corpus::zlib_native);
    assert!(corpus::zlib_inflate_src().is_file());
    describe("zlib", &wasm);
    let wasm_out = timed("zlib wasm run", || run_wasm(&wasm));
    let native_out = timed("zlib native run", || run_native(&native));
    assert_same("zlib", &wasm_out, &native_out);
}

#[test]
fn bzip2_builds_and_matches_native() {
    let wasm = timed("bzip2 wasm build", corpus::bzip2_wasm);
    let native = timed("bzip2 native build", corpus::bzip2_native);
    assert!(corpus::bzip2_decompress_src().is_file());
    describe("bzip2", &wasm);
    let wasm_out = timed("bzip2 wasm run", || run_wasm(&wasm));
    let native_out = timed("bzip2 native run", || run_native(&native));
    assert_same("bzip2", &wasm_out, &native_out);
}

#[test]
fn all_wasm_lists_every_program() {
    let all = corpus::all_wasm();
    let names: Vec<&str> = all.iter().map(|(name, _)| *name).collect();
    assert_eq!(
        names,
        ["lua", "cpp", "rust_std_p1", "rust_std_p2", "zlib", "bzip2"]
    );
    for (name, path) in &all {
        assert!(path.is_file(), "{name}: {} missing", path.display());
    }
}
