//! Monitor commands (`qRcmd`, LLDB's `process plugin packet monitor`) end to end: each command's
//! console output over raw RSP against the C app (and a Rust component for `modules`), bad input
//! answered with usage while the session carries on, and one run through LLDB itself.

mod common;

use common::fixtures;
use common::lldb::Batch;
use common::rsp::{Client, StopReply, code_addr, hex_decode, hex_encode};
use common::{Debuggee, line_of};
use std::time::Duration;

struct Session {
    client: Client,
    _debuggee: Debuggee,
}

impl Session {
    fn start(wasm: &std::path::Path) -> Self {
        let debuggee = Debuggee::spawn(wasm, &[], &[]);
        let mut client = Client::connect(debuggee.addr()).expect("connect");
        client.set_timeout(Duration::from_secs(20));
        client.no_ack();
        assert!(client.request("?").starts_with('T'));
        Session {
            client,
            _debuggee: debuggee,
        }
    }

    /// Sends `qRcmd` with `command` and returns the console output (the `O` packets, decoded)
    /// once the final `OK` arrives.
    #[track_caller]
    fn monitor(&mut self, command: &str) -> String {
        self.monitor_raw(&hex_encode(command.as_bytes()))
    }

    #[track_caller]
    fn monitor_raw(&mut self, hex: &str) -> String {
        self.client.send(&format!("qRcmd,{hex}"));
        let mut output = String::new();
        loop {
            let timeout = self.client.timeout();
            let reply = self.client.recv_reply(timeout).unwrap_or_else(|e| {
                panic!("no reply to qRcmd,{hex}: {e}\n{}", self.client.transcript())
            });
            if reply == "OK" {
                return output;
            }
            let bytes = reply
                .strip_prefix('O')
                .and_then(hex_decode)
                .unwrap_or_else(|| {
                    panic!("qRcmd,{hex} got {reply:?}\n{}", self.client.transcript())
                });
            output.push_str(&String::from_utf8_lossy(&bytes));
        }
    }

    /// Plants a breakpoint and runs to it.
    fn run_to(&mut self, addr: u64) {
        assert_eq!(self.client.request(&format!("Z0,{addr:x},1")), "OK");
        let reply = StopReply::parse(&self.client.request("vCont;c:p1.-1")).expect("stop reply");
        assert!(
            reply.get("swbreak").is_some(),
            "expected a breakpoint stop: {reply:?}"
        );
    }

    /// The session still answers ordinary packets.
    #[track_caller]
    fn assert_alive(&mut self) {
        assert!(
            self.client.request("?").starts_with('T'),
            "{}",
            self.client.transcript()
        );
    }

    /// Frame pcs, innermost first.
    fn call_stack(&mut self) -> Vec<u64> {
        let hex = self.client.request("qWasmCallStack:1");
        let bytes = hex_decode(&hex).expect("call stack is hex");
        bytes
            .chunks(8)
            .map(|c| {
                let mut le = [0u8; 8];
                le[..c.len()].copy_from_slice(c);
                u64::from_le_bytes(le)
            })
            .collect()
    }
}

/// The module offset where `mark`'s line of app.c starts, from the fixture's own DWARF.
fn c_line_offset(mark: &str) -> (u32, u32) {
    let line = line_of(fixtures::c_app_src(), mark);
    let table = fixtures::dwarf_line_table(&fixtures::read(fixtures::c_app()), Some("app.c"));
    let offset = *table
        .get(&line)
        .unwrap_or_else(|| panic!("no code for app.c:{line}"));
    (line, offset)
}

/// Imported plus defined functions, counted independently of the stub.
fn function_count(wasm: &[u8]) -> u32 {
    let mut count = 0;
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        match payload.expect("parse") {
            wasmparser::Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    if matches!(import.expect("import").ty, wasmparser::TypeRef::Func(_)) {
                        count += 1;
                    }
                }
            }
            wasmparser::Payload::FunctionSection(reader) => count += reader.count(),
            _ => {}
        }
    }
    count
}

/// The line of `output` that starts with `prefix` (after leading blanks).
#[track_caller]
fn line_starting<'a>(output: &'a str, prefix: &str) -> &'a str {
    output
        .lines()
        .find(|l| l.trim_start().starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting with {prefix:?} in:\n{output}"))
}

