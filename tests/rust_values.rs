//! Rust values as a user reads them. `lldb/wasm_gdbstub.py` loads the user's own toolchain
//! formatters (what rust-lldb loads: `<sysroot>/lib/rustlib/etc/lldb_lookup.py` and
//! `lldb_commands`) once LLDB knows the program is Rust, so String, &str, Vec, slices, Option,
//! Result, enums, HashMap, Box and Rc print like native instead of as raw structs
//! (`vec.buf.inner…`, `$variants$`, `base.table.ctrl…`). Checked through `wasm-remote` on
//! `tests/fixtures/rust-app/src/bin/values.rs` as a wasm32-wasip1 module and a wasm32-wasip2
//! component, through LLDB's `run` (the launcher), and without a toolchain (the one-line hint).
//! Runs in LLDB 22 and, with `WASM_GDBSTUB_LLDB=23`, LLDB 23.

mod common;

use common::fixtures;
use common::lldb::{self, LldbRun, expect_in, section};
use common::tools::find_on_path;
use common::{Debuggee, line_of, manifest_dir};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

const SOURCE: &str = "rust-app/src/bin/values.rs";

/// `values.rs` built for `target` (`wasm32-wasip1` or `wasm32-wasip2`). The rust-app fixture
/// project builds all its binaries at once (`cargo build --bins`); this one stays in its
/// target directory.
fn values_wasm(target: &str) -> PathBuf {
    // Builds (or finds up to date) every binary of the project, both targets.
    fixtures::rust_p1();
    let path = fixtures::out_dir()
        .join("rust-app-target")
        .join(target)
        .join("debug")
        .join("values.wasm");
    assert!(
        path.is_file(),
        "{} missing after building the rust-app fixture",
        path.display()
    );
    path
}

/// The sysroot the script should find: `rustc --print sysroot`, run where LLDB runs.
fn sysroot() -> String {
    static SYSROOT: OnceLock<String> = OnceLock::new();
    SYSROOT
        .get_or_init(|| {
            let rustc = find_on_path("rustc").expect("rustc (rustup) on PATH");
            let out = Command::new(rustc)
                .args(["--print", "sysroot"])
                .current_dir(manifest_dir())
                .output()
                .expect("run rustc --print sysroot");
            assert!(out.status.success(), "{out:?}");
            String::from_utf8_lossy(&out.stdout).trim().to_string()
        })
        .clone()
}

fn import_line() -> String {
    format!(
        "command script import {}",
        manifest_dir().join("lldb/wasm_gdbstub.py").display()
    )
}

/// `lldb -b` with `-O before`, `-o commands` and optionally a target file, with `env` set and
/// `remove` unset; `RUSTC` is always unset, so a test decides where the toolchain is found.
fn lldb_session(
    wasm: Option<&Path>,
    before: &[String],
    commands: &[String],
    env: &[(&str, OsString)],
    remove: &[&str],
) -> LldbRun {
    let remove: Vec<&str> = std::iter::once("RUSTC")
        .chain(remove.iter().copied())
        .collect();
    lldb::launch_session(wasm, before, commands, env, &remove)
}

fn sections(run: &LldbRun) -> Vec<String> {
    lldb::sections(&run.output())
}

/// The variables and what a user reads for each (as native rust-lldb shows them).
const EXPECTED: &[(&str, &[&str])] = &[
    ("name", &["(alloc::string::String) name = \"Ada Lovelace\""]),
    ("greeting", &["(&str) greeting = \"hello wasm\""]),
    (
        "numbers",
        &["numbers = size=3", "[0] = 10", "[1] = 20", "[2] = 30"],
    ),
    (
        "slice",
        &["(&[u32]) slice = size=2", "[0] = 20", "[1] = 30"],
    ),
    ("some_text", &["some_text = Some(\"fragile\")"]),
    ("no_text", &["no_text = None"]),
    ("ok", &["ok = Ok(42)"]),
    ("err", &["err = Err(\"not a number: x7\")"]),
    ("circle", &["circle = Circle{radius:5}"]),
    ("rect", &["rect = Rect(3, 4)"]),
    (
        "ages",
        &["ages = size=2", "(\"ada\", 36)", "(\"alan\", 41)"],
    ),
    ("*boxed", &["*boxed = 99"]),
    (
        "shared",
        &["shared = strong=2, weak=0", "value = \"shared text\""],
    ),
];

/// What raw structs look like: none of it may show once the formatters are loaded.
const RAW: &[&str] = &["vec = ", "buf = ", "$variants$", "base = ", "ctrl = "];

/// Commands that print every variable of `EXPECTED` one level deep.
fn print_commands() -> Vec<String> {
    EXPECTED
        .iter()
        .map(|(var, _)| format!("frame variable -D 1 -P 0 -- {var}"))
        .collect()
}

