//! What a user sees in LLDB 22 debugging each kind of debuggee (C core module, Rust wasip1 core
//! module, Rust wasip2 component) through the component in a real Wasmtime: breakpoints, stacks,
//! variables in every frame, memory, stepping, and the program's exit with its output intact.

mod common;

use common::fixtures;
use common::lldb::{self, Batch, LldbRun};
use common::{Debuggee, line_of};
use std::path::PathBuf;
use std::time::Duration;

/// One debuggee kind: its wasm, its main source file and that file's name as LLDB shows it.
struct Kind {
    wasm: PathBuf,
    source: PathBuf,
    file: &'static str,
}

fn c_app() -> Kind {
    Kind {
        wasm: fixtures::c_app(),
        source: fixtures::c_app_src(),
        file: "app.c",
    }
}

fn rust_p1() -> Kind {
    Kind {
        wasm: fixtures::rust_p1(),
        source: fixtures::rust_app_src(),
        file: "main.rs",
    }
}

fn rust_p2() -> Kind {
    Kind {
        wasm: fixtures::rust_p2(),
        source: fixtures::rust_app_src(),
        file: "main.rs",
    }
}

impl Kind {
    fn line(&self, mark: &str) -> u32 {
        line_of(&self.source, mark)
    }

    fn at(&self, mark: &str) -> String {
        format!("{}:{}", self.file, self.line(mark))
    }

    /// Runs `commands` in LLDB against the program under the debugger and returns the per-command
    /// outputs (index 0 is the connect) and the program's own output.
    fn session(&self, commands: &[String]) -> (Vec<String>, LldbRun, common::Output) {
        let mut debuggee = Debuggee::spawn(&self.wasm, &[], &[]);
        let refs: Vec<&str> = commands.iter().map(String::as_str).collect();
        let run = Batch::new(debuggee.addr()).commands(&refs).run();
        let program = debuggee.wait_exit(Duration::from_secs(60));
        (lldb::sections(&run.output()), run, program)
    }
}

#[track_caller]
fn expect(sections: &[String], index: usize, needle: &str, run: &LldbRun) {
    let section = sections.get(index).map(String::as_str).unwrap_or("");
    assert!(
        section.contains(needle),
        "command #{index} should show `{needle}`, got:\n{section}\n--- whole session ---\n{}",
        run.transcript()
    );
}