#[test]
fn help_modules_memories_and_globals() {
    let mut s = Session::start(&fixtures::c_app());
    let help = s.monitor("help");
    for command in [
        "help",
        "modules",
        "memories",
        "globals [MODULE]",
        "disasm [ADDR|pc] [N]",
        "breakpoints",
        "log LEVEL",
    ] {
        assert!(help.contains(command), "help lacks {command}:\n{help}");
    }
    // An empty command is a request for help.
    assert_eq!(s.monitor_raw(""), help);

    let wasm = fixtures::read(fixtures::c_app());
    let modules = s.monitor("modules");
    assert!(modules.starts_with("index  name"), "{modules}");
    let row: Vec<&str> = line_starting(&modules, "0 ").split_whitespace().collect();
    assert_eq!(row.len(), 5, "{modules}");
    assert!(row[1].ends_with(".wasm"), "{modules}");
    assert_eq!(row[2], wasm.len().to_string(), "bytecode size\n{modules}");
    assert_eq!(
        row[3],
        function_count(&wasm).to_string(),
        "functions\n{modules}"
    );
    assert_eq!(row[4], "yes", "the C app has DWARF\n{modules}");
    assert_eq!(modules.lines().count(), 2, "one core module\n{modules}");

    // Wasmtime has no instances before the program starts, so nothing holds memory or globals.
    for command in ["memories", "globals", "globals 0"] {
        let out = s.monitor(command);
        assert!(out.contains("has not started"), "{command}: {out}");
    }

    let (_, fact) = c_line_offset("fact_entry");
    s.run_to(code_addr(fact));
    let memories = s.monitor("memories");
    let row: Vec<u64> = line_starting(&memories, "0 ")
        .split_whitespace()
        .map(|w| w.parse().expect("number"))
        .collect();
    let [module, size, pages, page_size] = row[..] else {
        panic!("{memories}")
    };
    assert_eq!((module, page_size), (0, 65536), "{memories}");
    assert!(size > 0 && size == pages * page_size, "{memories}");

    // The current frame's module is 0. Clang's first global is the stack pointer, an i32
    // pointing into linear memory.
    let globals = s.monitor("globals");
    assert!(globals.starts_with("module 0 ("), "{globals}");
    let sp: Vec<&str> = line_starting(&globals, "0 ").split_whitespace().collect();
    assert_eq!(sp[1], "i32", "{globals}");
    let value = u64::from_str_radix(sp[2].trim_start_matches("0x"), 16).expect("hex value");
    assert!(
        value > 0 && value <= size,
        "stack pointer {value:#x} inside memory\n{globals}"
    );
    assert_eq!(s.monitor("globals 0"), globals);

    // One recursion deeper the stack pointer has moved down.
    let reply = StopReply::parse(&s.client.request("vCont;c:p1.-1")).expect("stop reply");
    assert!(reply.get("swbreak").is_some(), "{reply:?}");
    let inside = s.monitor("globals");
    let moved: Vec<&str> = line_starting(&inside, "0 ").split_whitespace().collect();
    let now = u64::from_str_radix(moved[2].trim_start_matches("0x"), 16).expect("hex value");
    assert!(
        now < value,
        "the stack grew: {now:#x} vs {value:#x}\n{inside}"
    );
    s.assert_alive();
}

#[test]
fn disasm_marks_the_pc_and_shows_source_lines() {
    let mut s = Session::start(&fixtures::c_app());
    let (line, fact) = c_line_offset("fact_entry");
    s.run_to(code_addr(fact));

    let out = s.monitor("disasm");
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].contains("<fact>"),
        "header names the function\n{out}"
    );
    let listing: Vec<&&str> = lines.iter().filter(|l| l.contains(": ")).skip(1).collect();
    assert_eq!(listing.len(), 16, "16 instructions by default\n{out}");
    let current: Vec<&&str> = listing
        .iter()
        .copied()
        .filter(|l| l.starts_with("=>"))
        .collect();
    assert_eq!(current.len(), 1, "{out}");
    let pc_line = current[0];
    assert!(
        pc_line.starts_with(&format!("=> {:#018x}: ", code_addr(fact))),
        "{out}"
    );
    assert!(
        pc_line.ends_with(&format!("app.c:{line}")),
        "the line starts here\n{out}"
    );
    // A few instructions of context before the pc.
    assert!(!listing[0].starts_with("=>"), "{out}");
    // Addresses ascend.
    let addrs: Vec<u64> = listing
        .iter()
        .map(|l| u64::from_str_radix(&l[5..21], 16).expect("address"))
        .collect();
    assert!(addrs.windows(2).all(|w| w[0] < w[1]), "{out}");

    // The same instruction by protocol address, by bare offset and as `pc`, with a count. (Text
    // columns are padded to the window's widest instruction, so compare the ends.)
    let pc_start = &pc_line[..pc_line.find(':').expect("colon") + 1];
    let pc_instr = pc_line[pc_start.len()..]
        .split(';')
        .next()
        .expect("text")
        .trim();
    for command in [
        format!("disasm {:#x} 3", code_addr(fact)),
        format!("disasm {fact:#x} 3"),
        "disasm pc 3".to_string(),
    ] {
        let out = s.monitor(&command);
        let listing: Vec<&str> = out.lines().skip(1).collect();
        assert_eq!(listing.len(), 3, "{command}\n{out}");
        let current = listing
            .iter()
            .find(|l| l.starts_with("=>"))
            .expect("marked line");
        assert!(
            current.starts_with(pc_start) && current.contains(pc_instr),
            "{command}\n{out}"
        );
        assert!(
            current.ends_with(&format!("app.c:{line}")),
            "{command}\n{out}"
        );
    }

    // An offset that is not in any function, and one that is not code at all.
    let out = s.monitor("disasm 0x2");
    assert!(out.contains("not inside a function body"), "{out}");
    let out = s.monitor("disasm 0x0000000100000000");
    assert!(out.contains("usage: disasm"), "{out}");
    s.assert_alive();
}

