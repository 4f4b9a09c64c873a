//! The IDE path: a Debug Adapter Protocol client talking to a real `lldb-dap-22`, which drives
//! wasm-gdbstub in a real Wasmtime. Both configurations of `.vscode/launch.json` are run as
//! written there (with the workspace folder, program and port filled in): attaching through
//! `attachCommands`, and launching, where LLDB starts Wasmtime through lldb/wasm_gdbstub.py.
//! Each session: initialize, attach or launch, a breakpoint by source line, configurationDone,
//! stopped, stackTrace, scopes, variables, continue, the exit, disconnect.

mod common;

use common::{Debuggee, component_path, fixtures, line_of, manifest_dir, wasmtime_path};
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

/// A small JSON value: DAP messages and launch.json (which allows `//` comments).
mod json {
    #[derive(Clone, Debug, PartialEq)]
    pub enum Json {
        Null,
        Bool(bool),
        Num(f64),
        Str(String),
        Arr(Vec<Json>),
        Obj(Vec<(String, Json)>),
    }

    static NULL: Json = Json::Null;

    impl Json {
        pub fn get(&self, key: &str) -> &Json {
            match self {
                Json::Obj(fields) => fields
                    .iter()
                    .find(|(k, _)| k == key)
                    .map_or(&NULL, |(_, v)| v),
                _ => &NULL,
            }
        }

        pub fn at(&self, index: usize) -> &Json {
            match self {
                Json::Arr(items) => items.get(index).unwrap_or(&NULL),
                _ => &NULL,
            }
        }

        pub fn items(&self) -> &[Json] {
            match self {
                Json::Arr(items) => items,
                _ => &[],
            }
        }

        pub fn str(&self) -> Option<&str> {
            match self {
                Json::Str(s) => Some(s),
                _ => None,
            }
        }

        pub fn int(&self) -> Option<i64> {
            match self {
                Json::Num(n) if n.fract() == 0.0 => Some(*n as i64),
                _ => None,
            }
        }

        pub fn set(&mut self, key: &str, value: Json) {
            if let Json::Obj(fields) = self {
                match fields.iter_mut().find(|(k, _)| k == key) {
                    Some(field) => field.1 = value,
                    None => fields.push((key.to_string(), value)),
                }
            }
        }
    }

    impl From<&str> for Json {
        fn from(s: &str) -> Self {
            Json::Str(s.to_string())
        }
    }

    impl From<i64> for Json {
        fn from(n: i64) -> Self {
            Json::Num(n as f64)
        }
    }

    impl From<bool> for Json {
        fn from(b: bool) -> Self {
            Json::Bool(b)
        }
    }

    pub fn obj(fields: Vec<(&str, Json)>) -> Json {
        Json::Obj(
            fields
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        )
    }

    pub fn write(value: &Json) -> String {
        let mut out = String::new();
        write_into(value, &mut out);
        out
    }

    fn write_into(value: &Json, out: &mut String) {
        match value {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Num(n) if n.fract() == 0.0 && n.abs() < 1e15 => {
                out.push_str(&(*n as i64).to_string())
            }
            Json::Num(n) => out.push_str(&n.to_string()),
            Json::Str(s) => write_str(s, out),
            Json::Arr(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_into(item, out);
                }
                out.push(']');
            }
            Json::Obj(fields) => {
                out.push('{');
                for (i, (k, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_str(k, out);
                    out.push(':');
                    write_into(v, out);
                }
                out.push('}');
            }
        }
    }

