//! The ways users start a session, each driven end to end with real Wasmtime and LLDB 22:
//! `wasmtime run -g` of a wasmtime-cli 48.0.8 built with this repository's artifact/ crate
//! (scripts/build-wasmtime-gdbstub.sh), LLDB starting the program itself (`lldb app.wasm`,
//! `run`, through lldb/wasm_gdbstub.py and lldb/wasmtime-launch) with every breakpoint at ONE
//! location, the `wasm-remote PORT` short form, and the stub's `--program` option that makes
//! LLDB match the running module with its target.

mod common;

use common::debuggee::{Captured, find_listen_addr};
use common::fixtures;
use common::lldb::{self, Batch, LldbRun, expect_in, section};
use common::{Debuggee, component_path, line_of, manifest_dir, wasmtime_path};
use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

fn lldb_dir() -> PathBuf {
    manifest_dir().join("lldb")
}

/// The one line users type to set LLDB up.
fn import_line() -> String {
    format!(
        "command script import {}",
        lldb_dir().join("wasm_gdbstub.py").display()
    )
}

fn c_line(mark: &str) -> u32 {
    line_of(fixtures::c_app_src(), mark)
}

fn rust_line(mark: &str) -> u32 {
    line_of(fixtures::rust_app_src(), mark)
}

fn sections(run: &LldbRun) -> Vec<String> {
    lldb::sections(&run.output())
}

/// `image list` rows: one per module LLDB knows.
fn image_rows(sections: &[String], run: &LldbRun) -> Vec<String> {
    section(sections, "image list", run)
        .lines()
        .filter(|l| l.trim_start().starts_with('['))
        .map(str::to_string)
        .collect()
}

/// `lldb -b` with `-O before`, `-o commands` on `wasm`, with `env` added (see
/// `lldb::launch_session`).
fn lldb_session(
    wasm: Option<&Path>,
    before: &[String],
    commands: &[String],
    env: &[(&str, OsString)],
) -> LldbRun {
    lldb::launch_session(wasm, before, commands, env, &[])
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// The program under `<gdbstub wasmtime> run -g 127.0.0.1:0`, once the stub listens.
struct Builtin {
    proc: Captured,
    addr: SocketAddr,
}

impl Builtin {
    fn spawn(wasm: &Path, extra: &[&str]) -> Self {
        let mut cmd = Command::new(common::builtin_wasmtime());
        cmd.args(["run", "-g", "127.0.0.1:0"]).args(extra).arg(wasm);
        let mut proc = Captured::spawn(&mut cmd).expect("start the gdbstub wasmtime");
        let seen = proc.wait_for(Duration::from_secs(30), |_, err| {
            find_listen_addr(err).is_some()
        });
        assert!(
            seen,
            "`wasmtime run -g` never listened\n{}",
            proc.transcript()
        );
        let addr = find_listen_addr(proc.stderr().as_bytes()).unwrap();
        Builtin { proc, addr }
    }
}

/// A whole LLDB session against `wasmtime run -g`: the component inside the CLI serves
/// breakpoints, the stack, locals of two frames and the program's exit.
fn builtin_session(wasm: &Path, file: &str, line: impl Fn(&str) -> u32) {
    let mut program = Builtin::spawn(wasm, &[]);
    let commands = [
        "breakpoint set --name fact".to_string(),
        "continue".into(),
        "continue".into(),
        "bt".into(),
        "frame variable n".into(),
        "breakpoint delete --force".into(),
        format!("breakpoint set --file {file} --line {}", line("loop_body")),
        "continue".into(),
        "frame variable i".into(),
        "breakpoint delete --force".into(),
        "continue".into(),
    ];
    let refs: Vec<&str> = commands.iter().map(String::as_str).collect();
    let run = Batch::new(program.addr).commands(&refs).run();
    let s = sections(&run);
    assert!(
        program.proc.stderr().contains("wasm-gdbstub listening on"),
        "{}",
        program.proc.transcript()
    );
    expect_in(&s, "process connect", "stop reason", &run);
    let second_fact = &s[3];
    assert!(
        second_fact.contains("stop reason = breakpoint 1.1"),
        "{}",
        run.transcript()
    );
    expect_in(&s, "bt", &format!("{file}:{}", line("fact_recurse")), &run);
    expect_in(
        &s,
        "bt",
        &format!("{file}:{}", line("main_call_fact")),
        &run,
    );
    expect_in(&s, "frame variable n", "n = 5", &run);
    expect_in(&s, "frame variable i", "i = 0", &run);
    assert!(
        s.last().unwrap().contains("exited with status = 0"),
        "{}",
        run.transcript()
    );
    let out = program
        .proc
        .wait_timeout(Duration::from_secs(60))
        .expect("wasmtime exits");
    out.assert_success()
        .assert_stdout_contains("fact(6)=720")
        .assert_stdout_contains("total=20");
}

#[test]
fn builtin_gdbstub_serves_a_c_core_module() {
    builtin_session(&fixtures::c_app(), "app.c", c_line);
}

#[test]
fn builtin_gdbstub_serves_a_rust_wasip2_component() {
    builtin_session(&fixtures::rust_p2(), "main.rs", rust_line);
}

/// `wasmtime run -g` hands the stub its address after any `-D arg=` values; options given that
/// way still reach the stub, and the `-g` address wins over the stub's default.
#[test]
fn builtin_gdbstub_takes_extra_stub_arguments() {
    let wasm = fixtures::c_app();
    let program_arg = format!("arg=--program={}", wasm.display());
    let program = Builtin::spawn(&wasm, &["-D", &program_arg]);
    let run = Batch::new(program.addr)
        .before_connect(&[&format!("target create {}", wasm.display())])
        .commands(&[
            &format!("breakpoint set --file app.c --line {}", c_line("add_entry")),
            "continue",
            "image list",
            "breakpoint list",
            "process kill",
        ])
        .run();
    let s = sections(&run);
    expect_in(&s, "continue", "stop reason = breakpoint 1.1", &run);
    assert_eq!(
        image_rows(&s, &run).len(),
        1,
        "one module expected\n{}",
        run.transcript()
    );
    expect_in(&s, "breakpoint list", "locations = 1", &run);
}

/// What LLDB's launch sees: `lldb app.wasm`, the set-up line, a breakpoint, `run`.
struct Launch<'a> {
    wasm: &'a Path,
    launch_args: String,
    wasmtime: Option<PathBuf>,
}

