//! Data watchpoints with LLDB 22 against a real Wasmtime: writes through a pointer in another
//! function, to a struct field, an array element and by memcpy; reads; and in Rust core modules
//! and components. LLDB shows the old and new value at each hit. A watchpoint whose set-up would
//! take Wasmtime minutes on a large program is refused at once.

mod common;

use common::Debuggee;
use common::lldb::{self, Batch};
use common::{corpus, fixtures, manifest_dir};
use std::time::Duration;

#[test]
fn c_writes_and_reads_are_caught() {
    let mut debuggee = Debuggee::spawn(&fixtures::c_watch(), &[], &[]);
    let run = Batch::new(debuggee.addr())
        .commands(&[
            "breakpoint set --name main",               // 1
            "continue",                                 // 2
            "watchpoint set variable g_target",         // 3
            "continue",                                 // 4 pointer write in set_via_pointer
            "watchpoint delete 1",                      // 5
            "watchpoint set variable g_pair.b",         // 6
            "continue",                                 // 7 struct field
            "watchpoint delete 2",                      // 8
            "watchpoint set variable g_array[3]",       // 9
            "continue",                                 // 10 array element
            "watchpoint delete 3",                      // 11
            "watchpoint set variable -s 4 g_buffer",    // 12
            "continue",                                 // 13 memcpy
            "watchpoint delete 4",                      // 14
            "watchpoint set variable -w read g_target", // 15
            "continue",                                 // 16 read
            "watchpoint delete 5",                      // 17
            "continue",                                 // 18
        ])
        .run();
    let s = lldb::sections(&run.output());
    let check = |i: usize, needles: &[&str]| {
        for needle in needles {
            assert!(
                s.get(i).is_some_and(|x| x.contains(needle)),
                "command #{i} lacks {needle:?}:\n{}",
                run.transcript()
            );
        }
    };
    check(
        4,
        &[
            "stop reason = watchpoint 1",
            "old value: 0",
            "new value: 5",
            "set_via_pointer",
        ],
    );
    check(7, &["stop reason = watchpoint 2", "new value: 9"]);
    check(10, &["stop reason = watchpoint 3", "new value: 11"]);
    check(13, &["stop reason = watchpoint 4", "hello world"]);
    check(
        16,
        &[
            "stop reason = watchpoint 5",
            &format!(
                "watch.c:{}",
                common::line_of(fixtures::src("c/watch.c"), "read_target")
            ),
        ],
    );
    check(18, &["exited with status = 0"]);
    let out = debuggee.wait_exit(Duration::from_secs(30));
    out.assert_stdout_contains("r=14 hello world 11");
}

/// LLDB 22 gives Rust's atomic statics no size, so `watchpoint set variable` refuses them; a user
/// watches the address `target variable -L` shows, which the test reads from the DWARF.
#[test]
fn rust_core_module_and_component_writes_are_caught() {
    for wasm in [fixtures::rust_p1(), fixtures::rust_p2()] {
        let mut debuggee = Debuggee::spawn(&wasm, &[], &[]);
        let module = fixtures::program_module(&fixtures::read(&wasm));
        let counter = fixtures::data_symbol_address(&module, "G_COUNTER");
        // `-l c`: LLDB 22 cannot evaluate Rust expressions and falls back to one that needs codegen.
        let watch = format!("watchpoint set expression -l c -w write -s 4 -- {counter:#x}");
        let run = Batch::new(debuggee.addr())
            .commands(&[
                "breakpoint set --name add", // 1
                "continue",                  // 2
                "breakpoint delete --force", // 3
                &watch,                      // 4
                "continue",                  // 5
                "continue",                  // 6
                "watchpoint delete 1",       // 7
                "continue",                  // 8
            ])
            .run();
        let s = lldb::sections(&run.output());
        assert!(s.len() >= 9, "{}", run.transcript());
        assert!(
            s[5].contains("stop reason = watchpoint 1"),
            "{}",
            run.transcript()
        );
        assert!(
            s[5].contains("old value: 0") && s[5].contains("new value: 1"),
            "{}",
            run.transcript()
        );
        assert!(s[6].contains("new value: 2"), "{}", run.transcript());
        assert!(
            s[8].contains("exited with status = 0"),
            "{}",
            run.transcript()
        );
        debuggee
            .wait_exit(Duration::from_secs(30))
            .assert_stdout_contains("counter=5");
    }
}