    fn write_str(s: &str, out: &mut String) {
        out.push('"');
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                c => out.push(c),
            }
        }
        out.push('"');
    }

    pub fn parse(text: &str) -> Result<Json, String> {
        let mut p = Parser {
            s: text.as_bytes(),
            i: 0,
        };
        let value = p.value()?;
        p.skip_ws();
        if p.i != p.s.len() {
            return Err(format!("trailing data at byte {}", p.i));
        }
        Ok(value)
    }

    struct Parser<'a> {
        s: &'a [u8],
        i: usize,
    }

    impl Parser<'_> {
        fn skip_ws(&mut self) {
            loop {
                while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
                    self.i += 1;
                }
                if self.s[self.i..].starts_with(b"//") {
                    while self.i < self.s.len() && self.s[self.i] != b'\n' {
                        self.i += 1;
                    }
                } else {
                    return;
                }
            }
        }

        fn err(&self, what: &str) -> String {
            format!("{what} at byte {}", self.i)
        }

        fn eat(&mut self, c: u8) -> bool {
            self.skip_ws();
            if self.s.get(self.i) == Some(&c) {
                self.i += 1;
                true
            } else {
                false
            }
        }

        fn value(&mut self) -> Result<Json, String> {
            self.skip_ws();
            match self.s.get(self.i) {
                Some(b'{') => {
                    self.i += 1;
                    let mut fields = Vec::new();
                    if self.eat(b'}') {
                        return Ok(Json::Obj(fields));
                    }
                    loop {
                        self.skip_ws();
                        let key = self.string()?;
                        if !self.eat(b':') {
                            return Err(self.err("expected ':'"));
                        }
                        fields.push((key, self.value()?));
                        if self.eat(b',') {
                            continue;
                        }
                        if self.eat(b'}') {
                            return Ok(Json::Obj(fields));
                        }
                        return Err(self.err("expected ',' or '}'"));
                    }
                }
                Some(b'[') => {
                    self.i += 1;
                    let mut items = Vec::new();
                    if self.eat(b']') {
                        return Ok(Json::Arr(items));
                    }
                    loop {
                        items.push(self.value()?);
                        if self.eat(b',') {
                            continue;
                        }
                        if self.eat(b']') {
                            return Ok(Json::Arr(items));
                        }
                        return Err(self.err("expected ',' or ']'"));
                    }
                }
                Some(b'"') => Ok(Json::Str(self.string()?)),
                Some(b't') if self.s[self.i..].starts_with(b"true") => {
                    self.i += 4;
                    Ok(Json::Bool(true))
                }
                Some(b'f') if self.s[self.i..].starts_with(b"false") => {
                    self.i += 5;
                    Ok(Json::Bool(false))
                }
                Some(b'n') if self.s[self.i..].starts_with(b"null") => {
                    self.i += 4;
                    Ok(Json::Null)
                }
                Some(c) if *c == b'-' || c.is_ascii_digit() => {
                    let start = self.i;
                    while self.i < self.s.len() && b"+-.eE0123456789".contains(&self.s[self.i]) {
                        self.i += 1;
                    }
                    let text = std::str::from_utf8(&self.s[start..self.i]).unwrap();
                    text.parse()
                        .map(Json::Num)
                        .map_err(|_| self.err("bad number"))
                }
                _ => Err(self.err("unexpected character")),
            }
        }

        fn string(&mut self) -> Result<String, String> {
            if self.s.get(self.i) != Some(&b'"') {
                return Err(self.err("expected a string"));
            }
            self.i += 1;
            let mut bytes = Vec::new();
            loop {
                let Some(&c) = self.s.get(self.i) else {
                    return Err(self.err("unterminated string"));
                };
                self.i += 1;
                match c {
                    b'"' => break,
                    b'\\' => {
                        let Some(&e) = self.s.get(self.i) else {
                            return Err(self.err("bad escape"));
                        };
                        self.i += 1;
                        match e {
                            b'n' => bytes.push(b'\n'),
                            b'r' => bytes.push(b'\r'),
                            b't' => bytes.push(b'\t'),
                            b'b' => bytes.push(8),
                            b'f' => bytes.push(12),
                            b'u' => {
                                let mut code = self.hex4()?;
                                if (0xd800..0xdc00).contains(&code)
                                    && self.s[self.i..].starts_with(b"\\u")
                                {
                                    self.i += 2;
                                    let low = self.hex4()?;
                                    code = 0x10000
                                        + ((code - 0xd800) << 10)
                                        + (low.wrapping_sub(0xdc00) & 0x3ff);
                                }
                                let c = char::from_u32(code).unwrap_or('\u{fffd}');
                                bytes.extend_from_slice(c.to_string().as_bytes());
                            }
                            other => bytes.push(other),
                        }
                    }
                    other => bytes.push(other),
                }
            }
            String::from_utf8(bytes).map_err(|_| self.err("invalid UTF-8"))
        }

        fn hex4(&mut self) -> Result<u32, String> {
            let digits = self
                .s
                .get(self.i..self.i + 4)
                .ok_or_else(|| self.err("short \\u escape"))?;
            self.i += 4;
            u32::from_str_radix(std::str::from_utf8(digits).unwrap_or("x"), 16)
                .map_err(|_| self.err("bad \\u escape"))
        }
    }

    #[test]
    fn round_trips_what_dap_sends() {
        let text = r#"{"a":[1,-2.5,true,null,"x\"\\\n\u00e9\ud83d\ude00"],"b":{}} // note"#;
        let value = parse(text).unwrap();
        assert_eq!(value.get("a").at(0).int(), Some(1));
        assert_eq!(value.get("a").at(4).str(), Some("x\"\\\né😀"));
        assert_eq!(parse(&write(&value)).unwrap(), value);
    }
}

