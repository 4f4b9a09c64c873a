//! Checks the test fixtures and harness without the debugger: every fixture
//! builds and behaves as expected under plain `wasmtime run`, every MARK the
//! debugger tests rely on exists, and WAT marks map to the right opcodes.

mod common;

use std::time::Duration;

use common::debuggee::{find_listen_addr, run_plain};
use common::fixtures::{self, line_of, marks, wat_offset_of};
use common::rsp;

const RUN_TIMEOUT: Duration = Duration::from_secs(60);

/// What app.c and the Rust app print; the debugger tests rely on these values.
const APP_OUTPUT: &[&str] = &[
    "fact(6)=720\n",
    "total=20\n",
    "point=13,24\n",
    "straight20=190\n",
    "counter=5\n",
    "value=7\n",
];

#[track_caller]
fn assert_app_output(stdout: &str) {
    let expected: String = APP_OUTPUT.concat();
    assert_eq!(stdout, expected);
}

#[test]
fn c_app_runs() {
    let out = run_plain(&fixtures::c_app(), &[], RUN_TIMEOUT);
    out.assert_success();
    assert_app_output(&out.stdout);
}

#[test]
fn rust_p1_runs() {
    let out = run_plain(&fixtures::rust_p1(), &[], RUN_TIMEOUT);
    out.assert_success();
    assert_app_output(&out.stdout);
}

#[test]
fn rust_p2_is_a_component_and_runs() {
    let wasm = fixtures::read(fixtures::rust_p2());
    assert!(
        wasmparser::Parser::is_component(&wasm),
        "wasip2 build is not a component"
    );
    assert!(wasmparser::Parser::is_core_wasm(&fixtures::read(
        fixtures::rust_p1()
    )));
    let out = run_plain(&fixtures::rust_p2(), &[], RUN_TIMEOUT);
    out.assert_success();
    assert_app_output(&out.stdout);
}

#[test]
fn c_trap_div_traps() {
    let out = run_plain(&fixtures::c_trap_div(), &[], RUN_TIMEOUT);
    out.assert_failure()
        .assert_stdout_contains("about to divide by 0")
        .assert_stderr_contains("wasm trap")
        .assert_stderr_contains("divide by zero");
    assert!(!out.stdout.contains("quotient"), "{out}");

    // With an argument the divisor is 1: proves the zero is not folded in.
    let out = run_plain(&fixtures::c_trap_div(), &["x"], RUN_TIMEOUT);
    out.assert_success().assert_stdout_contains("quotient=100");
}

#[test]
fn c_loop_forever_reports_progress_and_stops() {
    let out = run_plain(&fixtures::c_loop_forever(), &["2"], RUN_TIMEOUT);
    out.assert_success()
        .assert_stdout_contains("loop_forever started limit=2")
        .assert_stdout_contains("progress counter=")
        .assert_stdout_contains("loop_forever done");
}

#[test]
fn rust_panic_traps() {
    for wasm in [fixtures::rust_panic_p1(), fixtures::rust_panic_p2()] {
        let out = run_plain(&wasm, &[], RUN_TIMEOUT);
        out.assert_failure()
            .assert_stdout_contains("before panic")
            .assert_stderr_contains("panicked")
            .assert_stderr_contains("wasm trap");
    }
}

#[test]
fn wat_step_runs() {
    let out = run_plain(&fixtures::wat_step(), &[], RUN_TIMEOUT);
    out.assert_success();
    assert_eq!(out.stdout, "step ok\n");
}

#[test]
fn wat_unreachable_traps() {
    let out = run_plain(&fixtures::wat_unreachable(), &[], RUN_TIMEOUT);
    out.assert_failure()
        .assert_stderr_contains("wasm trap")
        .assert_stderr_contains("unreachable");
}

/// Marks the debugger tests are expected to use, per source file.
const EXPECTED_MARKS: &[(&str, &[&str])] = &[
    (
        "c/app.c",
        &[
            "g_counter",
            "g_value",
            "g_point",
            "fact_entry",
            "fact_base",
            "fact_recurse",
            "add_entry",
            "add_return",
            "straight20_first",
            "straight20_last",
            "straight20_return",
            "main_call_fact",
            "main_print_fact",
            "loop_init",
            "loop_head",
            "loop_body",
            "loop_accum",
            "main_print_total",
            "struct_init",
            "struct_use",
            "main_call_straight20",
            "main_print_value",
            "main_return",
        ],
    ),
    (
        "c/trap_div.c",
        &["divide_trap", "main_divisor", "main_call_divide"],
    ),
    (
        "c/loop_forever.c",
        &[
            "g_counter",
            "g_stop",
            "spin_body",
            "loop_head",
            "loop_spin",
            "loop_sleep",
        ],
    ),
    (
        "rust-app/src/main.rs",
        &[
            "g_counter",
            "g_value",
            "fact_entry",
            "fact_base",
            "fact_recurse",
            "add_entry",
            "add_return",
            "straight20_first",
            "straight20_last",
            "straight20_return",
            "main_call_fact",
            "main_print_fact",
            "loop_init",
            "loop_head",
            "loop_body",
            "loop_accum",
            "main_print_total",
            "struct_init",
            "struct_use",
            "main_call_straight20",
            "main_print_value",
            "main_end",
        ],
    ),
    (
        "rust-app/src/bin/panic.rs",
        &["panic_call", "before_panic", "panic_index", "call_check"],
    ),
    (
        "wat/unreachable.wat",
        &[
            "inner_entry",
            "trap",
            "outer_call",
            "outer_after_call",
            "start_first",
            "start_call",
            "start_after_call",
        ],
    ),
];

