//! Fixture programs under `tests/fixtures/`: builds them on demand into
//! `target/fixtures/` and maps `MARK:` comments to source lines and, for WAT,
//! to module byte offsets.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};
use std::time::SystemTime;

pub use super::dwarf::{
    code_section_start, data_symbol_address, dwarf_line_starts, dwarf_line_table,
};
use super::manifest_dir;

/// `tests/fixtures/` in the source tree.
pub fn fixtures_dir() -> PathBuf {
    manifest_dir().join("tests").join("fixtures")
}

/// Where built fixtures go (`target/fixtures/`).
pub fn out_dir() -> PathBuf {
    manifest_dir().join("target").join("fixtures")
}

/// A fixture source path; relative paths are taken relative to `tests/fixtures/`.
pub fn src(rel: impl AsRef<Path>) -> PathBuf {
    let rel = rel.as_ref();
    if rel.is_absolute() {
        rel.to_path_buf()
    } else {
        fixtures_dir().join(rel)
    }
}

pub fn c_app_src() -> PathBuf {
    src("c/app.c")
}
pub fn c_trap_div_src() -> PathBuf {
    src("c/trap_div.c")
}
pub fn c_loop_forever_src() -> PathBuf {
    src("c/loop_forever.c")
}
pub fn rust_app_src() -> PathBuf {
    src("rust-app/src/main.rs")
}
pub fn rust_panic_src() -> PathBuf {
    src("rust-app/src/bin/panic.rs")
}
pub fn wat_step_src() -> PathBuf {
    src("wat/step.wat")
}
pub fn wat_unreachable_src() -> PathBuf {
    src("wat/unreachable.wat")
}

/// `tests/fixtures/c/sleep_then_call.c` built as a core module: waits in a host call.
pub fn c_sleep_then_call() -> PathBuf {
    c_fixture("sleep_then_call")
}

/// `tests/fixtures/c/leaf.c` built as a core module: functions without a prologue.
pub fn c_leaf() -> PathBuf {
    c_fixture("leaf")
}

/// `tests/fixtures/c/switch.c` built as a core module: a 120-case `switch` (one long `br_table`).
pub fn c_switch() -> PathBuf {
    c_fixture("switch")
}

/// `tests/fixtures/c/app.c` built as a core module.
pub fn c_app() -> PathBuf {
    c_fixture("app")
}
/// `tests/fixtures/c/trap_div.c`: traps with an integer division by zero.
pub fn c_trap_div() -> PathBuf {
    c_fixture("trap_div")
}
/// `tests/fixtures/c/loop_forever.c`: runs for `argv[1]` seconds (default 60).
pub fn c_loop_forever() -> PathBuf {
    c_fixture("loop_forever")
}

/// `tests/fixtures/c/exit_code.c`: prints a line and calls `exit(3)`.
pub fn c_exit_code() -> PathBuf {
    c_fixture("exit_code")
}

/// `tests/fixtures/c/watch.c`: writes and reads for watchpoint tests.
pub fn c_watch() -> PathBuf {
    c_fixture("watch")
}

/// The Rust app as a wasm32-wasip1 core module.
pub fn rust_p1() -> PathBuf {
    rust_fixtures().app_p1.clone()
}
/// The Rust app as a wasm32-wasip2 component.
pub fn rust_p2() -> PathBuf {
    rust_fixtures().app_p2.clone()
}
/// The panicking Rust binary as a wasm32-wasip1 core module.
pub fn rust_panic_p1() -> PathBuf {
    rust_fixtures().panic_p1.clone()
}
/// The panicking Rust binary as a wasm32-wasip2 component.
pub fn rust_panic_p2() -> PathBuf {
    rust_fixtures().panic_p2.clone()
}

/// `tests/fixtures/wat/step.wat`, with a DWARF line table.
pub fn wat_step() -> PathBuf {
    wat_fixture("step")
}
/// `tests/fixtures/wat/unreachable.wat`, with a DWARF line table.
pub fn wat_unreachable() -> PathBuf {
    wat_fixture("unreachable")
}

/// `tests/fixtures/wat/dead_store.wat`: a store Wasmtime compiles away, beside a live one.
pub fn wat_dead_store() -> PathBuf {
    wat_fixture("dead_store")
}

/// `tests/fixtures/wat/throw.wat`: throws a Wasm exception its caller catches.
pub fn wat_throw() -> PathBuf {
    wat_fixture("throw")
}