impl<'a> Launch<'a> {
    fn new(wasm: &'a Path) -> Self {
        Launch {
            wasm,
            launch_args: String::new(),
            wasmtime: Some(wasmtime_path()),
        }
    }

    fn run(&self, commands: &[String]) -> LldbRun {
        let mut env = vec![("WASM_GDBSTUB_COMPONENT", component_path().into_os_string())];
        if let Some(wasmtime) = &self.wasmtime {
            env.push(("WASMTIME", wasmtime.clone().into_os_string()));
        }
        if !self.launch_args.is_empty() {
            env.push(("WASM_GDBSTUB_LAUNCH_ARGS", self.launch_args.clone().into()));
        }
        lldb_session(Some(self.wasm), &[import_line()], commands, &env)
    }
}

/// `run` starts Wasmtime through the launcher and stops at a source-line breakpoint that has a
/// single location, because the stub reports the module under the path LLDB launched and LLDB
/// takes it for its target instead of loading a second copy.
fn launch_session(launch: Launch, file: &str, line: impl Fn(&str) -> u32) {
    let commands = vec![
        format!("breakpoint set --file {file} --line {}", line("add_entry")),
        "run".into(),
        "image list".into(),
        "breakpoint list".into(),
        "bt".into(),
        "frame variable a b".into(),
        "continue".into(),
        "frame variable a".into(),
        "breakpoint delete --force".into(),
        "continue".into(),
    ];
    let run = launch.run(&commands);
    let s = sections(&run);
    expect_in(&s, "run", "stop reason = breakpoint 1.1", &run);
    let images = image_rows(&s, &run);
    assert_eq!(
        images.len(),
        1,
        "LLDB should know the program once: {images:?}\n{}",
        run.transcript()
    );
    assert!(
        images[0].contains(&launch.wasm.display().to_string()),
        "{}",
        run.transcript()
    );
    expect_in(&s, "breakpoint list", "locations = 1, resolved = 1", &run);
    expect_in(&s, "bt", "main", &run);
    expect_in(&s, "frame variable a b", "a = 0", &run);
    expect_in(&s, "frame variable a\n", "a = 1", &run);
    let last = s.last().unwrap();
    assert!(
        last.contains("exited with status = 0"),
        "{}",
        run.transcript()
    );
    // The program's output reaches LLDB's console through the launch's terminal.
    run.assert_contains("total=20");
}

#[test]
fn lldb_launches_a_c_program_with_one_breakpoint_location() {
    launch_session(Launch::new(&fixtures::c_app()), "app.c", c_line);
}

#[test]
fn lldb_launches_a_rust_wasip1_program_with_one_breakpoint_location() {
    launch_session(Launch::new(&fixtures::rust_p1()), "main.rs", rust_line);
}

/// The same launch through `wasmtime run -g` of the CLI with the built-in component.
#[test]
fn lldb_launches_through_the_builtin_gdbstub() {
    let wasm = fixtures::rust_p1();
    let launch = Launch {
        wasm: &wasm,
        launch_args: format!(
            "--builtin --wasmtime={}",
            common::builtin_wasmtime().display()
        ),
        wasmtime: None,
    };
    launch_session(launch, "main.rs", rust_line);
}