#[test]
fn marks_exist_and_are_unique() {
    let mut files: Vec<&str> = EXPECTED_MARKS.iter().map(|(f, _)| *f).collect();
    files.push("wat/step.wat");
    for file in files {
        let all = marks(file);
        assert!(!all.is_empty(), "{file} has no marks");
        for (i, (name, _)) in all.iter().enumerate() {
            assert!(
                !all[..i].iter().any(|(other, _)| other == name),
                "{file}: MARK {name} is not unique"
            );
        }
    }
    for (file, names) in EXPECTED_MARKS {
        for name in *names {
            line_of(file, name); // panics if missing
        }
    }
    for (name, _) in STEP_OPCODES {
        line_of("wat/step.wat", name);
    }
}

#[test]
fn line_of_points_at_the_marked_code() {
    let text = |file: &str, mark: &str| {
        let line = line_of(file, mark) as usize;
        let source = std::fs::read_to_string(fixtures::src(file)).unwrap();
        source.lines().nth(line - 1).unwrap().to_string()
    };
    assert!(text("c/app.c", "fact_recurse").contains("fact(n - 1)"));
    assert!(text("c/app.c", "fact_entry").contains("if (n <= 1)"));
    assert!(text("c/app.c", "loop_body").contains("add(i, i)"));
    assert!(text("c/app.c", "main_print_value").contains("g_value"));
    assert!(text("rust-app/src/main.rs", "fact_recurse").contains("fact(n - 1)"));
    assert!(
        text("wat/step.wat", "br_table")
            .trim_start()
            .starts_with("br_table")
    );
    // Absolute paths work too.
    assert_eq!(
        line_of(fixtures::c_app_src(), "fact_recurse"),
        line_of("c/app.c", "fact_recurse")
    );
    // Marks sit on consecutive loop-body lines, as the stepping tests assume.
    assert_eq!(
        line_of("c/app.c", "loop_body") + 1,
        line_of("c/app.c", "loop_accum")
    );
    assert_eq!(
        line_of("c/app.c", "straight20_first") + 19,
        line_of("c/app.c", "straight20_last")
    );
    assert_eq!(
        line_of("rust-app/src/main.rs", "straight20_first") + 19,
        line_of("rust-app/src/main.rs", "straight20_last")
    );
}

/// step.wat marks and the opcode byte each must point at.
const STEP_OPCODES: &[(&str, u8)] = &[
    ("helper_entry", 0x20),        // local.get
    ("helper_return", 0x0f),       // return
    ("leaf_entry", 0x23),          // global.get
    ("leaf_last", 0x01),           // nop
    ("start_first", 0x41),         // i32.const
    ("straight_2", 0x21),          // local.set
    ("straight_3", 0x20),          // local.get
    ("straight_4", 0x1a),          // drop
    ("brif_taken_cond", 0x41),     // i32.const
    ("brif_taken", 0x0d),          // br_if
    ("brif_taken_skipped", 0x00),  // unreachable
    ("brif_taken_target", 0x01),   // nop
    ("brif_not_taken_cond", 0x41), // i32.const
    ("brif_not_taken", 0x0d),      // br_if
    ("brif_fallthrough", 0x01),    // nop
    ("after_brif_not_taken", 0x01),
    ("br_table_index", 0x41),
    ("br_table", 0x0e),
    ("br_table_wrong", 0x00),
    ("br_table_target", 0x01),
    ("if_false_cond", 0x41),
    ("if_false", 0x04),
    ("if_false_then", 0x00),
    ("if_false_else", 0x01),
    ("after_if_false", 0x01),
    ("if_true_cond", 0x41),
    ("if_true", 0x04),
    ("if_true_then", 0x01),
    ("if_true_else", 0x00),
    ("after_if_true", 0x01),
    ("loop_init", 0x41),
    ("loop_top", 0x20),
    ("loop_backedge", 0x0d),
    ("after_loop", 0x01),
    ("call_helper_arg", 0x41),
    ("call_helper", 0x10),
    ("after_call_helper", 0x1a),
    ("call_leaf", 0x10),
    ("after_call_leaf", 0x01),
    ("call_import", 0x10),
    ("after_call_import", 0x1a),
    ("call_fd_write", 0x10),
    ("start_last", 0x01),
];