#[test]
fn breakpoints_lists_sites_and_conditions() {
    let mut s = Session::start(&fixtures::c_app());
    assert!(s.monitor("breakpoints").contains("user breakpoints: none"));

    let (_, fact) = c_line_offset("fact_entry");
    let (_, add) = c_line_offset("add_entry");
    s.run_to(code_addr(fact));
    // Recurse once more so the caller frame is `fact` itself, then plant on its return address:
    // the stub ties that breakpoint to the caller's activation.
    let reply = StopReply::parse(&s.client.request("vCont;c:p1.-1")).expect("stop reply");
    assert!(reply.get("swbreak").is_some(), "{reply:?}");
    let stack = s.call_stack();
    let ret = stack[1];
    assert_eq!(s.client.request(&format!("Z0,{ret:x},1")), "OK");
    assert_eq!(
        s.client.request(&format!("Z0,{:x},1", code_addr(add))),
        "OK"
    );

    let out = s.monitor("breakpoints");
    assert!(out.contains("user breakpoints (3):"), "{out}");
    let fact_line = line_starting(&out, &format!("{:#018x}", code_addr(fact)));
    assert!(fact_line.contains("`fact+0x"), "{out}");
    let ret_line = line_starting(&out, &format!("{ret:#018x}"));
    assert!(
        ret_line.ends_with(&format!("(only at stack depth {})", stack.len() - 1)),
        "{out}"
    );
    assert!(
        line_starting(&out, &format!("{:#018x}", code_addr(add))).contains("`add+0x"),
        "{out}"
    );
    assert!(out.contains("step breakpoints: none"), "{out}");
    // Breakpoint edits reach Wasmtime when the program next runs, as one net change.
    assert!(out.contains("planted in Wasmtime (1):"), "{out}");
    assert!(
        out.contains("to plant when the program resumes (2):"),
        "{out}"
    );

    assert_eq!(s.client.request(&format!("z0,{ret:x},1")), "OK");
    let out = s.monitor("breakpoints");
    assert!(
        out.contains("user breakpoints (2):")
            && out.contains("planted in Wasmtime (1):")
            && out.contains("to plant when the program resumes (1):"),
        "{out}"
    );
    let reply = StopReply::parse(&s.client.request("vCont;c:p1.-1")).expect("stop reply");
    assert!(reply.get("swbreak").is_some(), "{reply:?}");
    let out = s.monitor("breakpoints");
    assert!(
        out.contains("planted in Wasmtime (2):") && !out.contains("when the program resumes"),
        "{out}"
    );
}

/// The request count `stats` gives for `kind` (0 if it is not listed).
fn requests_of(stats: &str, kind: &str) -> u64 {
    stats
        .lines()
        .find_map(|line| {
            let mut words = line.split_whitespace();
            (words.next() == Some(kind)).then(|| words.next()?.parse().ok())?
        })
        .unwrap_or(0)
}

/// `stats` counts the stub's requests to Wasmtime: a breakpoint stop walks the stack once (one
/// pc per frame), what LLDB asks again at the same stop is answered without asking Wasmtime
/// again, and a breakpoint that stays planted costs no edit at the next stop.
#[test]
fn stats_count_requests_once_per_stop() {
    let mut s = Session::start(&fixtures::c_app());
    s.monitor("stats");
    let (_, fact) = c_line_offset("fact_entry");
    s.run_to(code_addr(fact));
    let stack = s.call_stack();
    let local = s.client.request("qWasmLocal:0;0");
    let first = s.monitor("stats");
    assert_eq!(requests_of(&first, "add-breakpoint"), 1, "{first}");
    assert_eq!(requests_of(&first, "continue"), 1, "{first}");
    assert_eq!(requests_of(&first, "finish"), 1, "{first}");
    assert_eq!(requests_of(&first, "get-pc"), stack.len() as u64, "{first}");
    assert_eq!(requests_of(&first, "get-locals"), 1, "{first}");
    assert!(first.contains("program running: 1 resumptions"), "{first}");

    // The same questions at the same stop: answered from what the stop already read.
    assert_eq!(s.call_stack(), stack);
    assert_eq!(s.client.request("qWasmLocal:0;0"), local);
    let again = s.monitor("stats");
    assert!(
        again.contains("requests to Wasmtime since the last `stats`: 0 in"),
        "{again}"
    );

    // The recursive call stops at the same breakpoint one frame deeper, with no edit.
    let reply = StopReply::parse(&s.client.request("vCont;c:p1.-1")).expect("stop reply");
    assert!(reply.get("swbreak").is_some(), "{reply:?}");
    let deeper = s.call_stack();
    assert_eq!(deeper.len(), stack.len() + 1);
    let next = s.monitor("stats");
    assert_eq!(requests_of(&next, "add-breakpoint"), 0, "{next}");
    assert_eq!(requests_of(&next, "remove-breakpoint"), 0, "{next}");
    assert_eq!(requests_of(&next, "get-pc"), deeper.len() as u64, "{next}");
}

