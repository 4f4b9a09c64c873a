//! `wasmtime serve` as an entry point: a wasi:http handler (tests/fixtures/http-handler) served
//! by a stock Wasmtime under the debug component,
//!
//! ```sh
//! wasmtime serve -Scli -D debugger=wasm_gdbstub.wasm -D arg=127.0.0.1:0 --addr 127.0.0.1:0 handler.wasm
//! ```
//!
//! One store serves every request in turn, so one LLDB session sees them all. LLDB runs from
//! its Python API in a child process (synchronous mode, so `continue` returns at the next stop)
//! while this test sends HTTP requests from its own threads.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use common::debuggee::{Captured, find_listen_addr};
use common::fixtures;
use common::rsp::Client;

const TIMEOUT: Duration = Duration::from_secs(60);

/// A child process killed when the test ends, however it ends.
struct KillOnDrop(Captured);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        self.0.kill();
    }
}

/// Parses `Serving HTTP on http://HOST:PORT/`, Wasmtime's line once it listens.
fn find_http_addr(text: &[u8]) -> Option<SocketAddr> {
    let text = String::from_utf8_lossy(text);
    text.lines().find_map(|line| {
        let rest = &line[line.find("Serving HTTP on http://")? + "Serving HTTP on http://".len()..];
        rest.trim_end().trim_end_matches('/').parse().ok()
    })
}

/// Decodes a `Transfer-Encoding: chunked` body.
fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = body.windows(2).position(|w| w == b"\r\n") else {
            panic!(
                "truncated chunked body: {:?}",
                String::from_utf8_lossy(body)
            );
        };
        let size_text = String::from_utf8_lossy(&body[..eol]);
        let size_text = size_text.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16)
            .unwrap_or_else(|e| panic!("bad chunk size {size_text:?}: {e}"));
        body = &body[eol + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&body[..size]);
        body = &body[size + 2..];
    }
}

/// `GET path` over plain HTTP/1.1 with `Connection: close`: (status code, body).
fn get(addr: SocketAddr, path: &str) -> Result<(u16, String), String> {
    let mut stream =
        TcpStream::connect_timeout(&addr, TIMEOUT).map_err(|e| format!("connect: {e}"))?;
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(TIMEOUT)).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| format!("send: {e}"))?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).map_err(|e| {
        format!(
            "read (got {:?} so far): {e}",
            String::from_utf8_lossy(&response)
        )
    })?;
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("no header end in {:?}", String::from_utf8_lossy(&response)))?;
    let head = String::from_utf8_lossy(&response[..split]).into_owned();
    let raw_body = &response[split + 4..];
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no status in {head:?}"))?;
    let chunked = head
        .lines()
        .any(|l| l.to_ascii_lowercase().replace(' ', "") == "transfer-encoding:chunked");
    let body = if chunked {
        dechunk(raw_body)
    } else {
        raw_body.to_vec()
    };
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

/// Sends `GET path` from another thread and waits for the answer for at most [`TIMEOUT`].
fn get_in_background(
    addr: SocketAddr,
    path: &str,
) -> mpsc::Receiver<Result<(u16, String), String>> {
    let (tx, rx) = mpsc::channel();
    let path = path.to_string();
    thread::spawn(move || {
        let _ = tx.send(get(addr, &path));
    });
    rx
}

fn fib(n: u32) -> u64 {
    let (mut a, mut b) = (0u64, 1u64);
    for _ in 0..n {
        (a, b) = (b, a + b);
    }
    a
}

/// Drives LLDB: connects, sets a breakpoint at `FILE:LINE`, prints `READY`, then for each of
/// `STOPS` stops runs `continue` and inspects the frame (the first stop also runs `next`);
/// after the last stop it runs `process detach`, or, with `idle`, one more `continue` that waits
/// for a request while the test kills it. Every command is
/// echoed as `(lldb) COMMAND` followed by its output, then a `STOP i` marker per stop.
const SCRIPT: &str = r#"
import sys, lldb
addr, src_file, line, stops = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
leave = sys.argv[5]
lldb.SBDebugger.Initialize()
dbg = lldb.SBDebugger.Create(False)
dbg.SetAsync(False)
ci = dbg.GetCommandInterpreter()
def cmd(c):
    r = lldb.SBCommandReturnObject()
    ci.HandleCommand(c, r)
    print("(lldb) " + c, flush=True)
    print(r.GetOutput() + r.GetError(), flush=True)
    return r.Succeeded()
