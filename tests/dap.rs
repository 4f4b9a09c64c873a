//! The IDE path: a Debug Adapter Protocol client talking to a real `lldb-dap-22`, which drives
//! wasm-gdbstub in a real Wasmtime. Both configurations of `.vscode/launch.json` are run as
//! written there (with the workspace folder, program and port filled in): attaching through
//! `attachCommands`, and launching, where LLDB starts Wasmtime through lldb/wasm_gdbstub.py.
//! Each session: initialize, attach or launch, a breakpoint by source line, configurationDone,
//! stopped, stackTrace, scopes, variables, continue, the exit, disconnect. A real program, the
//! C++ corpus, adds stepIn, stepOut and next. Messages are `serde_json` values.

mod common;

use common::{Debuggee, component_path, fixtures, line_of, manifest_dir, wasmtime_path};
use serde_json::{Value as Json, json};
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// How long any single DAP exchange may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(60);

/// A running `lldb-dap-22` and the messages it sent that no one has consumed yet.
struct Dap {
    child: Child,
    stdin: ChildStdin,
    incoming: Receiver<Json>,
    backlog: VecDeque<Json>,
    seq: i64,
    /// Every message both ways, for failure reports.
    log: Vec<String>,
    /// The text of all `output` events (program output and LLDB's console).
    output: String,
    stderr: Arc<Mutex<String>>,
}

impl Dap {
    fn start(env: &[(&str, &Path)]) -> Dap {
        let program = common::tools::tool_or_env("lldb-dap-22", "LLDB_DAP");
        let mut cmd = Command::new(&program);
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for var in [
            "WASMTIME",
            "WASM_GDBSTUB_COMPONENT",
            "WASM_GDBSTUB_LAUNCH_ARGS",
        ] {
            cmd.env_remove(var);
        }
        for (key, value) in env {
            cmd.env(key, value);
        }
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut stderr_pipe = child.stderr.take().unwrap();
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = stderr.clone();
        thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr_pipe.read_to_string(&mut text);
            sink.lock().unwrap().push_str(&text);
        });
        let (tx, incoming) = channel();
        thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            while let Some(message) = read_message(&mut reader) {
                if tx.send(message).is_err() {
                    break;
                }
            }
        });
        Dap {
            child,
            stdin,
            incoming,
            backlog: VecDeque::new(),
            seq: 0,
            log: Vec::new(),
            output: String::new(),
            stderr,
        }
    }

    fn send(&mut self, command: &str, arguments: Json) -> i64 {
        self.seq += 1;
        let message = json!({
            "seq": self.seq,
            "type": "request",
            "command": command,
            "arguments": arguments,
        });
        let body = message.to_string();
        self.log.push(format!("--> {body}"));
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len())
            .expect("write to lldb-dap");
        self.stdin.flush().unwrap();
        self.seq
    }

    /// The first message (backlog first) that `want` accepts; output events are recorded on the
    /// way, everything else stays in the backlog for later waits.
    fn wait(&mut self, what: &str, want: impl Fn(&Json) -> bool) -> Json {
        if let Some(pos) = self.backlog.iter().position(&want) {
            return self.backlog.remove(pos).unwrap();
        }
        let deadline = Instant::now() + STEP_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.incoming.recv_timeout(left) {
                Ok(message) => {
                    self.log.push(format!("<-- {message}"));
                    if message["event"] == "output" {
                        self.output
                            .push_str(message["body"]["output"].as_str().unwrap_or(""));
                    }
                    if want(&message) {
                        return message;
                    }
                    self.backlog.push_back(message);
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!("timed out waiting for {what}\n{}", self.transcript())
                }
                Err(RecvTimeoutError::Disconnected) => panic!(
                    "lldb-dap ended while waiting for {what}\n{}",
                    self.transcript()
                ),
            }
        }
    }

    /// Sends a request and returns its successful response.
    #[track_caller]
    fn request(&mut self, command: &str, arguments: Json) -> Json {
        let seq = self.send(command, arguments);
        let response = self.wait(&format!("the {command} response"), |m| {
            m["type"] == "response" && m["request_seq"].as_i64() == Some(seq)
        });
        assert_eq!(
            response["success"],
            json!(true),
            "{command} failed: {response}\n{}",
            self.transcript()
        );
        response
    }

    fn event(&mut self, name: &str) -> Json {
        self.wait(&format!("a {name} event"), |m| {
            m["type"] == "event" && m["event"] == name
        })
    }

    fn transcript(&self) -> String {
        format!(
            "{}\n--- lldb-dap stderr\n{}",
            self.log.join("\n"),
            self.stderr.lock().unwrap()
        )
    }
}

