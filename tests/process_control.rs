//! Process control end to end with a real Wasmtime: memory writes that change what the program
//! computes, kill, detach and re-attach to a running program, interrupt, a second client, traps
//! with their reasons, and exit statuses.

mod common;

use common::fixtures;
use common::lldb::{self, Batch};
use common::rsp::{Client, StopReply, hex_encode};
use common::{Debuggee, line_of};
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn connect(debuggee: &Debuggee) -> Client {
    let mut client = Client::connect(debuggee.addr()).expect("connect");
    client.set_timeout(Duration::from_secs(20));
    client.no_ack();
    client
}

fn stop(client: &mut Client, packet: &str) -> StopReply {
    let reply = client.request(packet);
    StopReply::parse(&reply)
        .unwrap_or_else(|| panic!("not a stop reply: {reply}\n{}", client.transcript()))
}

fn description(reply: &StopReply) -> String {
    let hex = reply.get("description").unwrap_or("");
    String::from_utf8(common::rsp::hex_decode(hex).unwrap_or_default()).unwrap_or_default()
}

/// LLDB's SB API: stop at a line, find a global's address, write it with `memory write`, and check
/// the program prints the new value.
const WRITE_GLOBAL: &str = r#"
import lldb, re, sys
addr, file, line, var = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
dbg = lldb.SBDebugger.Create()
dbg.SetAsync(False)
ci = dbg.GetCommandInterpreter()
def run(cmd):
    res = lldb.SBCommandReturnObject()
    ci.HandleCommand(cmd, res)
    out = (res.GetOutput() or "") + (res.GetError() or "")
    print("(lldb) " + cmd + "\n" + out)
    return out
run("process connect --plugin wasm connect://" + addr)
run("breakpoint set --file %s --line %d" % (file, line))
run("continue")
out = run("target variable -L " + var)
where = re.search(r"0x([0-9a-f]+):", out).group(1)
run("memory write -s 4 -f d 0x%s 100" % where)
run("target variable " + var)
run("breakpoint delete --force")
run("continue")
"#;

#[test]
fn memory_write_changes_what_the_program_prints() {
    for (wasm, source, file, var) in [
        (fixtures::c_app(), fixtures::c_app_src(), "app.c", "g_value"),
        (
            fixtures::rust_p2(),
            fixtures::rust_app_src(),
            "main.rs",
            "G_VALUE",
        ),
    ] {
        let mut debuggee = Debuggee::spawn(&wasm, &[], &[]);
        let line = line_of(&source, "main_print_value").to_string();
        let addr = debuggee.addr().to_string();
        let run = lldb::python(
            WRITE_GLOBAL,
            &[&addr, file, &line, var],
            Duration::from_secs(120),
        );
        run.assert_contains("= 100");
        let out = debuggee.wait_exit(Duration::from_secs(60));
        out.assert_success();
        out.assert_stdout_contains("value=100");
    }
}

#[test]
fn bad_writes_are_refused_whole() {
    let debuggee = Debuggee::spawn(&fixtures::c_app(), &[], &[]);
    let mut client = connect(&debuggee);
    let line = fixtures::dwarf_line_table(&fixtures::read(fixtures::c_app()), Some("app.c"));
    let pc = line[&line_of(fixtures::c_app_src(), "add_entry")];
    assert_eq!(
        client.request(&format!(
            "Z0,{:x},1",
            0x4000_0000_0000_0000u64 | u64::from(pc)
        )),
        "OK"
    );
    stop(&mut client, "vCont;c:p1.-1");
    // Module bytecode is read-only.
    assert!(client.request("M4000000000000000,1:00").starts_with('E'));
    assert!(client.request("X4000000000000000,1:a").starts_with('E'));
    // Past the end of linear memory: nothing is written, not even the in-bounds part.
    let size = 0x20000u64; // the fixture's 2 pages
    let straddling = format!("M{:x},8:{}", size - 4, hex_encode(&[0xaa; 8]));
    assert!(client.request(&straddling).starts_with('E'));
    assert_eq!(client.request(&format!("m{:x},4", size - 4)), "00000000");
    // An in-bounds write reads back.
    assert_eq!(client.request(&format!("M{:x},4:01020304", size - 4)), "OK");
    assert_eq!(client.request(&format!("m{:x},4", size - 4)), "01020304");
}

#[test]
fn kill_ends_the_run_promptly() {
    // A program that would run for 30 s on its own.
    let mut debuggee = Debuggee::spawn(&fixtures::c_loop_forever(), &[], &["30"]);
    let run = Batch::new(debuggee.addr())
        .commands(&["breakpoint set --name spin", "continue", "process kill"])
        .run();
    run.assert_contains("exited with status = 9");
    let killed = Instant::now();
    let out = debuggee
        .try_wait_exit(Duration::from_secs(10))
        .expect("wasmtime should end after kill");
    eprintln!("wasmtime ended {:?} after the kill", killed.elapsed());
    assert!(!out.success());
    assert!(
        !out.stdout.contains("done"),
        "the program must not run to its end: {}",
        out.stdout
    );
}