if not cmd("process connect --plugin wasm connect://" + addr):
    sys.exit(2)
cmd("breakpoint set --file %s --line %s" % (src_file, line))
print("READY", flush=True)
for i in range(stops):
    cmd("continue")
    cmd("frame variable n")
    if i == 0:
        cmd("next")
        cmd("frame variable a")
    print("STOP %d" % i, flush=True)
if leave == "idle":
    # Let the server run on with the breakpoint planted: it idles until the next request, and
    # the test kills this process meanwhile.
    print("IDLE", flush=True)
    cmd("continue")
else:
    cmd("process detach")
print("DONE", flush=True)
"#;

/// How the debug component is given to `wasmtime serve`.
#[derive(Copy, Clone)]
enum Debugger {
    /// A stock Wasmtime with `-D debugger=wasm_gdbstub.wasm -D arg=127.0.0.1:0`.
    Component,
    /// The Wasmtime built with the component inside (scripts/build-wasmtime-gdbstub.sh), `-g`.
    BuiltIn,
}

/// `wasmtime serve` of the handler under the stub, once the stub listens: the server and the
/// stub's address.
fn start_server(debugger: Debugger) -> (KillOnDrop, SocketAddr) {
    let mut serve = match debugger {
        Debugger::Component => {
            let mut cmd = Command::new(common::wasmtime_path());
            cmd.args(["serve", "-Scli", "-D"])
                .arg(format!("debugger={}", common::component_path().display()))
                .args(["-D", "arg=127.0.0.1:0"]);
            cmd
        }
        Debugger::BuiltIn => {
            let mut cmd = Command::new(common::builtin_wasmtime());
            cmd.args(["serve", "-Scli", "-g", "127.0.0.1:0"]);
            cmd
        }
    };
    serve
        .args(["--addr", "127.0.0.1:0"])
        .arg(fixtures::http_handler());
    let mut server = KillOnDrop(
        Captured::spawn(&mut serve).unwrap_or_else(|e| panic!("cannot start {serve:?}: {e}")),
    );
    let listening = server.0.wait_for(TIMEOUT, |out, err| {
        find_listen_addr(err).is_some() || find_listen_addr(out).is_some()
    });
    assert!(
        listening,
        "no `listening on` line from the stub\n{}",
        server.0.transcript()
    );
    let stub_addr = find_listen_addr(server.0.stderr().as_bytes())
        .or_else(|| find_listen_addr(server.0.stdout().as_bytes()))
        .unwrap();
    eprintln!("stub listening on {stub_addr}: {}", server.0.description());
    (server, stub_addr)
}

/// Wasmtime's HTTP address, once it serves (it starts when the debugger lets the store run).
fn wait_http_addr(server: &mut KillOnDrop) -> Option<SocketAddr> {
    let serving = server.0.wait_for(TIMEOUT, |out, err| {
        find_http_addr(err).is_some() || find_http_addr(out).is_some()
    });
    serving.then(|| {
        find_http_addr(server.0.stderr().as_bytes())
            .or_else(|| find_http_addr(server.0.stdout().as_bytes()))
            .unwrap()
    })
}

/// What the server and LLDB printed, for failure messages.
fn transcripts(server: &KillOnDrop, lldb: &KillOnDrop) -> String {
    format!(
        "--- wasmtime serve\n{}\n--- LLDB (Python)\n{}",
        server.0.transcript(),
        lldb.0.transcript()
    )
}

/// `wasmtime serve` of the handler under the stub, and LLDB (Python, in a child process)
/// connected to it with a breakpoint on `fib`'s first line, once Wasmtime serves HTTP.
struct Session {
    server: KillOnDrop,
    lldb: KillOnDrop,
    http_addr: SocketAddr,
    bp_line: u32,
    next_line: u32,
}