#[test]
fn wat_offsets_point_at_expected_opcodes() {
    let wasm = fixtures::read(fixtures::wat_step());
    let mut previous_in_start: Option<(&str, u32)> = None;
    for (mark, opcode) in STEP_OPCODES {
        let offset = wat_offset_of("wat/step.wat", mark);
        let byte = wasm[offset as usize];
        assert_eq!(
            byte, *opcode,
            "{mark} at {offset:#x}: byte {byte:#04x}, want {opcode:#04x}"
        );
        // Within _start, file order must be code order.
        if mark.starts_with("helper") || mark.starts_with("leaf") {
            continue;
        }
        if let Some((prev, prev_offset)) = previous_in_start {
            assert!(
                offset > prev_offset,
                "{mark} ({offset:#x}) not after {prev} ({prev_offset:#x})"
            );
        }
        previous_in_start = Some((mark, offset));
    }

    // The built fixture is the module the offsets describe.
    let rebuilt_start = fixtures::code_section_start(&wasm);
    assert!(wat_offset_of("wat/step.wat", "helper_entry") > rebuilt_start);

    let wasm = fixtures::read(fixtures::wat_unreachable());
    for (mark, opcode) in [
        ("trap", 0x00),
        ("outer_call", 0x10),
        ("start_call", 0x10),
        ("inner_entry", 0x41),
    ] {
        let offset = wat_offset_of("wat/unreachable.wat", mark);
        assert_eq!(
            wasm[offset as usize], opcode,
            "unreachable.wat {mark} at {offset:#x}"
        );
    }
}

#[test]
fn c_and_rust_marks_have_line_table_rows() {
    // Breakpoints by line need rows for the lines the tests use.
    let c = fixtures::dwarf_line_table(&fixtures::read(fixtures::c_app()), Some("c/app.c"));
    for mark in [
        "fact_entry",
        "fact_recurse",
        "add_entry",
        "loop_body",
        "loop_accum",
        "main_print_value",
    ] {
        let line = line_of("c/app.c", mark);
        assert!(
            c.contains_key(&line),
            "app.c:{line} ({mark}) has no line-table row"
        );
    }
    let rust = fixtures::read(fixtures::rust_p1());
    let rust = fixtures::dwarf_line_table(&rust, Some("src/main.rs"));
    for mark in [
        "fact_entry",
        "fact_recurse",
        "add_entry",
        "loop_body",
        "main_print_value",
    ] {
        let line = line_of("rust-app/src/main.rs", mark);
        assert!(
            rust.contains_key(&line),
            "main.rs:{line} ({mark}) has no line-table row"
        );
    }
}

#[test]
fn fixtures_are_cached() {
    let path = fixtures::c_app();
    let before = std::fs::metadata(&path).unwrap().modified().unwrap();
    let again = fixtures::c_app();
    assert_eq!(path, again);
    assert!(path.starts_with(fixtures::out_dir()));
    assert_eq!(
        std::fs::metadata(&again).unwrap().modified().unwrap(),
        before
    );
}

#[test]
fn rsp_framing_helpers() {
    assert_eq!(rsp::frame(b"OK"), b"$OK#9a");
    assert_eq!(rsp::frame(b"a}b"), b"$a}]b#9d".to_vec());
    assert_eq!(rsp::decode(b"0* ").unwrap(), b"0000");
    assert_eq!(rsp::decode(b"}]").unwrap(), b"}");
    assert!(rsp::decode(b"*!").is_err());
    assert_eq!(rsp::hex_decode("00ff10"), Some(vec![0, 255, 16]));
    assert_eq!(rsp::hex_encode(&[0xde, 0xad]), "dead");
    let stop = rsp::StopReply::parse("T05thread:1;pc:4000000000000010;").unwrap();
    assert_eq!(
        (stop.kind, stop.code, stop.get("thread")),
        ('T', 5, Some("1"))
    );
    assert_eq!(rsp::StopReply::parse("W00").unwrap().kind, 'W');
}

#[test]
fn listen_address_is_parsed_from_stub_output() {
    let addr = find_listen_addr(b"Debugger: wasm-gdbstub listening on 127.0.0.1:40123\n");
    assert_eq!(addr, Some("127.0.0.1:40123".parse().unwrap()));
    assert_eq!(
        find_listen_addr(b"Debugger: listening on 127.0.0.1:9."),
        Some("127.0.0.1:9".parse().unwrap())
    );
    assert_eq!(find_listen_addr(b"nothing here"), None);
}