/// A 16 MB Rust debug build (2 MB of code, 89,000 stores): a write watchpoint needs a breakpoint
/// on every store, and Wasmtime republishes the module's code for each (211 s measured before the
/// bound). The stub refuses it at once, its console says why (LLDB shows only that setting the
/// watchpoint failed, as it does natively when the hardware has no slot left), and the program,
/// left by LLDB, runs to its normal end.
#[test]
fn a_watchpoint_too_costly_for_a_large_program_is_refused_and_the_program_runs_on() {
    let mut debuggee = Debuggee::spawn(&corpus::large_app(), &[], &[]);
    let line = common::line_of(
        manifest_dir().join("bench/large-app/src/main.rs"),
        "records_parsed",
    );
    let run = Batch::new(debuggee.addr())
        .commands(&[
            &format!("breakpoint set -f main.rs -l {line}"),
            "continue",
            "watchpoint set variable records",
        ])
        .timeout(Duration::from_secs(60))
        .run();
    let s = lldb::sections(&run.output());
    assert!(
        s.get(2)
            .is_some_and(|x| x.contains("stop reason = breakpoint 1")),
        "{}",
        run.transcript()
    );
    assert!(
        s.get(3)
            .is_some_and(|x| x.contains("error: Watchpoint creation failed")),
        "{}",
        run.transcript()
    );
    let out = debuggee.wait_exit(Duration::from_secs(60));
    out.assert_success()
        .assert_stdout_contains("\"name\": \"beta-22\"")
        .assert_stderr_contains("refused: this watchpoint needs breakpoints on ");
}

/// A write watchpoint on a heap object's field in a real program (zlib's `inflate_state.mode`,
/// written through pointers as the state machine moves), against native LLDB on the same
/// source: every write is reported with the same old and new values, at the same lines. The
/// stub plants breakpoints only on the accesses that may reach the field: the program's stack
/// and constant-address accesses provably cannot (`src/access_bounds.rs`).
#[test]
fn a_heap_field_watchpoint_reports_every_write_like_native() {
    const HITS: usize = 12;
    let import = lldb::integration_import();
    let watch = "watchpoint set expression -w write -s 4 -- \
                 &((struct inflate_state *)strm->state)->mode";
    let mut after: Vec<String> = vec![watch.to_string(), "breakpoint disable".into()];
    after.extend(std::iter::repeat_n("continue".to_string(), HITS));
    // (old value, new value, line shown) of each hit, values as numbers.
    let hits = |output: &str| -> Vec<(Option<u64>, u64, String)> {
        let number = |l: &str| u64::from_str_radix(l.trim().trim_start_matches("0x"), 16).ok();
        let mut out = Vec::new();
        let mut old = None;
        let mut new = None;
        for line in output.lines() {
            if let Some(v) = line.strip_prefix("old value: ") {
                old = number(v);
            } else if let Some(v) = line.strip_prefix("new value: ") {
                new = number(v);
            } else if let Some(shown) = line.strip_prefix("-> ")
                && let Some(n) = new.take()
            {
                let at = shown.split_whitespace().next().unwrap_or("").to_string();
                out.push((old.take(), n, at));
            }
        }
        out
    };
    let mut native_commands = vec![
        "breakpoint set --name inflate".to_string(),
        "process launch -o /dev/null".to_string(),
    ];
    native_commands.extend(after.iter().cloned());
    let native = lldb::native_session(&corpus::zlib_native(), &native_commands);
    native.assert_success();
    let mut debuggee = Debuggee::spawn(&corpus::zlib_wasm(), &[], &[]);
    let mut commands = vec!["breakpoint set --name inflate", "continue"];
    commands.extend(after.iter().map(String::as_str));
    let wasm = Batch::new(debuggee.addr())
        .before_connect(&[&import])
        .commands(&commands)
        .timeout(Duration::from_secs(120))
        .run();
    drop(debuggee.wait_exit(Duration::from_secs(60)));
    wasm.assert_success();
    let expected = hits(&native.output());
    assert!(expected.len() >= HITS - 1, "{}", native.transcript());
    assert_eq!(hits(&wasm.output()), expected, "{}", wasm.transcript());
}