/// The 1-based line of `source` whose trailing comment is `MARK: <mark>`.
/// Panics unless exactly one such line exists.
pub fn line_of(source: impl AsRef<Path>, mark: &str) -> u32 {
    let path = src(source);
    let hits: Vec<u32> = marks(&path)
        .into_iter()
        .filter(|(name, _)| name == mark)
        .map(|(_, line)| line)
        .collect();
    match hits.as_slice() {
        [line] => *line,
        [] => panic!("no `MARK: {mark}` in {}", path.display()),
        many => panic!(
            "`MARK: {mark}` appears on several lines of {}: {many:?}",
            path.display()
        ),
    }
}

/// Every `(mark, line)` in `source`, in file order.
pub fn marks(source: impl AsRef<Path>) -> Vec<(String, u32)> {
    let path = src(source);
    let text = fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read fixture source {}: {e}", path.display()));
    let mut out = Vec::new();
    for (idx, line) in text.lines().enumerate() {
        // The marker must be the last thing on the line so that prose that
        // merely mentions "MARK:" (like this harness) is not picked up.
        let Some(pos) = line.rfind("MARK:") else {
            continue;
        };
        let before = line[..pos].trim_end();
        if !(before.ends_with("//") || before.ends_with(";;")) {
            continue;
        }
        let name = line[pos + "MARK:".len()..].trim();
        if !name.is_empty() && !name.contains(char::is_whitespace) {
            out.push((name.to_string(), idx as u32 + 1));
        }
    }
    out
}

/// Module-relative byte offset of the instruction on the line of `wat_path`
/// marked `mark` (the instruction must be alone on its line).
pub fn wat_offset_of(wat_path: impl AsRef<Path>, mark: &str) -> u32 {
    let path = src(wat_path);
    let line = line_of(&path, mark);
    let table = wat_line_table(&path);
    table
        .get(&line)
        .copied()
        .unwrap_or_else(|| panic!("no code at {}:{line} (`MARK: {mark}`)", path.display()))
}

/// Line → lowest module-relative code offset, from compiling `wat_path` with a
/// DWARF line table.
pub fn wat_line_table(wat_path: impl AsRef<Path>) -> HashMap<u32, u32> {
    let path = src(wat_path);
    let table = dwarf_line_table(&compile_wat(&path), None);
    assert!(
        !table.is_empty(),
        "{} produced no DWARF line rows",
        path.display()
    );
    table
}

/// Compiles WAT with a DWARF line table whose addresses follow the LLVM/LLDB
/// convention (see [`shift_wast_dwarf`]).
pub fn compile_wat(path: &Path) -> Vec<u8> {
    let wasm = wat::Parser::new()
        .generate_dwarf(wat::GenerateDwarf::Lines)
        .parse_file(path)
        .unwrap_or_else(|e| panic!("cannot compile {}: {e}", path.display()));
    shift_wast_dwarf(&wasm)
}