impl Session {
    /// `stops` requests will stop at the breakpoint; `leave` is `detach` or `idle` (see SCRIPT).
    fn start(debugger: Debugger, stops: usize, leave: &str) -> Session {
        let source = "http-handler/src/main.rs";
        let bp_line = fixtures::line_of(source, "fib_first");
        let next_line = fixtures::line_of(source, "fib_second");
        let (server, stub_addr) = start_server(debugger);

        let mut python = Command::new(common::tools::tool("python3"));
        let mut pythonpath = common::lldb::python_path().into_os_string();
        if let Some(existing) = std::env::var_os("PYTHONPATH") {
            pythonpath.push(":");
            pythonpath.push(existing);
        }
        python
            .env("PYTHONPATH", pythonpath)
            .env("TERM", "dumb")
            .arg("-c")
            .arg(SCRIPT)
            .arg(stub_addr.to_string())
            .arg("main.rs")
            .arg(bp_line.to_string())
            .arg(stops.to_string())
            .arg(leave);
        let lldb = KillOnDrop(
            Captured::spawn(&mut python).unwrap_or_else(|e| panic!("cannot start {python:?}: {e}")),
        );
        let mut session = Session {
            server,
            lldb,
            http_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            bp_line,
            next_line,
        };
        let ready = session.lldb.0.wait_for(TIMEOUT, |out, _| {
            String::from_utf8_lossy(out).contains("READY")
        });
        assert!(
            ready,
            "LLDB did not connect and set the breakpoint\n{}",
            session.transcripts()
        );
        assert!(
            session
                .lldb
                .0
                .stdout()
                .contains(&format!("main.rs:{bp_line}")),
            "the breakpoint should resolve to main.rs:{bp_line}\n{}",
            session.transcripts()
        );
        session.http_addr = wait_http_addr(&mut session.server)
            .unwrap_or_else(|| panic!("no `Serving HTTP on` line\n{}", session.transcripts()));
        eprintln!("serving HTTP on {}", session.http_addr);
        session
    }

    fn transcripts(&self) -> String {
        transcripts(&self.server, &self.lldb)
    }

    /// Requests served with no debugger in the way: each answered right, none stopped.
    fn assert_served(&self, ns: &[u32], when: &str) {
        for &n in ns {
            let answer = get(self.http_addr, &format!("/fib/{n}"))
                .unwrap_or_else(|e| panic!("/fib/{n} {when}: {e}\n{}", self.transcripts()));
            assert_eq!(
                answer,
                (200, fib(n).to_string()),
                "response to /fib/{n} {when}\n{}",
                self.transcripts()
            );
        }
    }
}

/// The issue's case: LLDB planted a breakpoint, one request stopped and was continued, the server
/// went back to waiting for requests, and LLDB was killed outright. The server must live on and
/// serve every later request, with the breakpoint gone.
#[test]
fn a_server_idling_with_a_breakpoint_survives_its_debugger_killed() {
    let mut session = Session::start(Debugger::Component, 1, "idle");
    let reply = get_in_background(session.http_addr, "/fib/9");
    let idle = session.lldb.0.wait_for(TIMEOUT, |out, _| {
        String::from_utf8_lossy(out).contains("IDLE")
    });
    assert!(
        idle,
        "the first request did not stop\n{}",
        session.transcripts()
    );
    let answer = reply
        .recv_timeout(TIMEOUT)
        .expect("a response to /fib/9")
        .unwrap_or_else(|e| panic!("/fib/9: {e}\n{}", session.transcripts()));
    assert_eq!(answer, (200, fib(9).to_string()));
    // The server now waits for a request with the breakpoint planted and a resumption pending.
    thread::sleep(Duration::from_millis(300));
    session.lldb.0.kill();
    thread::sleep(Duration::from_millis(300));
    session.assert_served(&[11, 2, 25], "after LLDB was killed");
    assert!(
        session.server.0.try_status().is_none(),
        "wasmtime serve ended\n{}",
        session.transcripts()
    );
}

#[test]
fn lldb_debugs_requests_served_by_wasmtime_serve() {
    debug_requests(Debugger::Component);
}