#[track_caller]
fn assert_values(s: &[String], run: &LldbRun) {
    for (var, needles) in EXPECTED {
        let command = format!("frame variable -D 1 -P 0 -- {var}");
        for needle in *needles {
            expect_in(s, &command, needle, run);
        }
        let chunk = section(s, &command, run);
        for raw in RAW {
            assert!(
                !chunk.contains(raw),
                "`{command}` prints a raw struct ({raw:?}):\n{chunk}\n--- whole session ---\n{}",
                run.transcript()
            );
        }
    }
}

fn loaded_line() -> String {
    format!("wasm-gdbstub: loaded Rust formatters from {}", sysroot())
}

/// `wasm-remote` to a wasip1 module and a wasip2 component: the connect loads the formatters
/// (one line), a second import changes nothing, and every value prints as a user reads it.
#[test]
fn wasm_remote_prints_rust_values_like_native() {
    let line = line_of(SOURCE, "values_ready");
    for target in ["wasm32-wasip1", "wasm32-wasip2"] {
        let wasm = values_wasm(target);
        let mut debuggee = Debuggee::spawn(&wasm, &[], &[]);
        let mut commands = vec![
            import_line(),
            format!("wasm-remote {}", debuggee.addr().port()),
            format!("breakpoint set --file values.rs --line {line}"),
            "continue".to_string(),
        ];
        commands.extend(print_commands());
        commands.push("process kill".into());
        // Imported twice (e.g. ~/.lldbinit and the command line): still one hook, one load.
        let run = lldb_session(None, &[import_line()], &commands, &[], &[]);
        let s = sections(&run);
        expect_in(&s, "wasm-remote", "stop reason", &run);
        expect_in(&s, "wasm-remote", &loaded_line(), &run);
        assert_eq!(
            run.output()
                .matches("wasm-gdbstub: loaded Rust formatters")
                .count(),
            1,
            "{target}: the formatters are loaded once\n{}",
            run.transcript()
        );
        expect_in(&s, "continue", "stop reason = breakpoint 1.1", &run);
        assert_values(&s, &run);
        debuggee.kill();
    }
}

/// LLDB starts the program (`lldb app.wasm`, `run`, through the launcher): the formatters are
/// loaded at the first stop, before the user looks at a variable.
#[test]
fn lldb_run_prints_rust_values_like_native() {
    let wasm = values_wasm("wasm32-wasip1");
    let line = line_of(SOURCE, "values_ready");
    let mut commands = vec![
        format!("breakpoint set --file values.rs --line {line}"),
        "run".to_string(),
    ];
    commands.extend(print_commands());
    commands.push("process kill".into());
    let run = lldb_session(Some(&wasm), &[import_line()], &commands, &[], &[]);
    let s = sections(&run);
    expect_in(&s, "run", "stop reason = breakpoint 1.1", &run);
    expect_in(&s, "run", &loaded_line(), &run);
    assert_values(&s, &run);
}

/// Without a Rust toolchain in sight (no `rustc` on PATH or in `$CARGO_HOME/bin`), one line says
/// what to install, and the session goes on with raw structs; `$RUSTC` naming a missing
/// compiler gives the same line. A C program gets neither line.
#[test]
fn without_a_toolchain_one_line_says_what_to_install() {
    let wasm = values_wasm("wasm32-wasip1");
    let hint = "wasm-gdbstub: this is a Rust program, but no Rust toolchain was found";
    let envs: [Vec<(&str, OsString)>; 2] = [
        vec![
            ("PATH", "/usr/bin:/bin".into()),
            ("CARGO_HOME", "/nonexistent".into()),
        ],
        vec![("RUSTC", "/nonexistent/rustc".into())],
    ];
    for env in envs {
        let mut debuggee = Debuggee::spawn(&wasm, &[], &[]);
        let commands = vec![
            format!("wasm-remote {}", debuggee.addr().port()),
            format!(
                "breakpoint set --file values.rs --line {}",
                line_of(SOURCE, "values_ready")
            ),
            "continue".to_string(),
            "frame variable -D 1 -- name".to_string(),
            "process kill".into(),
        ];
        let run = lldb_session(None, &[import_line()], &commands, &env, &[]);
        let s = sections(&run);
        expect_in(&s, "wasm-remote", hint, &run);
        expect_in(&s, "wasm-remote", "rustup", &run);
        assert_eq!(
            run.output().matches(hint).count(),
            1,
            "{env:?}: one line\n{}",
            run.transcript()
        );
        run.assert_not_contains("loaded Rust formatters");
        // Still a working session, with the raw struct.
        expect_in(&s, "frame variable -D 1 -- name", "vec = ", &run);
        debuggee.kill();
    }

    let c = fixtures::c_app();
    let mut debuggee = Debuggee::spawn(&c, &[], &[]);
    let commands = vec![
        format!("wasm-remote {}", debuggee.addr().port()),
        "breakpoint set --name add".to_string(),
        "continue".to_string(),
        "process kill".into(),
    ];
    let run = lldb_session(None, &[import_line()], &commands, &[], &[]);
    run.assert_contains("stop reason = breakpoint 1.1")
        .assert_not_contains("Rust");
    debuggee.kill();
}