/// `wast` (1.263) counts DWARF code addresses from just after the Code
/// section's function-count LEB, while LLVM, LLDB and Wasmtime count from
/// the start of the section's contents, i.e. before that LEB. Left alone, a
/// line breakpoint in a WAT fixture would land a byte early, inside the
/// previous instruction. Rewrites the `.debug_*` sections with every address
/// moved up by the LEB's length.
pub fn shift_wast_dwarf(wasm: &[u8]) -> Vec<u8> {
    let mut out = wasm[..8].to_vec();
    let mut debug: HashMap<String, Vec<u8>> = HashMap::new();
    let mut shift = 0u64;
    let mut pos = 8;
    while pos < wasm.len() {
        let id = wasm[pos];
        let (size, size_len) = read_leb(&wasm[pos + 1..]);
        let body = pos + 1 + size_len..pos + 1 + size_len + size as usize;
        let contents = &wasm[body.clone()];
        match id {
            0 => {
                let (name_len, n) = read_leb(contents);
                let name = std::str::from_utf8(&contents[n..n + name_len as usize]).unwrap_or("");
                if name.starts_with(".debug_") {
                    debug.insert(name.to_string(), contents[n + name_len as usize..].to_vec());
                    pos = body.end;
                    continue;
                }
            }
            10 => shift = read_leb(contents).1 as u64,
            _ => {}
        }
        out.extend_from_slice(&wasm[pos..body.end]);
        pos = body.end;
    }
    if debug.is_empty() || shift == 0 {
        return wasm.to_vec();
    }

    let read = gimli::Dwarf::load(|id| -> Result<_, gimli::Error> {
        let data = debug.get(id.name()).map(|d| &d[..]).unwrap_or(&[]);
        Ok(gimli::EndianSlice::new(data, gimli::LittleEndian))
    })
    .expect("load wast DWARF");
    let mut converted = gimli::write::Dwarf::from(&read, &|addr| {
        Some(gimli::write::Address::Constant(addr + shift))
    })
    .expect("convert wast DWARF");
    // The compile unit's low_pc is plain data (0), so it was not converted;
    // widen its length instead so the unit still covers the last function.
    let ids: Vec<_> = converted.units.iter().map(|(id, _)| id).collect();
    for id in ids {
        let unit = converted.units.get_mut(id);
        let root = unit.root();
        let entry = unit.get_mut(root);
        let low_is_data = !matches!(
            entry.get(gimli::DW_AT_low_pc),
            Some(gimli::write::AttributeValue::Address(_))
        );
        match (low_is_data, entry.get_mut(gimli::DW_AT_high_pc)) {
            (true, Some(gimli::write::AttributeValue::Udata(len))) => *len += shift,
            (true, Some(gimli::write::AttributeValue::Data4(len))) => *len += shift as u32,
            _ => {}
        }
    }
    let mut sections =
        gimli::write::Sections::new(gimli::write::EndianVec::new(gimli::LittleEndian));
    converted.write(&mut sections).expect("write DWARF");
    sections
        .for_each(|id, data| -> Result<(), ()> {
            let bytes = data.slice();
            if !bytes.is_empty() {
                let name = id.name();
                let mut payload = Vec::new();
                write_leb(&mut payload, name.len() as u64);
                payload.extend_from_slice(name.as_bytes());
                payload.extend_from_slice(bytes);
                out.push(0);
                write_leb(&mut out, payload.len() as u64);
                out.extend_from_slice(&payload);
            }
            Ok(())
        })
        .expect("emit DWARF sections");
    out
}

fn read_leb(bytes: &[u8]) -> (u64, usize) {
    let mut value = 0u64;
    for (i, b) in bytes.iter().enumerate() {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return (value, i + 1);
        }
    }
    panic!("truncated LEB128 in wasm module");
}

