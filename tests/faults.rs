//! Faults end to end with a real Wasmtime: a client that vanishes at each phase of a session
//! (while connecting, mid-packet, at a stop, while the program runs, during a large read), a
//! second client while one is stepping, and a listen address that is already taken. In every
//! case the program must run on without the debugger's breakpoints and finish with its output
//! intact, and the stub must take the next client.

mod common;

use common::fixtures;
use common::rsp::{Client, StopReply};
use common::{Debuggee, line_of};
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

const CODE: u64 = 0x4000_0000_0000_0000;

fn code_addr(wasm: &std::path::Path, source: &std::path::Path, file: &str, mark: &str) -> u64 {
    let lines = fixtures::dwarf_line_table(&fixtures::read(wasm), Some(file));
    CODE | u64::from(lines[&line_of(source, mark)])
}

fn spin_body() -> u64 {
    code_addr(
        &fixtures::c_loop_forever(),
        &fixtures::c_loop_forever_src(),
        "loop_forever.c",
        "spin_body",
    )
}

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

/// The console text of a monitor command.
fn monitor(client: &mut Client, command: &str) -> String {
    let hex: String = command.bytes().map(|b| format!("{b:02x}")).collect();
    client.send(&format!("qRcmd,{hex}"));
    let mut text = Vec::new();
    loop {
        let reply = client
            .recv_reply(Duration::from_secs(20))
            .expect("monitor reply");
        if reply == "OK" {
            return String::from_utf8_lossy(&text).into_owned();
        }
        let hex = reply
            .strip_prefix('O')
            .unwrap_or_else(|| panic!("monitor {command}: {reply}"));
        text.extend(common::rsp::hex_decode(hex).expect("hex output"));
    }
}

/// Drops the connection the way a crashed debugger does: no detach, unread replies discarded.
fn vanish(client: Client) {
    let _ = client.stream().shutdown(Shutdown::Both);
    drop(client);
}

/// How long the long-running fixture runs on its own: long enough for a phase, a re-attach and a
/// check that the program moved on, short enough for a test.
const LOOP_SECONDS: &str = "10";

/// Runs `phase` with a first client that then vanishes, and checks the aftermath: the program
/// runs on, a second client attaches and finds no breakpoint left (planted or listed) and a
/// continue that is not stopped by one, and after it detaches the program finishes normally.
fn vanish_then_reattach(phase: impl FnOnce(&mut Client)) {
    let mut debuggee = Debuggee::spawn(&fixtures::c_loop_forever(), &[], &[LOOP_SECONDS]);
    let mut first = Client::connect(debuggee.addr()).expect("connect");
    first.set_timeout(Duration::from_secs(20));
    phase(&mut first);
    vanish(first);
    debuggee.wait_for_stdout("progress", Duration::from_secs(20));

    let mut second = connect(&debuggee);
    let attach = stop(&mut second, "?");
    assert_eq!(attach.kind, 'T', "{attach:?}");
    assert!(
        second.request("qWasmCallStack:1").len() >= 32,
        "a stack at the attach"
    );
    let breakpoints = monitor(&mut second, "breakpoints");
    assert!(
        breakpoints.contains("user breakpoints: none"),
        "{breakpoints}"
    );
    assert!(
        breakpoints.contains("planted in Wasmtime: none"),
        "{breakpoints}"
    );
    second.send("vCont;c:p1.-1");
    thread::sleep(Duration::from_millis(300));
    second.interrupt().unwrap();
    let interrupted = StopReply::parse(
        &second
            .recv_reply(Duration::from_secs(10))
            .expect("stop reply"),
    )
    .unwrap();
    assert_eq!(
        (interrupted.kind, interrupted.code),
        ('T', 2),
        "stopped by the interrupt, not a leftover breakpoint"
    );
    assert_eq!(second.request("D"), "OK");
    let out = debuggee.wait_exit(Duration::from_secs(60));
    out.assert_success();
    out.assert_stdout_contains("loop_forever done");
}

#[test]
fn vanish_during_connect_after_qsupported() {
    vanish_then_reattach(|client| {
        let features = client
            .request("qSupported:xmlRegisters=i386,arm,mips,arc;multiprocess+;vContSupported+");
        assert!(features.contains("PacketSize="), "{features}");
    });
}

#[test]
fn vanish_in_the_middle_of_a_packet() {
    vanish_then_reattach(|client| {
        client.no_ack();
        client.send_raw(b"$qWasmCallSt").unwrap();
        thread::sleep(Duration::from_millis(200));
    });
}