#[test]
fn detach_lets_the_program_run_and_a_new_client_can_attach() {
    let mut debuggee = Debuggee::spawn(&fixtures::c_loop_forever(), &[], &["30"]);
    let first = Batch::new(debuggee.addr())
        .commands(&[
            "breakpoint set --name spin",
            "continue",
            "bt",
            "process detach",
        ])
        .run();
    first.assert_contains("spin");
    first.assert_contains("detached");
    debuggee.wait_for_stdout("progress", Duration::from_secs(20));

    // A TCP probe of the port does not end debugging.
    drop(TcpStream::connect(debuggee.addr()).expect("probe"));

    let second = Batch::new(debuggee.addr())
        .commands(&["bt", "target variable g_counter", "process detach"])
        .run();
    second.assert_contains("main");
    second.assert_contains("g_counter =");
    second.assert_not_contains("g_counter = 0\n");

    // A raw client stops the program through the `?` attach, sets g_stop and detaches: the
    // program ends on its own, having seen the write.
    let mut client = connect(&debuggee);
    assert!(client.request("?").starts_with('T'));
    let source = fixtures::read(fixtures::c_loop_forever());
    let g_stop = fixtures::data_symbol_address(&source, "g_stop");
    assert_eq!(client.request(&format!("M{g_stop:x},4:01000000")), "OK");
    client.send("D;1");
    let out = debuggee.wait_exit(Duration::from_secs(30));
    out.assert_success();
    out.assert_stdout_contains("stop=1");
}

#[test]
fn interrupt_stops_a_running_loop() {
    let debuggee = Debuggee::spawn(&fixtures::c_loop_forever(), &[], &["30"]);
    let mut client = connect(&debuggee);
    client.send("vCont;c:p1.-1");
    std::thread::sleep(Duration::from_millis(300));
    let asked = Instant::now();
    client.interrupt().unwrap();
    let reply = StopReply::parse(
        &client
            .recv_reply(Duration::from_secs(10))
            .expect("stop reply"),
    )
    .unwrap();
    let latency = asked.elapsed();
    assert_eq!((reply.kind, reply.code), ('T', 2), "SIGINT: {reply:?}");
    eprintln!("interrupt latency: {latency:?}");
    assert!(
        latency < Duration::from_secs(1),
        "interrupt took {latency:?}"
    );
    assert!(
        client.request("qWasmCallStack:1").len() >= 32,
        "a stack at the interrupt"
    );
    client.send("k");
}

#[test]
fn a_second_client_is_refused_without_disturbing_the_first() {
    let mut debuggee = Debuggee::spawn(&fixtures::c_app(), &[], &[]);
    let mut first = connect(&debuggee);
    assert!(first.request("?").starts_with('T'));
    let mut second = Client::connect(debuggee.addr()).expect("tcp connect");
    let refusal = second.recv_raw(Duration::from_secs(5)).unwrap();
    assert!(String::from_utf8_lossy(&refusal).contains("another debugger is attached"));
    assert!(second.wait_closed(Duration::from_secs(5)));
    assert!(
        first
            .request("qWasmCallStack:1")
            .starts_with(|c: char| c.is_ascii_hexdigit())
    );
    let reply = stop(&mut first, "vCont;c:p1.-1");
    assert_eq!(reply.kind, 'W');
    debuggee.wait_exit(Duration::from_secs(30)).assert_success();
}

#[test]
fn divide_by_zero_stops_with_sigfpe_and_ends_as_wasmtime_reports_it() {
    let mut debuggee = Debuggee::spawn(&fixtures::c_trap_div(), &[], &[]);
    let mut client = connect(&debuggee);
    let reply = stop(&mut client, "vCont;c:p1.-1");
    assert_eq!((reply.kind, reply.code), ('T', 8), "{reply:?}");
    assert!(description(&reply).contains("divide by zero"), "{reply:?}");
    assert!(
        client.request("qWasmCallStack:1").len() >= 32,
        "bt works at the trap"
    );
    let end = stop(&mut client, "vCont;c:p1.-1");
    assert_eq!(
        (end.kind, end.code),
        ('X', 8),
        "terminated by the trap: {end:?}"
    );
    let out = debuggee.wait_exit(Duration::from_secs(30));
    assert_eq!(out.code(), Some(134));
    out.assert_stderr_contains("wasm trap: integer divide by zero");
}

#[test]
fn trap_reasons_show_in_lldb() {
    for (wasm, expected) in [
        (fixtures::c_trap_div(), "integer divide by zero"),
        (fixtures::wat_unreachable(), "unreachable"),
        (fixtures::rust_panic_p1(), "unreachable"),
        (fixtures::rust_panic_p2(), "unreachable"),
    ] {
        let debuggee = Debuggee::spawn(&wasm, &[], &[]);
        let run = Batch::new(debuggee.addr())
            .commands(&["continue", "bt"])
            .run();
        run.assert_contains("stop reason = wasm trap: ");
        run.assert_contains(expected);
    }
}

#[test]
fn exit_status_reaches_lldb_and_the_shell() {
    let mut debuggee = Debuggee::spawn(&fixtures::c_exit_code(), &[], &[]);
    let run = Batch::new(debuggee.addr()).commands(&["continue"]).run();
    run.assert_contains("exited with status = 3");
    let out = debuggee.wait_exit(Duration::from_secs(30));
    assert_eq!(out.code(), Some(3));
    out.assert_stdout_contains("exiting with 3");
}

#[test]
fn a_thrown_exception_stops_and_the_program_resumes() {
    let mut debuggee = Debuggee::builder(&fixtures::wat_throw())
        .wasmtime_args(&["-W", "exceptions=y"])
        .spawn();
    let mut client = connect(&debuggee);
    let reply = stop(&mut client, "vCont;c:p1.-1");
    assert_eq!(reply.get("reason"), Some("exception"), "{reply:?}");
    assert!(description(&reply).contains("exception thrown"));
    let throw_pc = fixtures::wat_offset_of("wat/throw.wat", "throw");
    assert!(client.request("qWasmCallStack:1").starts_with(&hex_encode(
        &(0x4000_0000_0000_0000u64 | u64::from(throw_pc)).to_le_bytes()
    )));
    let end = stop(&mut client, "vCont;c:p1.-1");
    assert_eq!(
        (end.kind, end.code),
        ('W', 0),
        "the exception is caught and the program ends normally"
    );
    debuggee.wait_exit(Duration::from_secs(30)).assert_success();
}