fn write_leb(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

// ---------------------------------------------------------------------------
// Building and caching.

fn c_fixture(name: &'static str) -> PathBuf {
    static BUILT: OnceLock<Mutex<HashMap<&'static str, PathBuf>>> = OnceLock::new();
    let map = BUILT.get_or_init(Default::default);
    let mut map = map.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(path) = map.get(name) {
        return path.clone();
    }
    let source = src(format!("c/{name}.c"));
    let out = out_dir().join(format!("{name}.wasm"));
    build_if_stale(&out, std::slice::from_ref(&source), |tmp| {
        let clang = super::tools::tool_or_env("clang-22", "CLANG");
        // Debian's wasi-libc is laid out for the `wasm32-wasi` triple; newer
        // clang warns that the triple is deprecated, which is just noise here.
        let mut cmd = Command::new(clang);
        cmd.args(["--target=wasm32-wasi", "-Wno-deprecated", "-g", "-O0"])
            .arg(&source)
            .arg("-o")
            .arg(tmp);
        run_build(&mut cmd, &format!("clang build of {}", source.display()));
    });
    map.insert(name, out.clone());
    out
}

/// `tests/fixtures/c/NAME.c` built for x86-64 with the flags of its Wasm build: what native
/// LLDB debugs to show what the same session should show on Wasm.
pub fn c_native(name: &str) -> PathBuf {
    let source = src(format!("c/{name}.c"));
    let out = out_dir().join(format!("{name}-x86_64"));
    build_if_stale(&out, std::slice::from_ref(&source), |tmp| {
        let mut cmd = Command::new(super::tools::tool_or_env("clang-22", "CLANG"));
        cmd.args(["-g", "-O0"]).arg(&source).arg("-o").arg(tmp);
        run_build(
            &mut cmd,
            &format!("native clang build of {}", source.display()),
        );
    });
    out
}

fn wat_fixture(name: &'static str) -> PathBuf {
    static BUILT: OnceLock<Mutex<HashMap<&'static str, PathBuf>>> = OnceLock::new();
    let map = BUILT.get_or_init(Default::default);
    let mut map = map.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(path) = map.get(name) {
        return path.clone();
    }
    let source = src(format!("wat/{name}.wat"));
    let out = out_dir().join(format!("{name}.wasm"));
    build_if_stale(&out, std::slice::from_ref(&source), |tmp| {
        let bytes = compile_wat(&source);
        fs::write(tmp, bytes).unwrap_or_else(|e| panic!("write {}: {e}", tmp.display()));
    });
    map.insert(name, out.clone());
    out
}

struct RustFixtures {
    app_p1: PathBuf,
    app_p2: PathBuf,
    panic_p1: PathBuf,
    panic_p2: PathBuf,
}

fn rust_fixtures() -> &'static RustFixtures {
    static BUILT: OnceLock<RustFixtures> = OnceLock::new();
    BUILT.get_or_init(|| {
        let project = src("rust-app");
        let mut sources = vec![project.join("Cargo.toml"), project.join("Cargo.lock")];
        collect_files(&project.join("src"), &mut sources);
        let target_dir = out_dir().join("rust-app-target");
        let mut outputs = Vec::new();
        for target in ["wasm32-wasip1", "wasm32-wasip2"] {
            let short = &target["wasm32-wasi".len()..];
            for bin in ["rust-app", "panic"] {
                let built = target_dir
                    .join(target)
                    .join("debug")
                    .join(format!("{bin}.wasm"));
                outputs.push((out_dir().join(format!("{bin}-{short}.wasm")), built));
            }
        }
        // One stamp for the whole project: cargo builds every binary at once.
        let stamp = out_dir().join("rust-app.stamp");
        if outputs.iter().any(|(dest, _)| !dest.exists()) {
            let _ = fs::remove_file(&stamp);
        }
        build_if_stale(&stamp, &sources, |tmp| {
            for target in ["wasm32-wasip1", "wasm32-wasip2"] {
                let mut cmd = cargo_command();
                cmd.current_dir(&project)
                    .args([
                        "build",
                        "--locked",
                        "--offline",
                        "--bins",
                        "--target",
                        target,
                    ])
                    .arg("--target-dir")
                    .arg(&target_dir)
                    .arg("--manifest-path")
                    .arg(project.join("Cargo.toml"));
                run_build(&mut cmd, &format!("cargo build of rust-app for {target}"));
            }
            for (dest, built) in &outputs {
                copy_atomically(built, dest);
            }
            fs::write(tmp, b"built\n").expect("write stamp");
        });
        let pick = |i: usize| {
            let path = outputs[i].0.clone();
            assert!(path.exists(), "{} missing after build", path.display());
            path
        };
        RustFixtures {
            app_p1: pick(0),
            panic_p1: pick(1),
            app_p2: pick(2),
            panic_p2: pick(3),
        }
    })
}