/// What LLDB 22 matches on, shown with LLDB's own platform settings and no launcher: the stub
/// then names the Rust module after its name section (`rust_app-<hash>.wasm`), which is not the
/// target's file name, so LLDB loads the stub's copy as a second module and the breakpoint gets a
/// location in each. The launcher's `--program` (tested above) is the difference.
#[test]
fn without_the_program_path_lldb_loads_a_second_copy() {
    let wasm = fixtures::rust_p1();
    let commands = vec![
        format!(
            "settings set platform.plugin.wasm.runtime-path {}",
            wasmtime_path().display()
        ),
        "settings set -- platform.plugin.wasm.port-arg -Darg=127.0.0.1:".into(),
        format!(
            "settings set -- platform.plugin.wasm.runtime-args -Ddebugger={}",
            component_path().display()
        ),
        format!(
            "breakpoint set --file main.rs --line {}",
            rust_line("add_entry")
        ),
        "run".into(),
        "image list".into(),
        "breakpoint list".into(),
        "process kill".into(),
    ];
    let run = lldb_session(Some(&wasm), &[], &commands, &[]);
    let s = sections(&run);
    expect_in(&s, "run", "stop reason = breakpoint 1.", &run);
    let images = image_rows(&s, &run);
    assert_eq!(
        images.len(),
        2,
        "expected the file and the stub's copy: {images:?}\n{}",
        run.transcript()
    );
    assert!(images[1].contains("rust_app-"), "{}", run.transcript());
    expect_in(&s, "breakpoint list", "locations = 2", &run);
}

/// Attaching to a program started by hand: with `-D arg=--program=PATH` the stub's module is the
/// target LLDB was given; without it, LLDB takes a library name it cannot find among its
/// modules as a path relative to its working directory, so a same-named stale file there would
/// be loaded instead of the running module. The launcher avoids both by passing an absolute path.
#[test]
fn program_option_makes_an_attach_match_the_target() {
    let wasm = fixtures::rust_p1();
    let mut debuggee = Debuggee::builder(&wasm)
        .stub_args(&[&format!("--program={}", wasm.display())])
        .spawn();
    let run = Batch::new(debuggee.addr())
        .before_connect(&[&format!("target create {}", wasm.display())])
        .commands(&[
            &format!(
                "breakpoint set --file main.rs --line {}",
                rust_line("add_entry")
            ),
            "continue",
            "image list",
            "breakpoint list",
            "breakpoint delete --force",
            "continue",
        ])
        .run();
    let s = sections(&run);
    expect_in(&s, "continue", "stop reason = breakpoint 1.1", &run);
    assert_eq!(image_rows(&s, &run).len(), 1, "{}", run.transcript());
    expect_in(&s, "breakpoint list", "locations = 1", &run);
    assert!(
        s.last().unwrap().contains("exited with status = 0"),
        "{}",
        run.transcript()
    );
    debuggee.wait_exit(Duration::from_secs(60)).assert_success();
}

/// `wasm-remote PORT` and `wasm-remote HOST:PORT` connect with the Wasm plugin: Wasm call stacks
/// and locals work (the generic plugin that plain `gdb-remote` picks shows neither).
#[test]
fn wasm_remote_is_the_short_connect() {
    let wasm = fixtures::c_app();
    for form in ["port", "host:port"] {
        let mut debuggee = Debuggee::spawn(&wasm, &[], &[]);
        let addr = debuggee.addr();
        let target = if form == "port" {
            addr.port().to_string()
        } else {
            addr.to_string()
        };
        let commands = strings(&[
            &format!("wasm-remote {target}"),
            "breakpoint set --name add",
            "continue",
            "bt",
            "frame variable a b",
            "breakpoint delete --force",
            "continue",
        ]);
        let run = lldb_session(None, &[import_line()], &commands, &[]);
        let s = sections(&run);
        expect_in(&s, "wasm-remote", "stop reason", &run);
        expect_in(&s, "continue", "stop reason = breakpoint 1.1", &run);
        expect_in(&s, "bt", "frame #1", &run);
        expect_in(&s, "bt", "main", &run);
        expect_in(&s, "frame variable a b", "a = 0", &run);
        assert!(
            s.last().unwrap().contains("exited with status = 0"),
            "{form}: {}",
            run.transcript()
        );
        debuggee.wait_exit(Duration::from_secs(60)).assert_success();
    }
}

/// The launcher refuses clearly when LLDB's settings are incomplete, instead of hanging LLDB on
/// a connection that never comes.
#[test]
fn launcher_reports_missing_port() {
    let out = Command::new(lldb_dir().join("wasmtime-launch"))
        .arg(fixtures::c_app())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--port"),
        "{out:?}"
    );
}