/// The same session through `wasmtime serve -g` and the component built into Wasmtime.
#[test]
fn lldb_debugs_requests_served_by_wasmtime_serve_with_the_builtin_debugger() {
    debug_requests(Debugger::BuiltIn);
}

fn debug_requests(debugger: Debugger) {
    // Requests that stop at the breakpoint, then ones served after LLDB detached.
    let debugged: [u32; 3] = [10, 7, 20];
    let after_detach: [u32; 3] = [12, 1, 30];
    let Session {
        mut server,
        mut lldb,
        http_addr,
        bp_line,
        next_line,
    } = Session::start(debugger, debugged.len(), "detach");

    for (i, &n) in debugged.iter().enumerate() {
        let reply = get_in_background(http_addr, &format!("/fib/{n}"));
        let marker = format!("STOP {i}\n");
        let stopped = lldb.0.wait_for(TIMEOUT, |out, _| {
            String::from_utf8_lossy(out).contains(&marker)
        });
        assert!(
            stopped,
            "request {i} (/fib/{n}) did not stop at the breakpoint\n{}",
            transcripts(&server, &lldb)
        );
        let out = lldb.0.stdout();
        let stop = out
            .split("READY\n")
            .nth(1)
            .unwrap()
            .split("STOP ")
            .nth(i)
            .unwrap()
            .to_string();
        let sections = common::lldb::sections(&stop);
        let section = |command: &str| {
            sections
                .iter()
                .find(|s| s.starts_with(command))
                .unwrap_or_else(|| {
                    panic!(
                        "no `{command}` at stop {i}\n{}",
                        transcripts(&server, &lldb)
                    )
                })
                .clone()
        };
        let cont = section("continue");
        assert!(
            cont.contains("stop reason = breakpoint 1.1")
                && cont.contains(&format!("main.rs:{bp_line}")),
            "request {i}: `continue` should stop at the breakpoint at main.rs:{bp_line}, got:\n{cont}\n{}",
            transcripts(&server, &lldb)
        );
        let vars = section("frame variable n");
        assert!(
            vars.contains(&format!("n = {n}")),
            "request {i}: `frame variable n` should show n = {n}, got:\n{vars}\n{}",
            transcripts(&server, &lldb)
        );
        if i == 0 {
            let next = section("next");
            assert!(
                next.contains("stop reason = step over")
                    && next.contains(&format!("main.rs:{next_line}")),
                "`next` should move to main.rs:{next_line}, got:\n{next}\n{}",
                transcripts(&server, &lldb)
            );
            let a = section("frame variable a");
            assert!(
                a.contains("a = 0"),
                "after `next`, a = 0, got:\n{a}\n{}",
                transcripts(&server, &lldb)
            );
        }
        // The next `continue` (or, after the last stop, `process detach`) lets it finish.
        let answer = reply
            .recv_timeout(TIMEOUT)
            .unwrap_or_else(|_| {
                panic!(
                    "no HTTP response to /fib/{n}\n{}",
                    transcripts(&server, &lldb)
                )
            })
            .unwrap_or_else(|e| panic!("/fib/{n}: {e}\n{}", transcripts(&server, &lldb)));
        assert_eq!(
            answer,
            (200, fib(n).to_string()),
            "response to /fib/{n}\n{}",
            transcripts(&server, &lldb)
        );
    }

    let exited = lldb.0.wait_timeout(TIMEOUT);
    let detached = exited
        .as_ref()
        .is_some_and(|o| o.success() && o.stdout.contains("DONE"));
    assert!(
        detached,
        "LLDB should detach and exit\n{}",
        transcripts(&server, &lldb)
    );
    let detach = common::lldb::sections(&lldb.0.stdout())
        .into_iter()
        .find(|s| s.starts_with("process detach"))
        .unwrap();
    assert!(
        !detach.contains("error"),
        "`process detach` failed:\n{detach}\n{}",
        transcripts(&server, &lldb)
    );

    // With LLDB gone, requests run straight through: no breakpoint left behind to stop them.
    for n in after_detach {
        let answer = get(http_addr, &format!("/fib/{n}")).unwrap_or_else(|e| {
            panic!(
                "/fib/{n} after detach: {e}\n{}",
                transcripts(&server, &lldb)
            )
        });
        assert_eq!(
            answer,
            (200, fib(n).to_string()),
            "response to /fib/{n} after detach\n{}",
            transcripts(&server, &lldb)
        );
    }
    let answer = get(http_addr, "/nope").unwrap();
    assert_eq!(answer.0, 404, "unknown path after detach: {answer:?}");
    assert!(
        server.0.try_status().is_none(),
        "wasmtime serve should still be running\n{}",
        transcripts(&server, &lldb)
    );
    eprintln!("{}", transcripts(&server, &lldb));
}