#[test]
fn vanish_at_a_stop_with_breakpoints_planted() {
    vanish_then_reattach(|client| {
        client.no_ack();
        assert_eq!(client.request(&format!("Z0,{:x},1", spin_body())), "OK");
        let hit = stop(client, "vCont;c:p1.-1");
        assert_eq!(hit.kind, 'T');
        // A step leaves temporary breakpoints planted until it ends; vanish right after one.
        assert_eq!(stop(client, "vCont;s:p1.1").kind, 'T');
        assert_eq!(
            stop(client, "vCont;c:p1.-1").kind,
            'T',
            "the breakpoint is hit again"
        );
    });
}

#[test]
fn vanish_while_the_program_runs() {
    vanish_then_reattach(|client| {
        client.no_ack();
        client.send("vCont;c:p1.-1");
        thread::sleep(Duration::from_millis(500));
    });
}

/// The program waits in a host call when its client vanishes, with a breakpoint planted and the
/// resumption pending: the stub must not touch the debuggee until the program stops by itself
/// (Wasmtime ends the whole run if its debuggee interface is used meanwhile), and the breakpoint
/// must be gone when the program gets there.
#[test]
fn vanish_while_the_program_waits_in_a_host_call() {
    let wasm = fixtures::c_sleep_then_call();
    let mut debuggee = Debuggee::spawn(&wasm, &[], &[]);
    let mut client = connect(&debuggee);
    let source = fixtures::src("c/sleep_then_call.c");
    let bp = code_addr(&wasm, &source, "sleep_then_call.c", "work_body");
    assert_eq!(client.request(&format!("Z0,{bp:x},1")), "OK");
    client.send("vCont;c:p1.-1");
    thread::sleep(Duration::from_millis(500));
    vanish(client);
    let out = debuggee.wait_exit(Duration::from_secs(60));
    out.assert_success();
    out.assert_stdout_contains("work=42");
}

#[test]
fn vanish_during_a_large_memory_read() {
    vanish_then_reattach(|client| {
        client.no_ack();
        // Half a MiB of module bytes: a reply of a MiB of hex that the client never reads.
        client.send("m4000000000000000,80000");
        client.send("x4000000000000000,80000");
        let mut some = [0u8; 64];
        let _ = client.stream().read(&mut some);
    });
}

/// A program that needs no debugger: after a client vanishes at a stop it runs to its end and
/// prints everything it should.
#[test]
fn vanish_at_a_stop_and_the_program_finishes_intact() {
    let mut debuggee = Debuggee::spawn(&fixtures::c_app(), &[], &[]);
    let mut client = connect(&debuggee);
    let bp = code_addr(
        &fixtures::c_app(),
        &fixtures::c_app_src(),
        "app.c",
        "fact_base",
    );
    assert_eq!(client.request(&format!("Z0,{bp:x},1")), "OK");
    assert_eq!(stop(&mut client, "vCont;c:p1.-1").kind, 'T');
    assert_eq!(stop(&mut client, "vCont;s:p1.1").kind, 'T');
    vanish(client);
    let out = debuggee.wait_exit(Duration::from_secs(60));
    out.assert_success();
    for line in [
        "fact(6)=720",
        "total=20",
        "point=13,24",
        "straight20=190",
        "counter=5",
        "value=7",
    ] {
        out.assert_stdout_contains(line);
    }
}

/// The pcs of `count` steps from the first hit of `add_entry`, with `meddle` run before each
/// step.
fn step_trace(debuggee: &Debuggee, count: usize, mut meddle: impl FnMut(usize)) -> Vec<String> {
    let mut client = connect(debuggee);
    let bp = code_addr(
        &fixtures::c_app(),
        &fixtures::c_app_src(),
        "app.c",
        "add_entry",
    );
    assert_eq!(client.request(&format!("Z0,{bp:x},1")), "OK");
    assert_eq!(stop(&mut client, "vCont;c:p1.-1").kind, 'T');
    assert_eq!(client.request(&format!("z0,{bp:x},1")), "OK");
    let mut pcs = Vec::new();
    for i in 0..count {
        meddle(i);
        let step = stop(&mut client, "vCont;s:p1.1");
        assert_eq!(step.kind, 'T', "{step:?}");
        pcs.push(step.get("00").unwrap_or_default().to_string());
        pcs.push(client.request("qWasmCallStack:1"));
    }
    meddle(count);
    let end = stop(&mut client, "vCont;c:p1.-1");
    assert_eq!((end.kind, end.code), ('W', 0), "{end:?}");
    pcs
}

/// A second client that connects, sends a kill, a detach and a continue without waiting, and
/// expects the refusal.
fn intrude(addr: SocketAddr) {
    let stream = TcpStream::connect(addr).expect("intruder connects");
    assert_refused(&intrude_on(stream));
}

/// What the stub answered the intruder.
fn intrude_on(mut stream: TcpStream) -> String {
    let _ = stream.write_all(b"$k#6b$D#44$vCont;c:p1.-1#0f\x03");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut reply = Vec::new();
    let _ = stream.read_to_end(&mut reply);
    String::from_utf8_lossy(&reply).into_owned()
}