impl Drop for Dap {
    fn drop(&mut self) {
        if thread::panicking() {
            eprintln!("=== DAP session ===\n{}", self.transcript());
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One `Content-Length`-framed message; `None` at end of stream.
fn read_message(reader: &mut impl BufRead) -> Option<Json> {
    let mut length = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(value) = line.strip_prefix("Content-Length:") {
            length = value.trim().parse::<usize>().ok();
        }
    }
    let mut body = vec![0; length?];
    reader.read_exact(&mut body).ok()?;
    serde_json::from_slice(&body).ok()
}

/// The named configuration of `.vscode/launch.json`, with `${workspaceFolder}` filled in, the
/// program replaced by `program` and the example port by `addr`.
fn launch_json_config(request: &str, program: &Path, addr: Option<&str>) -> Json {
    let path = manifest_dir().join(".vscode/launch.json");
    let mut text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text = text.replace("${workspaceFolder}", &manifest_dir().display().to_string());
    if let Some(addr) = addr {
        text = text.replace("127.0.0.1:1234", addr);
    }
    // launch.json is JSON with comments; its comments are whole `//` lines.
    let text: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect();
    let doc: Json = serde_json::from_str(&text.join("\n"))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut config = items(&doc["configurations"])
        .iter()
        .find(|c| c["request"] == request)
        .unwrap_or_else(|| panic!("no {request} configuration in {}", path.display()))
        .clone();
    assert_eq!(config["type"], "lldb-dap");
    config["program"] = json!(program.display().to_string());
    config
}

/// The elements of a JSON array (none for anything else).
fn items(value: &Json) -> &[Json] {
    value.as_array().map_or(&[], Vec::as_slice)
}

fn initialize(dap: &mut Dap) {
    let response = dap.request(
        "initialize",
        json!({
            "clientID": "wasm-gdbstub-tests",
            "adapterID": "lldb-dap",
            "linesStartAt1": true,
            "columnsStartAt1": true,
            "pathFormat": "path",
        }),
    );
    assert_eq!(
        response["body"]["supportsConfigurationDoneRequest"],
        json!(true)
    );
}

/// Clears `source`'s breakpoints, continues, and checks the program exits with status 0 and the
/// session ends cleanly.
fn finish_without_breakpoints(dap: &mut Dap, source: &Path, thread: i64) {
    set_line_breakpoints(dap, source, &[]);
    dap.request("continue", json!({ "threadId": thread }));
    let exited = dap.event("exited");
    assert_eq!(
        exited["body"]["exitCode"].as_i64(),
        Some(0),
        "{}",
        dap.transcript()
    );
    dap.event("terminated");
    dap.request("disconnect", json!({ "terminateDebuggee": true }));
}

fn set_line_breakpoints(dap: &mut Dap, source: &Path, lines: &[u32]) -> Json {
    let breakpoints: Vec<Json> = lines.iter().map(|&l| json!({ "line": l })).collect();
    dap.request(
        "setBreakpoints",
        json!({
            "source": { "path": source.display().to_string() },
            "breakpoints": breakpoints,
        }),
    )
}

/// The `stackTrace` response for up to 20 frames of `thread`.
fn stack_trace(dap: &mut Dap, thread: i64) -> Json {
    dap.request(
        "stackTrace",
        json!({ "threadId": thread, "startFrame": 0, "levels": 20 }),
    )
}

/// A frame's Locals scope (which holds its arguments too) by name → value.
fn frame_locals(dap: &mut Dap, frame: &Json) -> Vec<(String, String)> {
    let scopes = dap.request("scopes", json!({ "frameId": frame["id"] }));
    let locals = items(&scopes["body"]["scopes"])
        .iter()
        .find(|s| s["name"] == "Locals")
        .unwrap_or_else(|| panic!("no Locals scope: {scopes}"))["variablesReference"]
        .clone();
    let vars = dap.request("variables", json!({ "variablesReference": locals }));
    items(&vars["body"]["variables"])
        .iter()
        .map(|v| {
            (
                v["name"].as_str().unwrap_or("").to_string(),
                v["value"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

/// The top frame's locals by name → value.
fn top_locals(dap: &mut Dap, thread: i64) -> (Json, Vec<(String, String)>) {
    let trace = stack_trace(dap, thread);
    let top = trace["body"]["stackFrames"][0].clone();
    let pairs = frame_locals(dap, &top);
    (trace, pairs)
}

/// From configurationDone to the exit: the breakpoint in `add` stops with `a = 0` and a stack
/// through `main`, `continue` stops again with `a = 1`, and without breakpoints the program runs
/// to its exit.
fn breakpoint_session(dap: &mut Dap, expect_single_location: bool) {
    let source = fixtures::c_app_src();
    let line = line_of(&source, "add_entry");
    let set = set_line_breakpoints(dap, &source, &[line]);
    let first = &set["body"]["breakpoints"][0];
    assert_eq!(first["line"].as_i64(), Some(line as i64), "{set}");

    dap.request("configurationDone", json!({}));
    let stopped = dap.event("stopped");
    assert_eq!(
        stopped["body"]["reason"],
        "breakpoint",
        "{}",
        dap.transcript()
    );
    if expect_single_location {
        assert_eq!(
            stopped["body"]["description"],
            "breakpoint 1.1",
            "{}",
            dap.transcript()
        );
    }
    let thread = stopped["body"]["threadId"].as_i64().expect("threadId");

    let (trace, locals) = top_locals(dap, thread);
    let frames = &trace["body"]["stackFrames"];
    assert_eq!(frames[0]["name"], "add", "{trace}");
    assert_eq!(frames[0]["line"].as_i64(), Some(line as i64));
    assert!(
        frames[0]["source"]["path"]
            .as_str()
            .is_some_and(|p| p.ends_with("app.c"))
    );
    assert_eq!(frames[1]["name"], "main", "{trace}");
    assert_eq!(
        frames[1]["line"].as_i64(),
        Some(line_of(&source, "loop_body") as i64)
    );
    assert!(locals.contains(&("a".into(), "0".into())), "{locals:?}");
    assert!(locals.contains(&("b".into(), "0".into())), "{locals:?}");

    dap.request("continue", json!({ "threadId": thread }));
    let stopped = dap.event("stopped");
    assert_eq!(stopped["body"]["reason"], "breakpoint");
    let (_, locals) = top_locals(dap, thread);
    assert!(locals.contains(&("a".into(), "1".into())), "{locals:?}");

    finish_without_breakpoints(dap, &source, thread);
}

/// The attach configuration: Wasmtime is started by hand, lldb-dap connects with
/// `attachCommands`.
#[test]
fn dap_attach_with_attach_commands() {
    let wasm = fixtures::c_app();
    let mut debuggee = Debuggee::spawn(&wasm, &[], &[]);
    let addr = debuggee.addr().to_string();
    let config = launch_json_config("attach", &wasm, Some(&addr));
    assert!(
        config.to_string().contains(&format!("connect://{addr}")),
        "{config}"
    );

    let mut dap = Dap::start(&[]);
    initialize(&mut dap);
    let seq = dap.send("attach", config);
    dap.event("initialized");
    // The fixture's name section is not its file name, so LLDB keeps two copies here (see
    // tests/entry_points.rs); the launch below shows the single location.
    breakpoint_session(&mut dap, false);
    dap.wait("the attach response", |m| {
        m["request_seq"].as_i64() == Some(seq)
    });
    let program = debuggee.wait_exit(Duration::from_secs(60));
    program.assert_success().assert_stdout_contains("total=20");
}

/// The launch configuration: lldb-dap creates the target, `initCommands` load the set-up, and
/// LLDB's Wasm platform starts Wasmtime through lldb/wasmtime-launch.
#[test]
fn dap_launch_through_the_wasm_platform() {
    let wasm = fixtures::c_app();
    let config = launch_json_config("launch", &wasm, None);
    let wasmtime = wasmtime_path();
    let component = component_path();
    let mut dap = Dap::start(&[
        ("WASMTIME", &wasmtime),
        ("WASM_GDBSTUB_COMPONENT", &component),
    ]);
    initialize(&mut dap);
    let seq = dap.send("launch", config);
    dap.event("initialized");
    breakpoint_session(&mut dap, true);
    let response = dap.wait("the launch response", |m| {
        m["request_seq"].as_i64() == Some(seq)
    });
    assert_eq!(response["success"], json!(true), "{}", dap.transcript());
    // The program's stdout comes back as DAP output events.
    assert!(dap.output.contains("total=20"), "{}", dap.transcript());
}

/// A program started under the stub and attached with the launch.json attach configuration,
/// stopped at a source breakpoint on `line` of `source`.
struct Attached {
    dap: Dap,
    debuggee: Debuggee,
    /// The attach request, answered once the program has run to its end.
    seq: i64,
    thread: i64,
    /// The breakpoint as `setBreakpoints` reported it.
    breakpoint: Json,
    stopped: Json,
}

fn attach_and_stop_at(wasm: &Path, source: &Path, line: u32) -> Attached {
    let debuggee = Debuggee::spawn(wasm, &[], &[]);
    let addr = debuggee.addr().to_string();
    let config = launch_json_config("attach", wasm, Some(&addr));
    let mut dap = Dap::start(&[]);
    initialize(&mut dap);
    let seq = dap.send("attach", config);
    dap.event("initialized");
    let set = set_line_breakpoints(&mut dap, source, &[line]);
    let breakpoint = set["body"]["breakpoints"][0].clone();
    assert_eq!(breakpoint["verified"], json!(true), "{set}");
    dap.request("configurationDone", json!({}));
    let stopped = dap.event("stopped");
    assert_eq!(
        stopped["body"]["reason"],
        "breakpoint",
        "{}",
        dap.transcript()
    );
    let thread = stopped["body"]["threadId"].as_i64().expect("threadId");
    Attached {
        dap,
        debuggee,
        seq,
        thread,
        breakpoint,
        stopped,
    }
}

impl Attached {
    /// Clears the breakpoints and runs the program to its end; its output.
    fn finish(mut self, source: &Path) -> common::Output {
        finish_without_breakpoints(&mut self.dap, source, self.thread);
        let seq = self.seq;
        self.dap.wait("the attach response", |m| {
            m["request_seq"].as_i64() == Some(seq)
        });
        self.debuggee.wait_exit(Duration::from_secs(60))
    }
}

/// The 1-based number of the one line of `source` that contains `text`.
fn line_containing(source: &Path, text: &str) -> u32 {
    let body =
        std::fs::read_to_string(source).unwrap_or_else(|e| panic!("{}: {e}", source.display()));
    let hits: Vec<u32> = body
        .lines()
        .zip(1..)
        .filter(|(l, _)| l.contains(text))
        .map(|(_, n)| n)
        .collect();
    match hits.as_slice() {
        [line] => *line,
        _ => panic!("`{text}` on lines {hits:?} of {}", source.display()),
    }
}

/// Sends a stepping request (`stepIn`, `stepOut`, `next`) and waits for the stop it ends in.
fn step(dap: &mut Dap, command: &str, thread: i64) -> Json {
    dap.request(command, json!({ "threadId": thread }));
    let stopped = dap.event("stopped");
    assert_eq!(
        stopped["body"]["reason"],
        "step",
        "{command}: {stopped}\n{}",
        dap.transcript()
    );
    stack_trace(dap, thread)
}

/// The top `n` frames as a user sees them in the call stack: (name, source file name, line).
fn top_frames(trace: &Json, n: usize) -> Vec<(String, String, i64)> {
    items(&trace["body"]["stackFrames"])
        .iter()
        .take(n)
        .map(|f| {
            let path = f["source"]["path"].as_str().unwrap_or("");
            (
                f["name"].as_str().unwrap_or("").to_string(),
                Path::new(path)
                    .file_name()
                    .map_or(String::new(), |n| n.to_string_lossy().into_owned()),
                f["line"].as_i64().unwrap_or(0),
            )
        })
        .collect()
}

fn frame(name: &str, line: u32) -> (String, String, i64) {
    (name.to_string(), "main.cpp".to_string(), line as i64)
}

fn has(locals: &[(String, String)], name: &str, value: &str) -> bool {
    locals.contains(&(name.to_string(), value.to_string()))
}

/// A real program through the IDE path: the C++ corpus (tests/corpus/cpp/main.cpp, libc++),
/// attached with the launch.json attach configuration. A source breakpoint on the call
/// `ring.push(corpus::algo::collatz_steps(n))` in `algorithms_demo`; the stack, the locals as
/// the program holds them; `stepIn` into `collatz_steps`, `stepOut` back to the call line,
/// `next` to the loop header; `continue` to the next iteration; then to the exit.
#[test]
fn dap_cpp_corpus_breakpoint_stack_variables_and_steps() {
    let wasm = common::corpus::cpp_wasm();
    let source = common::corpus::cpp_src();
    let call_line = line_containing(&source, "ring.push(corpus::algo::collatz_steps(n));");
    let loop_line = line_containing(&source, "for (long n : numbers) {");
    let main_line = line_containing(&source, "    algorithms_demo(sum);");
    let caller = "algorithms_demo(corpus::Checksum&)";
    let callee = "corpus::algo::collatz_steps(long)";

    let mut session = attach_and_stop_at(&wasm, &source, call_line);
    let bp = &session.breakpoint;
    assert_eq!(bp["line"].as_i64(), Some(call_line as i64), "{bp}");
    assert_eq!(
        session.stopped["body"]["hitBreakpointIds"],
        json!([bp["id"]]),
        "{}",
        session.stopped
    );
    let thread = session.thread;
    let dap = &mut session.dap;

    let (trace, locals) = top_locals(dap, thread);
    assert_eq!(
        top_frames(&trace, 2),
        [frame(caller, call_line), frame("main", main_line)],
        "{trace}"
    );
    // The first iteration over numbers = 1..=40; acc is the sum of the 20 odd squares 1..39²
    // (20·39·41/3), and the program prints acc and folded as "sum=" and "fold=".
    assert!(has(&locals, "n", "1"), "{locals:?}");
    assert!(has(&locals, "acc", "10660"), "{locals:?}");
    assert!(has(&locals, "folded", "477699"), "{locals:?}");
    assert!(has(&locals, "numbers", "size=40"), "{locals:?}");
    assert!(has(&locals, "squares", "size=20"), "{locals:?}");

    // stepIn: into the call's callee. LLDB 22 stops on its opening line (README known limits),
    // so only the function and its caller are asserted.
    let trace = step(dap, "stepIn", thread);
    let frames = top_frames(&trace, 3);
    assert_eq!(frames[0].0, callee, "{trace}");
    assert_eq!(frames[0].1, "main.cpp", "{trace}");
    assert_eq!(
        frames[1..],
        [frame(caller, call_line), frame("main", main_line)],
        "{trace}"
    );

    // stepOut: back in the caller, on the call line, with its locals unchanged.
    let trace = step(dap, "stepOut", thread);
    assert_eq!(
        top_frames(&trace, 2),
        [frame(caller, call_line), frame("main", main_line)],
        "{trace}"
    );
    let top = trace["body"]["stackFrames"][0].clone();
    let locals = frame_locals(dap, &top);
    assert!(has(&locals, "n", "1"), "{locals:?}");

    // next: over ring.push to the range-for's header.
    let trace = step(dap, "next", thread);
    assert_eq!(
        top_frames(&trace, 2),
        [frame(caller, loop_line), frame("main", main_line)],
        "{trace}"
    );

    // continue: the breakpoint again, in the second iteration.
    dap.request("continue", json!({ "threadId": thread }));
    let stopped = dap.event("stopped");
    assert_eq!(
        stopped["body"]["reason"],
        "breakpoint",
        "{}",
        dap.transcript()
    );
    let (trace, locals) = top_locals(dap, thread);
    assert_eq!(top_frames(&trace, 1), [frame(caller, call_line)], "{trace}");
    assert!(has(&locals, "n", "2"), "{locals:?}");

    let program = session.finish(&source);
    program
        .assert_success()
        .assert_stdout_contains("algorithms: odd-squares=20 sum=10660 fold=477699 ring=157/8")
        .assert_stdout_contains("checksum=");
}

/// The issue-26 program through lldb-dap's own stepping: a source breakpoint on `classify`'s
/// first line, then `next` onto the 120-case `switch`, into the taken case, past the `switch`
/// and out to `main`, as natively (LLDB crashed on the second `next` before the integration's
/// stop hook turned fast stepping off in functions LLDB cannot disassemble), then on in `main`.
#[test]
fn dap_next_through_a_large_switch() {
    let wasm = fixtures::c_switch();
    let source = fixtures::fixtures_dir().join("c/switch.c");
    let first = line_containing(&source, "  int r = 0;");
    let switch = line_containing(&source, "  switch (op) {");
    let case0 = line_containing(&source, "  case 0: r = x + 1; break;");
    let after = line_containing(&source, "  r += 1;");
    let ret = line_containing(&source, "  return r;");
    let call = line_containing(&source, "    s += classify((i * 37) % 121, i);");
    let at = |name: &str, line: u32| (name.to_string(), "switch.c".to_string(), line as i64);

    let mut session = attach_and_stop_at(&wasm, &source, first);
    let (dap, thread) = (&mut session.dap, session.thread);
    set_line_breakpoints(dap, &source, &[]);

    for (name, line) in [
        ("classify", switch),
        ("classify", case0),
        ("classify", after),
        ("classify", ret),
        ("main", call),
    ] {
        let trace = step(dap, "next", thread);
        assert_eq!(top_frames(&trace, 1), [at(name, line)], "{trace}");
    }
    let trace = step(dap, "next", thread);
    assert_eq!(top_frames(&trace, 1)[0].0, "main", "{trace}");

    let program = session.finish(&source);
    program.assert_success().assert_stdout_contains("1971");
}

/// lldb-dap shows a C function pointer's function as native lldb-dap does, through the
/// integration's summary (zlib's `z_stream.zalloc`, a slot of the Wasm table).
#[test]
fn dap_shows_the_function_a_function_pointer_points_to() {
    let wasm = common::corpus::zlib_wasm();
    let source = common::corpus::zlib_inflate_src();
    let first = line_containing(
        &source,
        "    if (inflateStateCheck(strm) || strm->next_out == Z_NULL ||",
    );
    let mut session = attach_and_stop_at(&wasm, &source, first);
    let (dap, thread) = (&mut session.dap, session.thread);
    let trace = stack_trace(dap, thread);
    let frame = trace["body"]["stackFrames"][0]["id"].clone();
    let shown = dap.request(
        "evaluate",
        json!({ "expression": "strm->zalloc", "frameId": frame, "context": "watch" }),
    );
    let result = shown["body"]["result"].as_str().unwrap_or("");
    assert!(
        result.contains("`zcalloc at zutil.c:303)"),
        "{shown}\n{}",
        dap.transcript()
    );
    session.finish(&source).assert_success();
}