/// `process interrupt` while the server idles: Wasmtime can only stop the program when it runs
/// Wasm again, so the stub tells LLDB (console output) why it waits, and the interrupt stops the
/// program in a following request; after `continue` that request is answered.
///
/// `wasmtime serve` resets the epoch deadline for every request and ticks the epoch every
/// millisecond, so a request shorter than a tick can run to its end before the interrupt takes
/// effect: requests are sent one after another until one stops, and each is answered correctly.
#[test]
fn interrupting_an_idle_server_says_why_and_stops_at_a_following_request() {
    const MAX_REQUESTS: u32 = 40;
    let (mut server, stub_addr) = start_server(Debugger::Component);
    let mut client = Client::connect(stub_addr).expect("connect to the stub");
    client.set_timeout(TIMEOUT);
    client.no_ack();
    assert!(client.request("?").starts_with('T'));
    client.send("vCont;c:p1.-1");
    let http_addr = wait_http_addr(&mut server)
        .unwrap_or_else(|| panic!("no `Serving HTTP on` line\n{}", server.0.transcript()));
    thread::sleep(Duration::from_millis(200));
    client.interrupt().expect("send ^C");
    let notice = client
        .recv_reply(Duration::from_secs(10))
        .unwrap_or_else(|e| {
            panic!(
                "no word from the stub after ^C: {e}\n{}",
                client.transcript()
            )
        });
    let text = notice
        .strip_prefix('O')
        .and_then(common::rsp::hex_decode)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_else(|| panic!("expected console output, got {notice:?}"));
    assert!(
        text.contains("interrupt requested") && text.contains("next request"),
        "{text}"
    );
    let deadline = std::time::Instant::now() + TIMEOUT;
    let mut sent = 0;
    let (n, stop, reply) = 'requests: loop {
        assert!(
            sent < MAX_REQUESTS,
            "no stop after {sent} requests\n{}",
            client.transcript()
        );
        let n = 10 + sent;
        sent += 1;
        let reply = get_in_background(http_addr, &format!("/fib/{n}"));
        loop {
            assert!(
                std::time::Instant::now() < deadline,
                "no stop and no answer to /fib/{n}\n{}",
                client.transcript()
            );
            match client.recv_reply(Duration::from_millis(50)) {
                Ok(stop) => break 'requests (n, stop, reply),
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(e) => panic!("reading the stop: {e}\n{}", client.transcript()),
            }
            match reply.try_recv() {
                Ok(answer) => {
                    // Finished within one epoch tick: the interrupt is still pending.
                    assert_eq!(answer, Ok((200, fib(n).to_string())), "/fib/{n}");
                    continue 'requests;
                }
                Err(mpsc::TryRecvError::Empty) => {}
                Err(mpsc::TryRecvError::Disconnected) => panic!("the /fib/{n} client vanished"),
            }
        }
    };
    eprintln!("the interrupt took effect in request {sent}");
    assert!(
        stop.starts_with("T02"),
        "expected a SIGINT stop, got {stop}"
    );
    client.send("vCont;c:p1.-1");
    let answer = reply
        .recv_timeout(TIMEOUT)
        .unwrap_or_else(|_| panic!("a response to /fib/{n}"))
        .unwrap_or_else(|e| panic!("/fib/{n}: {e}"));
    assert_eq!(answer, (200, fib(n).to_string()));
}