fn cmds(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// Breakpoints by name hit on every call, `bt` names and locates every frame, caller frames show
/// their own locals, globals and bytecode memory are readable, and the exit is reported with the
/// program's output intact.
fn inspect(kind: Kind) {
    let commands = cmds(&[
        "image list",                                        // 1
        "breakpoint set --name add",                         // 2
        "continue",                                          // 3
        "bt",                                                // 4
        "frame variable a b",                                // 5
        "up",                                                // 6
        "frame variable i",                                  // 7
        "continue",                                          // 8
        "frame variable a",                                  // 9
        "memory read --size 1 --count 4 0x4000000000000000", // 10
        "breakpoint delete --force",                         // 11
        "continue",                                          // 12
    ]);
    let (s, run, program) = kind.session(&commands);
    run.assert_not_contains("error: memory read failed");
    expect(&s, 0, "stop reason", &run);
    expect(&s, 1, ".wasm", &run);
    expect(&s, 3, "stop reason = breakpoint 1.1", &run);
    expect(&s, 4, "add", &run);
    expect(&s, 4, &kind.at("add_entry"), &run);
    expect(&s, 4, "main", &run);
    expect(&s, 4, &kind.at("loop_body"), &run);
    expect(&s, 5, "a = 0", &run);
    expect(&s, 7, "i = 0", &run);
    expect(&s, 8, "stop reason = breakpoint 1.1", &run);
    expect(&s, 9, "a = 1", &run);
    expect(&s, 10, "00 61 73 6d", &run);
    expect(&s, 12, "exited with status = 0", &run);
    program.assert_success();
    program.assert_stdout_contains("fact(6)=720");
    program.assert_stdout_contains("total=20");
}

/// `next` walks the loop body line by line without stopping in the callee, `step` enters the
/// callee at its first line, `finish` returns to the caller, `si` moves one instruction, and a
/// breakpoint keeps stopping after all of that.
fn stepping(kind: Kind) {
    let commands = cmds(&[
        &format!(
            "breakpoint set --file {} --line {}",
            kind.file,
            kind.line("loop_body")
        ), // 1
        "continue",                  // 2
        "next",                      // 3
        "next",                      // 4
        "next",                      // 5
        "step",                      // 6
        "bt 2",                      // 7
        "finish",                    // 8
        "register read pc",          // 9
        "si",                        // 10
        "register read pc",          // 11
        "continue",                  // 12
        "frame variable i",          // 13
        "breakpoint delete --force", // 14
        "continue",                  // 15
    ]);
    let (s, run, program) = kind.session(&commands);
    expect(&s, 2, &kind.at("loop_body"), &run);
    expect(&s, 3, "stop reason = step over", &run);
    expect(&s, 3, &kind.at("loop_accum"), &run);
    expect(&s, 4, &kind.at("loop_head"), &run);
    expect(&s, 5, &kind.at("loop_body"), &run);
    expect(&s, 6, "stop reason = step in", &run);
    // LLDB 22 stops on the callee's opening line: it skips a prologue only for a frame it can
    // tell is younger, and its Wasm unwinder gives every frame the same CFA.
    let entry = kind.line("add_entry");
    let landed = [entry - 1, entry]
        .iter()
        .any(|l| s[6].contains(&format!("{}:{l}", kind.file)));
    assert!(
        landed && s[6].contains("add"),
        "step should enter add:\n{}",
        run.transcript()
    );
    expect(&s, 7, "main", &run);
    expect(&s, 8, "stop reason = step out", &run);
    expect(&s, 8, &kind.at("loop_body"), &run);
    expect(&s, 10, "stop reason = instruction step into", &run);
    let pc = |section: &str| {
        section.split("pc = ").nth(1).and_then(|rest| {
            u64::from_str_radix(
                rest.trim()
                    .trim_start_matches("0x")
                    .split_whitespace()
                    .next()?,
                16,
            )
            .ok()
        })
    };
    let (before, after) = (pc(&s[9]), pc(&s[11]));
    assert!(
        matches!((before, after), (Some(b), Some(a)) if a > b && a - b < 16),
        "si should advance by one instruction: {before:?} -> {after:?}\n{}",
        run.transcript()
    );
    expect(&s, 12, "stop reason = breakpoint 1.1", &run);
    expect(&s, 13, "i = 2", &run);
    expect(&s, 15, "exited with status = 0", &run);
    program.assert_success();
    program.assert_stdout_contains("total=20");
}

/// `finish` from the second activation of a recursive function lands in the first one (LLDB
/// shows the caller's own argument), not in a deeper activation.
fn finish_recursion(kind: Kind) {
    let commands = cmds(&[
        "breakpoint set --name fact", // 1
        "continue",                   // 2  fact(6)
        "continue",                   // 3  fact(5)
        "breakpoint delete --force",  // 4
        "finish",                     // 5
        "bt",                         // 6
        "continue",                   // 7
    ]);
    let (s, run, program) = kind.session(&commands);
    expect(&s, 3, "n=5", &run);
    expect(&s, 5, "stop reason = step out", &run);
    expect(&s, 5, "n=6", &run);
    expect(&s, 5, &kind.at("fact_recurse"), &run);
    let fact_frames = s[6]
        .lines()
        .filter(|l| l.contains("frame #") && l.contains("fact"))
        .count();
    assert_eq!(
        fact_frames,
        1,
        "finish should leave one fact activation:\n{}",
        run.transcript()
    );
    expect(&s, 7, "exited with status = 0", &run);
    program.assert_stdout_contains("fact(6)=720");
}

/// A breakpoint added while stopped inside a function is hit later in that same activation.
fn breakpoint_added_while_stopped(kind: Kind) {
    let commands = cmds(&[
        &format!(
            "breakpoint set --file {} --line {}",
            kind.file,
            kind.line("loop_body")
        ), // 1
        "continue", // 2
        "next",     // 3
        &format!(
            "breakpoint set --file {} --line {}",
            kind.file,
            kind.line("main_print_total")
        ), // 4
        "breakpoint delete 1", // 5
        "continue", // 6
        "frame variable total", // 7
        "breakpoint delete --force", // 8
        "continue", // 9
    ]);
    let (s, run, _program) = kind.session(&commands);
    expect(&s, 6, "stop reason = breakpoint 2.1", &run);
    expect(&s, 6, &kind.at("main_print_total"), &run);
    expect(&s, 7, "total = 20", &run);
    expect(&s, 9, "exited with status = 0", &run);
}

#[test]
fn c_core_module_inspect() {
    inspect(c_app());
}

#[test]
fn rust_wasip1_inspect() {
    inspect(rust_p1());
}

#[test]
fn rust_wasip2_component_inspect() {
    inspect(rust_p2());
}

#[test]
fn c_core_module_stepping() {
    stepping(c_app());
}

#[test]
fn rust_wasip1_stepping() {
    stepping(rust_p1());
}

#[test]
fn rust_wasip2_component_stepping() {
    stepping(rust_p2());
}

#[test]
fn c_core_module_finish_out_of_recursion() {
    finish_recursion(c_app());
}

#[test]
fn rust_wasip1_finish_out_of_recursion() {
    finish_recursion(rust_p1());
}

#[test]
fn rust_wasip2_component_finish_out_of_recursion() {
    finish_recursion(rust_p2());
}

#[test]
fn c_core_module_breakpoint_added_while_stopped() {
    breakpoint_added_while_stopped(c_app());
}

#[test]
fn rust_wasip2_component_breakpoint_added_while_stopped() {
    breakpoint_added_while_stopped(rust_p2());
}

/// The issue-26 program through the LLDB integration as the README sets it up (`command script
/// import lldb/wasm_gdbstub.py`, nothing else): `next` onto and past a 120-case `switch`, `si`
/// inside the taken case, `finish` back to `main`, `step` into the next call, none crashing LLDB
/// (which its own fast stepping did on the second `next`), each where native LLDB stops.
#[test]
fn c_switch_next_si_finish_step_through_the_integration() {
    let wasm = fixtures::c_switch();
    let source = fixtures::fixtures_dir().join("c/switch.c");
    let line = |text: &str| {
        let body = std::fs::read_to_string(&source).unwrap();
        let n = body
            .lines()
            .position(|l| l.contains(text))
            .unwrap_or_else(|| panic!("no `{text}` in switch.c"));
        format!("switch.c:{}", n + 1)
    };
    let import = lldb::integration_import();
    let mut debuggee = Debuggee::spawn(&wasm, &[], &[]);
    let run = Batch::new(debuggee.addr())
        .before_connect(&[&import])
        .commands(&[
            "breakpoint set --name classify",
            "continue",
            "breakpoint delete --force",
            "next",
            "next",
            "si",
            "si",
            "next",
            "finish",
            "next",
            "step",
            "continue",
        ])
        .run();
    let sections = lldb::sections(&run.output());
    let expect = |command: &str, nth: usize, needle: &str| {
        let hits: Vec<&String> = sections
            .iter()
            .filter(|s| s.lines().next() == Some(command))
            .collect();
        let section = hits
            .get(nth)
            .unwrap_or_else(|| panic!("no {nth}th `{command}`\n{}", run.transcript()));
        assert!(
            section.contains(needle),
            "`{command}` #{nth} should show {needle}:\n{section}\n{}",
            run.transcript()
        );
    };
    expect("continue", 0, &line("  int r = 0;"));
    expect("next", 0, &line("  switch (op) {"));
    expect("next", 1, &line("  case 0: r = x + 1; break;"));
    expect("si", 0, "instruction step into");
    expect("si", 1, &line("  case 0: r = x + 1; break;"));
    expect("next", 2, &line("  r += 1;"));
    expect("finish", 0, &line("    s += classify((i * 37) % 121, i);"));
    expect("next", 3, &line("  for (int i = 0; i < 12; i++)"));
    expect("step", 0, &line("    s += classify((i * 37) % 121, i);"));
    let program = debuggee.wait_exit(Duration::from_secs(60));
    run.assert_success();
    program.assert_success().assert_stdout_contains("1971");
}

/// Breakpoint hit counts as natively on a real program (zlib, `tests/corpus/zlib`), where many
/// functions' first lines open with several `block`s: each auto-continuing breakpoint is stepped
/// off by LLDB (`z0`, `vCont;s`, `Z0`, `vCont;c`), and a step shown where it started made LLDB
/// count one more hit per `block` (`inflate`: 748 hits for 187 calls).
#[test]
fn breakpoint_hit_counts_match_native_on_zlib() {
    const FUNCTIONS: &[&str] = &[
        "inflate",
        "crc32_z",
        "inflateReset2",
        "deflate_stored",
        "adler32_z",
        "updatewindow",
    ];
    let commands = |after: &[&str]| -> Vec<String> {
        let mut all: Vec<String> = Vec::new();
        for (i, f) in FUNCTIONS.iter().enumerate() {
            all.push(format!("breakpoint set --name {f}"));
            all.push(format!("breakpoint modify --auto-continue true {}", i + 1));
        }
        all.extend(after.iter().map(|s| s.to_string()));
        all.push("breakpoint list".into());
        all
    };
    let hits = |output: &str| -> Vec<String> {
        output
            .lines()
            // The breakpoints' own lines (`1: name = 'inflate', ...`), not their locations'.
            .filter(|l| l.contains("hit count =") && l.contains(": name = "))
            .map(|l| l.trim().to_string())
            .collect()
    };
    let native = lldb::native_session(
        &common::corpus::zlib_native(),
        &commands(&["process launch -o /dev/null"]),
    );
    native.assert_success();
    let mut debuggee = Debuggee::spawn(&common::corpus::zlib_wasm(), &[], &[]);
    let refs = commands(&["continue"]);
    let refs: Vec<&str> = refs.iter().map(String::as_str).collect();
    let wasm = Batch::new(debuggee.addr()).commands(&refs).run();
    let program = debuggee.wait_exit(Duration::from_secs(60));
    wasm.assert_success();
    program
        .assert_success()
        .assert_stdout_contains("inflate_calls=187");
    let (native_hits, wasm_hits) = (hits(&native.output()), hits(&wasm.output()));
    assert_eq!(
        native_hits.len(),
        FUNCTIONS.len(),
        "{}",
        native.transcript()
    );
    let counts = |lines: &[String]| -> Vec<String> {
        lines
            .iter()
            .map(|l| {
                l.split("hit count =")
                    .nth(1)
                    .unwrap_or("")
                    .trim()
                    .to_string()
            })
            .collect()
    };
    assert_eq!(
        counts(&wasm_hits),
        counts(&native_hits),
        "hit counts of {FUNCTIONS:?}\nwasm: {wasm_hits:#?}\nnative: {native_hits:#?}"
    );
}

/// `finish` shows the return value as natively (`Return value: (int) $0 = 2`): LLDB has no Wasm
/// ABI to find it, and the integration's `finish` reads it from the caller's operand stack.
#[test]
fn finish_shows_the_return_value_like_native() {
    let import = lldb::integration_import();
    let steps = [
        "breakpoint set --name classify",
        "continue",
        "finish",
        "continue",
        "finish",
        "continue",
        "finish",
    ];
    let returns = |output: &str| -> Vec<String> {
        output
            .lines()
            .filter(|l| l.starts_with("Return value:"))
            .map(str::to_string)
            .collect()
    };
    let mut native_commands: Vec<String> = vec![
        "breakpoint set --name classify".into(),
        "process launch -o /dev/null".into(),
    ];
    native_commands.extend(steps[2..].iter().map(|s| s.to_string()));
    let native = lldb::native_session(&fixtures::c_native("switch"), &native_commands);
    native.assert_success();
    let mut debuggee = Debuggee::spawn(&fixtures::c_switch(), &[], &[]);
    let wasm = Batch::new(debuggee.addr())
        .before_connect(&[&import])
        .commands(&steps)
        .run();
    let _ = debuggee.wait_exit(Duration::from_secs(60));
    wasm.assert_success();
    let expected = returns(&native.output());
    assert_eq!(expected.len(), 3, "{}", native.transcript());
    assert_eq!(returns(&wasm.output()), expected, "{}", wasm.transcript());
}

/// Function pointers show the function as natively (`strm->zalloc = 0x... (prog`zcalloc at
/// zutil.c:303)`): on Wasm a function pointer is a slot of the module's table, which the stub
/// resolves through the element segments (`qWasmIndirectFunction`) for the integration's summary.
/// zlib's `z_stream` carries the allocator's two function pointers.
#[test]
fn function_pointers_show_their_function_like_native() {
    let import = lldb::integration_import();
    let show = ["frame variable strm->zalloc strm->zfree", "p strm->zfree"];
    // What follows the module name: `zcalloc at zutil.c:303)`.
    let functions = |output: &str| -> Vec<String> {
        output
            .lines()
            .filter(|l| l.contains("_func) ") && l.contains('`'))
            .filter_map(|l| l.split('`').nth(1).map(str::to_string))
            .collect()
    };
    let mut native_commands: Vec<String> = vec![
        "breakpoint set --name inflate".into(),
        "process launch -o /dev/null".into(),
    ];
    native_commands.extend(show.iter().map(|s| s.to_string()));
    let native = lldb::native_session(&common::corpus::zlib_native(), &native_commands);
    native.assert_success();
    let mut debuggee = Debuggee::spawn(&common::corpus::zlib_wasm(), &[], &[]);
    let mut commands = vec!["breakpoint set --name inflate", "continue"];
    commands.extend(show);
    let wasm = Batch::new(debuggee.addr())
        .before_connect(&[&import])
        .commands(&commands)
        .run();
    drop(debuggee.wait_exit(Duration::from_secs(60)));
    wasm.assert_success();
    let expected = functions(&native.output());
    assert_eq!(
        expected,
        [
            "zcalloc at zutil.c:303)",
            "zcfree at zutil.c:309)",
            "zcfree at zutil.c:309)"
        ],
        "{}",
        native.transcript()
    );
    assert_eq!(functions(&wasm.output()), expected, "{}", wasm.transcript());
}