#[test]
fn log_sets_the_verbosity() {
    let mut s = Session::start(&fixtures::c_app());
    assert_eq!(s.monitor("log 2"), "log level 2 (was 0)\n");
    assert!(
        s.monitor("modules").starts_with("index"),
        "commands still answer at level 2"
    );
    assert_eq!(s.monitor("log 0x1"), "log level 1 (was 2)\n");
    assert_eq!(s.monitor("log 0"), "log level 0 (was 1)\n");
    s.assert_alive();
}

#[test]
fn bad_input_is_answered_with_usage_and_the_session_continues() {
    let mut s = Session::start(&fixtures::c_app());
    let cases = [
        (
            "frobnicate",
            "unknown command `frobnicate`",
            "monitor commands:",
        ),
        ("log", "missing LEVEL", "usage: log LEVEL"),
        ("log 7", "bad level `7`", "usage: log LEVEL"),
        ("log x", "bad level `x`", "usage: log LEVEL"),
        (
            "globals -1",
            "bad module index `-1`",
            "usage: globals [MODULE]",
        ),
        ("globals 99", "no module 99", "usage: globals [MODULE]"),
        ("disasm 0xnope", "bad address `0xnope`", "usage: disasm"),
        ("disasm pc 0", "bad count `0`", "usage: disasm"),
        (
            "disasm pc 123456789012345678901234567890",
            "bad count",
            "usage: disasm",
        ),
        (
            "disasm 0xffffffffffffffff",
            "is not a code address",
            "usage: disasm",
        ),
        (
            "modules extra",
            "unexpected argument `extra`",
            "usage: modules",
        ),
    ];
    for (command, problem, usage) in cases {
        let out = s.monitor(command);
        assert!(
            out.contains(problem) && out.contains(usage),
            "monitor {command}:\n{out}"
        );
    }
    // Bytes that are not UTF-8, and a command so long it is mostly blanks.
    assert!(s.monitor_raw("fffe00").contains("unknown command"));
    assert!(
        s.monitor(&format!("disasm {}", " ".repeat(4000)))
            .contains("=> ")
    );
    // Malformed hex is not a monitor command at all; the stub must still answer and carry on.
    s.client.send("qRcmd,zz");
    let reply = s
        .client
        .recv_reply(Duration::from_secs(10))
        .expect("a reply to bad hex");
    assert!(!reply.starts_with('O'), "{reply:?}");
    s.assert_alive();
    assert!(s.monitor("modules").starts_with("index"));
    // The program still runs to its end.
    let out = s.client.request("vCont;c:p1.-1");
    assert!(out.starts_with("W00"), "{out}");
}

#[test]
fn modules_of_a_component() {
    let mut s = Session::start(&fixtures::rust_p2());
    let out = s.monitor("modules");
    let rows: Vec<Vec<&str>> = out
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert!(
        rows.len() >= 2,
        "a component has several core modules\n{out}"
    );
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row.len(), 5, "{out}");
        assert_eq!(row[0], i.to_string(), "{out}");
        assert!(row[2].parse::<u64>().is_ok_and(|n| n > 0), "{out}");
    }
    // Index 0 is the module carrying the program's DWARF.
    assert_eq!(rows[0][4], "yes", "{out}");
    assert!(rows[0][3].parse::<u32>().is_ok_and(|n| n > 0), "{out}");
    s.assert_alive();
}

#[test]
fn lldb_shows_monitor_output() {
    let debuggee = Debuggee::spawn(&fixtures::c_app(), &[], &[]);
    let run = Batch::new(debuggee.addr())
        .commands(&[
            "process plugin packet monitor modules",
            "process plugin packet monitor bogus",
        ])
        .run();
    run.assert_contains("index  name")
        .assert_contains("yes")
        .assert_contains("unknown command `bogus`")
        .assert_not_contains("error: UNIMPLEMENTED");
}