#[track_caller]
fn assert_refused(reply: &str) {
    assert!(
        reply.contains("another debugger is attached"),
        "intruder got {reply:?}"
    );
}

#[test]
fn a_second_client_does_not_disturb_the_first_ones_stepping() {
    const STEPS: usize = 40;
    let mut quiet = Debuggee::spawn(&fixtures::c_app(), &[], &[]);
    let expected = step_trace(&quiet, STEPS, |_| {});
    quiet.wait_exit(Duration::from_secs(30)).assert_success();

    let mut debuggee = Debuggee::spawn(&fixtures::c_app(), &[], &[]);
    let addr = debuggee.addr();
    // Intruders both between steps and at random moments during them.
    let stop_flag = Arc::new(AtomicBool::new(false));
    // Set once the first client sends its last continue: from then on the program may end and
    // take the listener with it, so a refused connection is no longer a failure.
    let finishing = Arc::new(AtomicBool::new(false));
    let refused = Arc::new(AtomicUsize::new(0));
    // Set once the first client is connected: an intruder that came first would be the client
    // (and its `k` would end the program), which is not what this test is about.
    let connected = Arc::new(AtomicBool::new(false));
    let background = {
        let (stop_flag, finishing, refused, connected) = (
            stop_flag.clone(),
            finishing.clone(),
            refused.clone(),
            connected.clone(),
        );
        thread::spawn(move || {
            while !connected.load(Ordering::Relaxed) && !stop_flag.load(Ordering::Relaxed) {
                thread::sleep(Duration::from_millis(2));
            }
            while !stop_flag.load(Ordering::Relaxed) {
                match TcpStream::connect(addr) {
                    Ok(stream) => {
                        let reply = intrude_on(stream);
                        // The kernel completes a connection the ending program never accepts.
                        if reply.is_empty() && finishing.load(Ordering::Relaxed) {
                            eprintln!("intruder: the program ended before answering");
                            break;
                        }
                        assert_refused(&reply);
                    }
                    Err(e) if finishing.load(Ordering::Relaxed) => {
                        eprintln!("intruder: the program is ending ({e})");
                        break;
                    }
                    Err(e) => panic!("intruder connects: {e}"),
                }
                refused.fetch_add(1, Ordering::Relaxed);
                thread::sleep(Duration::from_millis(7));
            }
        })
    };
    let got = step_trace(&debuggee, STEPS, |i| {
        connected.store(true, Ordering::Relaxed);
        if i % 4 == 0 {
            intrude(addr);
        }
        if i == STEPS {
            finishing.store(true, Ordering::Relaxed);
        }
    });
    stop_flag.store(true, Ordering::Relaxed);
    background.join().expect("intruder thread");
    assert_eq!(got, expected, "intruders changed where the steps went");
    assert!(
        refused.load(Ordering::Relaxed) > 0,
        "the background intruder never got in line"
    );
    let out = debuggee.wait_exit(Duration::from_secs(30));
    out.assert_success();
    out.assert_stdout_contains("fact(6)=720");
    out.assert_stdout_contains("value=7");
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The defined outcome when the port is taken: a message through Wasmtime's debugger output and
/// the program run without a debugger; the first stub is unaffected. Fails today: the message
/// comes, but `server::serve` then calls `run_to_end`, which enters `wstd::runtime::block_on`
/// inside the `block_on` already running; wstd panics and the trap ends Wasmtime with status 1
/// (reported; the fix belongs in `src/server.rs`).
#[test]
fn a_listen_address_in_use_runs_the_program_without_a_debugger() {
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut first = Debuggee::builder(&fixtures::c_app())
        .listen(&listen)
        .spawn();
    assert_eq!(first.addr().port(), port);

    let started = Instant::now();
    let second = common::debuggee::run_command(
        &mut Debuggee::builder(&fixtures::c_app())
            .listen(&listen)
            .command(),
        Duration::from_secs(60),
    );
    second.assert_success();
    second.assert_stderr_contains(&format!(
        "Debugger: wasm-gdbstub: cannot listen on {listen}"
    ));
    second.assert_stderr_contains("running the program without a debugger");
    second.assert_stdout_contains("fact(6)=720");
    second.assert_stdout_contains("value=7");
    assert!(!second.stderr.contains("listening on"), "{second}");
    eprintln!("second run ended after {:?}", started.elapsed());

    let mut client = connect(&first);
    assert_eq!(stop(&mut client, "?").kind, 'T');
    let end = stop(&mut client, "vCont;c:p1.-1");
    assert_eq!((end.kind, end.code), ('W', 0));
    first.wait_exit(Duration::from_secs(30)).assert_success();
}