use json::{Json, obj};

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
        let message = obj(vec![
            ("seq", self.seq.into()),
            ("type", "request".into()),
            ("command", command.into()),
            ("arguments", arguments),
        ]);
        let body = json::write(&message);
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
                    self.log.push(format!("<-- {}", json::write(&message)));
                    if message.get("event").str() == Some("output") {
                        self.output
                            .push_str(message.get("body").get("output").str().unwrap_or(""));
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
            m.get("type").str() == Some("response") && m.get("request_seq").int() == Some(seq)
        });
        assert_eq!(
            response.get("success"),
            &Json::Bool(true),
            "{command} failed: {}\n{}",
            json::write(&response),
            self.transcript()
        );
        response
    }

    fn event(&mut self, name: &str) -> Json {
        self.wait(&format!("a {name} event"), |m| {
            m.get("type").str() == Some("event") && m.get("event").str() == Some(name)
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
    json::parse(&String::from_utf8_lossy(&body)).ok()
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
    let doc = json::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut config = doc
        .get("configurations")
        .items()
        .iter()
        .find(|c| c.get("request").str() == Some(request))
        .unwrap_or_else(|| panic!("no {request} configuration in {}", path.display()))
        .clone();
    assert_eq!(config.get("type").str(), Some("lldb-dap"));
    config.set("program", program.display().to_string().as_str().into());
    config
}

fn initialize(dap: &mut Dap) {
    let response = dap.request(
        "initialize",
        obj(vec![
            ("clientID", "wasm-gdbstub-tests".into()),
            ("adapterID", "lldb-dap".into()),
            ("linesStartAt1", true.into()),
            ("columnsStartAt1", true.into()),
            ("pathFormat", "path".into()),
        ]),
    );
    assert_eq!(
        response.get("body").get("supportsConfigurationDoneRequest"),
        &Json::Bool(true)
    );
}

fn set_line_breakpoints(dap: &mut Dap, source: &Path, lines: &[u32]) -> Json {
    let breakpoints = Json::Arr(
        lines
            .iter()
            .map(|&l| obj(vec![("line", (l as i64).into())]))
            .collect(),
    );
    dap.request(
        "setBreakpoints",
        obj(vec![
            (
                "source",
                obj(vec![("path", source.display().to_string().as_str().into())]),
            ),
            ("breakpoints", breakpoints),
        ]),
    )
}

/// The top frame's locals by name → value.
fn top_locals(dap: &mut Dap, thread: i64) -> (Json, Vec<(String, String)>) {
    let trace = dap.request(
        "stackTrace",
        obj(vec![
            ("threadId", thread.into()),
            ("startFrame", 0.into()),
            ("levels", 20.into()),
        ]),
    );
    let top = trace.get("body").get("stackFrames").at(0).clone();
    let scopes = dap.request("scopes", obj(vec![("frameId", top.get("id").clone())]));
    let locals = scopes
        .get("body")
        .get("scopes")
        .items()
        .iter()
        .find(|s| s.get("name").str() == Some("Locals"))
        .unwrap_or_else(|| panic!("no Locals scope: {}", json::write(&scopes)))
        .get("variablesReference")
        .clone();
    let vars = dap.request("variables", obj(vec![("variablesReference", locals)]));
    let pairs = vars
        .get("body")
        .get("variables")
        .items()
        .iter()
        .map(|v| {
            (
                v.get("name").str().unwrap_or("").to_string(),
                v.get("value").str().unwrap_or("").to_string(),
            )
        })
        .collect();
    (trace, pairs)
}

/// From configurationDone to the exit: the breakpoint in `add` stops with `a = 0` and a stack
/// through `main`, `continue` stops again with `a = 1`, and without breakpoints the program runs
/// to its exit.
fn breakpoint_session(dap: &mut Dap, expect_single_location: bool) {
    let source = fixtures::c_app_src();
    let line = line_of(&source, "add_entry");
    let set = set_line_breakpoints(dap, &source, &[line]);
    let first = set.get("body").get("breakpoints").at(0);
    assert_eq!(
        first.get("line").int(),
        Some(line as i64),
        "{}",
        json::write(&set)
    );

    dap.request("configurationDone", Json::Obj(vec![]));
    let stopped = dap.event("stopped");
    assert_eq!(
        stopped.get("body").get("reason").str(),
        Some("breakpoint"),
        "{}",
        dap.transcript()
    );
    if expect_single_location {
        assert_eq!(
            stopped.get("body").get("description").str(),
            Some("breakpoint 1.1"),
            "{}",
            dap.transcript()
        );
    }
    let thread = stopped.get("body").get("threadId").int().expect("threadId");

    let (trace, locals) = top_locals(dap, thread);
    let frames = trace.get("body").get("stackFrames");
    assert_eq!(
        frames.at(0).get("name").str(),
        Some("add"),
        "{}",
        json::write(&trace)
    );
    assert_eq!(frames.at(0).get("line").int(), Some(line as i64));
    assert!(
        frames
            .at(0)
            .get("source")
            .get("path")
            .str()
            .is_some_and(|p| p.ends_with("app.c"))
    );
    assert_eq!(
        frames.at(1).get("name").str(),
        Some("main"),
        "{}",
        json::write(&trace)
    );
    assert_eq!(
        frames.at(1).get("line").int(),
        Some(line_of(&source, "loop_body") as i64)
    );
    assert!(locals.contains(&("a".into(), "0".into())), "{locals:?}");
    assert!(locals.contains(&("b".into(), "0".into())), "{locals:?}");

    dap.request("continue", obj(vec![("threadId", thread.into())]));
    let stopped = dap.event("stopped");
    assert_eq!(stopped.get("body").get("reason").str(), Some("breakpoint"));
    let (_, locals) = top_locals(dap, thread);
    assert!(locals.contains(&("a".into(), "1".into())), "{locals:?}");

    set_line_breakpoints(dap, &source, &[]);
    dap.request("continue", obj(vec![("threadId", thread.into())]));
    let exited = dap.event("exited");
    assert_eq!(
        exited.get("body").get("exitCode").int(),
        Some(0),
        "{}",
        dap.transcript()
    );
    dap.event("terminated");
    dap.request("disconnect", obj(vec![("terminateDebuggee", true.into())]));
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
        json::write(&config).contains(&format!("connect://{addr}")),
        "{}",
        json::write(&config)
    );

    let mut dap = Dap::start(&[]);
    initialize(&mut dap);
    let seq = dap.send("attach", config);
    dap.event("initialized");
    // The fixture's name section is not its file name, so LLDB keeps two copies here (see
    // tests/entry_points.rs); the launch below shows the single location.
    breakpoint_session(&mut dap, false);
    dap.wait("the attach response", |m| {
        m.get("request_seq").int() == Some(seq)
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
        m.get("request_seq").int() == Some(seq)
    });
    assert_eq!(
        response.get("success"),
        &Json::Bool(true),
        "{}",
        dap.transcript()
    );
    // The program's stdout comes back as DAP output events.
    assert!(dap.output.contains("total=20"), "{}", dap.transcript());
}