pub fn cargo_command() -> Command {
    // The rustup proxy on PATH honours rust-toolchain.toml (which lists the
    // wasm targets); fall back to the cargo running the tests.
    let mut cmd = Command::new(super::tools::tool("cargo"));
    // Settings aimed at the outer (host) build must not leak into the wasm one.
    for var in [
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_BUILD_TARGET_DIR",
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_MAKEFLAGS",
        "MAKEFLAGS",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            collect_files(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// Runs a build step, returning its stdout; panics with its output on failure.
pub fn run_build(cmd: &mut Command, what: &str) -> Vec<u8> {
    let output = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot start {cmd:?}: {e}"));
    if !output.status.success() {
        panic!(
            "{what} failed ({}):\n{cmd:?}\n--- stdout\n{}\n--- stderr\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    output.stdout
}

fn mtime(path: &Path) -> Option<SystemTime> {
    fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Rebuilds `out` when it is missing or older than any of `sources` (or this
/// harness file, whose build flags may have changed). See [`build_with`].
fn build_if_stale(out: &Path, sources: &[PathBuf], build: impl FnOnce(&Path)) {
    let harness = manifest_dir().join(file!().trim_start_matches("./"));
    build_with(out, sources, &harness, build);
}

/// Rebuilds `out` when it is missing or older than any of `sources` or
/// `harness` (the file that holds the build flags). `build` writes to a
/// temporary path with the output's file name (wasm-ld records it as the
/// module name, which backtraces and LLDB show) that is renamed into place,
/// so an interrupted build never leaves a fresh-looking output behind. A lock
/// file in the output's directory serialises builds across threads and test
/// processes.
pub fn build_with(out: &Path, sources: &[PathBuf], harness: &Path, build: impl FnOnce(&Path)) {
    let dir = out.parent().expect("an output file in a directory");
    fs::create_dir_all(dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
    let lock = File::create(dir.join(".build.lock")).expect("create the build lock file");
    lock.lock().expect("lock the build lock file");

    let newest_source = sources
        .iter()
        .map(PathBuf::as_path)
        .chain(harness.exists().then_some(harness))
        .map(|s| mtime(s).unwrap_or_else(|| panic!("build input {} missing", s.display())))
        .max();
    let fresh = match (mtime(out), newest_source) {
        (Some(built), Some(newest)) => built >= newest,
        (Some(_), None) => true,
        (None, _) => false,
    };
    if !fresh {
        let tmp_dir = dir.join(format!(".tmp-{}", std::process::id()));
        fs::create_dir_all(&tmp_dir).expect("create the build's temp dir");
        let tmp = tmp_dir.join(out.file_name().expect("output file name"));
        build(&tmp);
        fs::rename(&tmp, out)
            .unwrap_or_else(|e| panic!("rename {} -> {}: {e}", tmp.display(), out.display()));
        let _ = fs::remove_dir(&tmp_dir);
    }
    drop(lock);
}

pub fn copy_atomically(from: &Path, to: &Path) {
    let tmp = to.with_extension(format!("tmp{}", std::process::id()));
    fs::copy(from, &tmp)
        .unwrap_or_else(|e| panic!("copy {} -> {}: {e}", from.display(), tmp.display()));
    fs::rename(&tmp, to).unwrap_or_else(|e: io::Error| panic!("rename to {}: {e}", to.display()));
}

/// Reads a built module; a small convenience for tests that inspect fixtures.
pub fn read(path: impl AsRef<Path>) -> Vec<u8> {
    let path = path.as_ref();
    fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// The core module of a component that carries DWARF (the program's own module); a core module
/// is returned as it is.
pub fn program_module(wasm: &[u8]) -> Vec<u8> {
    use wasmparser::{Parser, Payload};
    if !Parser::is_component(wasm) {
        return wasm.to_vec();
    }
    for payload in Parser::new(0).parse_all(wasm) {
        if let Ok(Payload::ModuleSection {
            unchecked_range, ..
        }) = payload
        {
            let module = &wasm[unchecked_range.start as usize..unchecked_range.end as usize];
            let has_dwarf = Parser::new(0)
                .parse_all(module)
                .any(|p| matches!(p, Ok(Payload::CustomSection(c)) if c.name() == ".debug_info"));
            if has_dwarf {
                return module.to_vec();
            }
        }
    }
    panic!("no core module with DWARF in the component")
}

/// `tests/fixtures/http-handler/`: a wasi:http handler (wstd's `#[wstd::http_server]`) built as
/// a wasm32-wasip2 component with debug info; `GET /fib/N` answers with the N-th Fibonacci number.
pub fn http_handler() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let project = src("http-handler");
            let mut sources = vec![project.join("Cargo.toml"), project.join("Cargo.lock")];
            collect_files(&project.join("src"), &mut sources);
            let target_dir = out_dir().join("http-handler-target");
            let out = out_dir().join("http-handler.wasm");
            build_if_stale(&out, &sources, |tmp| {
                let mut cmd = cargo_command();
                cmd.current_dir(&project)
                    .args([
                        "build",
                        "--locked",
                        "--offline",
                        "--target",
                        "wasm32-wasip2",
                    ])
                    .arg("--target-dir")
                    .arg(&target_dir)
                    .arg("--manifest-path")
                    .arg(project.join("Cargo.toml"));
                run_build(&mut cmd, "cargo build of http-handler for wasm32-wasip2");
                let built = target_dir
                    .join("wasm32-wasip2")
                    .join("debug")
                    .join("http-handler.wasm");
                fs::copy(&built, tmp).unwrap_or_else(|e| {
                    panic!("copy {} -> {}: {e}", built.display(), tmp.display())
                });
            });
            out
        })
        .clone()
}
