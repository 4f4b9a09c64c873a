//! Child processes for tests: the debuggee (`wasmtime run -D debugger=...`),
//! plain `wasmtime run`, and the output capture both share with `lldb`.
//! Output is drained by background threads so a chatty child never blocks on
//! a full pipe, and every child is killed on drop so none outlives its test.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::{component_path, wasmtime_path};

/// How long the stub may take to print its listening address.
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// A finished process.
#[derive(Debug, Clone)]
pub struct Output {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn success(&self) -> bool {
        self.status.success()
    }

    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    #[track_caller]
    pub fn assert_success(&self) -> &Self {
        assert!(
            self.success(),
            "expected success, got {}\n{self}",
            self.status
        );
        self
    }

    #[track_caller]
    pub fn assert_failure(&self) -> &Self {
        assert!(
            !self.success(),
            "expected failure, got {}\n{self}",
            self.status
        );
        self
    }

    #[track_caller]
    pub fn assert_stdout_contains(&self, needle: &str) -> &Self {
        assert!(
            self.stdout.contains(needle),
            "stdout lacks {needle:?}\n{self}"
        );
        self
    }

    #[track_caller]
    pub fn assert_stderr_contains(&self, needle: &str) -> &Self {
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}\n{self}"
        );
        self
    }
}

impl fmt::Display for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "status: {}\n--- stdout\n{}\n--- stderr\n{}",
            self.status, self.stdout, self.stderr
        )
    }
}

#[derive(Default)]
struct Streams {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    open: usize,
}

#[derive(Default)]
struct Shared {
    streams: Mutex<Streams>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Streams> {
        self.streams.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A child process whose stdout and stderr are collected in the background.
pub struct Captured {
    child: Child,
    shared: Arc<Shared>,
    readers: Vec<JoinHandle<()>>,
    status: Option<ExitStatus>,
    description: String,
}

impl Captured {
    /// Spawns `cmd` with stdin closed and stdout/stderr captured.
    pub fn spawn(cmd: &mut Command) -> std::io::Result<Self> {
        let description = describe(cmd);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn()?;
        let shared = Arc::new(Shared::default());
        let mut readers = Vec::new();
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        shared.lock().open = 2;
        readers.push(reader(stdout, shared.clone(), |s| &mut s.stdout));
        readers.push(reader(stderr, shared.clone(), |s| &mut s.stderr));
        Ok(Self {
            child,
            shared,
            readers,
            status: None,
            description,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn description(&self) -> &str {
        &self.description
    }

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.shared.lock().stdout).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.shared.lock().stderr).into_owned()
    }

    /// Exit status if the child has exited.
    pub fn try_status(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().ok().flatten();
        }
        self.status
    }

    /// Waits until `found` accepts (stdout, stderr), the child exits, or
    /// `timeout` passes. Returns whether `found` accepted.
    pub fn wait_for(&mut self, timeout: Duration, found: impl Fn(&[u8], &[u8]) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            {
                let streams = self.shared.lock();
                if found(&streams.stdout, &streams.stderr) {
                    return true;
                }
                let now = Instant::now();
                if now >= deadline {
                    return false;
                }
                // Short slices so that process exit is noticed promptly even
                // when it produces no output.
                let slice = (deadline - now).min(Duration::from_millis(50));
                let streams = self.shared.changed.wait_timeout(streams, slice);
                let streams = streams.unwrap_or_else(|e| e.into_inner()).0;
                if found(&streams.stdout, &streams.stderr) {
                    return true;
                }
                if streams.open > 0 {
                    continue;
                }
            }
            // Both pipes are closed: the child is (nearly) gone.
            if self.try_status().is_some() {
                let streams = self.shared.lock();
                return found(&streams.stdout, &streams.stderr);
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits for exit; `None` on timeout (the child is left running).
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<Output> {
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Some(status) = self.try_status() {
                break status;
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(20));
        };
        Some(self.collect(status))
    }

    /// Kills the child (if still running) and returns what it produced.
    pub fn kill(&mut self) -> Output {
        if self.try_status().is_none() {
            let _ = self.child.kill();
            self.status = self.child.wait().ok();
        }
        let status = self.status.expect("status after kill");
        self.collect(status)
    }

    fn collect(&mut self, status: ExitStatus) -> Output {
        // The pipes normally close with the process; a grandchild holding them
        // open must not hang the test, so wait only briefly for the readers.
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut streams = self.shared.lock();
        while streams.open > 0 && Instant::now() < deadline {
            streams = self
                .shared
                .changed
                .wait_timeout(streams, Duration::from_millis(50))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        let done = streams.open == 0;
        drop(streams);
        if done {
            for handle in self.readers.drain(..) {
                let _ = handle.join();
            }
        }
        Output {
            status,
            stdout: self.stdout(),
            stderr: self.stderr(),
        }
    }

    /// Everything captured so far, for failure messages.
    pub fn transcript(&self) -> String {
        format!(
            "command: {}\n--- stdout\n{}\n--- stderr\n{}",
            self.description,
            self.stdout(),
            self.stderr()
        )
    }
}

impl Drop for Captured {
    fn drop(&mut self) {
        if self.try_status().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn reader(
    mut pipe: impl Read + Send + 'static,
    shared: Arc<Shared>,
    select: fn(&mut Streams) -> &mut Vec<u8>,
) -> JoinHandle<()> {
    thread::spawn(move || {
        let mut buf = [0u8; 8192];
        loop {
            match pipe.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    select(&mut shared.lock()).extend_from_slice(&buf[..n]);
                    shared.changed.notify_all();
                }
            }
        }
        shared.lock().open -= 1;
        shared.changed.notify_all();
    })
}

fn describe(cmd: &Command) -> String {
    let mut parts = vec![quote(cmd.get_program())];
    parts.extend(cmd.get_args().map(quote));
    parts.join(" ")
}

fn quote(s: &OsStr) -> String {
    let s = s.to_string_lossy();
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+".contains(c))
    {
        s.into_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Runs `cmd` to completion, killing it and panicking after `timeout`.
pub fn run_command(cmd: &mut Command, timeout: Duration) -> Output {
    let mut proc = Captured::spawn(cmd).unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    match proc.wait_timeout(timeout) {
        Some(output) => output,
        None => {
            let output = proc.kill();
            panic!(
                "`{}` did not finish within {timeout:?}; killed\n{output}",
                proc.description()
            );
        }
    }
}

/// `wasmtime run <wasm> <program_args>` without any debugger.
pub fn run_plain(wasm: &Path, program_args: &[&str], timeout: Duration) -> Output {
    let mut cmd = Command::new(wasmtime_path());
    cmd.arg("run").arg(wasm).args(program_args);
    run_command(&mut cmd, timeout)
}

/// Options for [`Debuggee`]; see [`Debuggee::builder`].
#[derive(Clone, Debug)]
pub struct DebuggeeBuilder {
    wasm: PathBuf,
    component: Option<PathBuf>,
    listen: String,
    stub_args: Vec<String>,
    program_args: Vec<String>,
    wasmtime_args: Vec<String>,
    env: Vec<(OsString, OsString)>,
    startup_timeout: Duration,
}

impl DebuggeeBuilder {
    /// Extra `-D arg=<..>` values after the listen address.
    pub fn stub_args(mut self, args: &[&str]) -> Self {
        self.stub_args.extend(args.iter().map(|s| s.to_string()));
        self
    }

    /// Arguments for the debugged program (after the wasm path).
    pub fn program_args(mut self, args: &[&str]) -> Self {
        self.program_args.extend(args.iter().map(|s| s.to_string()));
        self
    }

    /// Extra `wasmtime run` options, placed before the `-D` options.
    pub fn wasmtime_args(mut self, args: &[&str]) -> Self {
        self.wasmtime_args
            .extend(args.iter().map(|s| s.to_string()));
        self
    }

    /// The first stub argument; defaults to `127.0.0.1:0` (any free port).
    pub fn listen(mut self, addr: &str) -> Self {
        self.listen = addr.to_string();
        self
    }

    /// A debug component other than [`component_path`].
    pub fn component(mut self, path: &Path) -> Self {
        self.component = Some(path.to_path_buf());
        self
    }

    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    pub fn startup_timeout(mut self, timeout: Duration) -> Self {
        self.startup_timeout = timeout;
        self
    }

    /// The `wasmtime` command line this builder would run.
    pub fn command(&self) -> Command {
        let component = self.component.clone().unwrap_or_else(component_path);
        let mut cmd = Command::new(wasmtime_path());
        cmd.arg("run");
        cmd.args(&self.wasmtime_args);
        cmd.arg("-D")
            .arg(format!("debugger={}", component.display()));
        cmd.arg("-D").arg(format!("arg={}", self.listen));
        for arg in &self.stub_args {
            cmd.arg("-D").arg(format!("arg={arg}"));
        }
        cmd.arg(&self.wasm).args(&self.program_args);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Starts wasmtime and waits for the stub's `listening on ADDR` line.
    /// Panics (with everything the process printed) if it does not appear.
    pub fn spawn(self) -> Debuggee {
        let mut cmd = self.command();
        let mut proc =
            Captured::spawn(&mut cmd).unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
        let seen = proc.wait_for(self.startup_timeout, |out, err| {
            find_listen_addr(err).is_some() || find_listen_addr(out).is_some()
        });
        if !seen {
            let state = match proc.try_status() {
                Some(status) => format!("exited with {status} before listening"),
                None => format!(
                    "printed no `listening on` line within {:?}",
                    self.startup_timeout
                ),
            };
            let output = proc.kill();
            panic!(
                "debuggee {state}\ncommand: {}\n{output}",
                proc.description()
            );
        }
        let addr = {
            let streams = proc.shared.lock();
            find_listen_addr(&streams.stderr).or_else(|| find_listen_addr(&streams.stdout))
        }
        .expect("address seen above");
        Debuggee { proc, addr }
    }
}

/// Parses the first `listening on HOST:PORT` in `text`.
pub fn find_listen_addr(text: &[u8]) -> Option<SocketAddr> {
    let text = String::from_utf8_lossy(text);
    text.lines().find_map(|line| {
        let rest = &line[line.find("listening on ")? + "listening on ".len()..];
        let token = rest.split_whitespace().next()?;
        // Tolerate decorations such as "tcp://", brackets-free punctuation or
        // a trailing full stop around the address.
        let token = token
            .trim_start_matches("tcp://")
            .trim_start_matches("connect://");
        let token = token.trim_end_matches(|c: char| !c.is_ascii_digit());
        token.parse().ok()
    })
}

/// A program running under `wasmtime run -D debugger=<component>`.
pub struct Debuggee {
    proc: Captured,
    addr: SocketAddr,
}

impl Debuggee {
    /// Starts `wasm` under the debug component listening on `127.0.0.1:0`,
    /// with `extra_stub_args` as further `-D arg=` values.
    pub fn spawn(wasm: &Path, extra_stub_args: &[&str], program_args: &[&str]) -> Self {
        Self::builder(wasm)
            .stub_args(extra_stub_args)
            .program_args(program_args)
            .spawn()
    }

    pub fn builder(wasm: &Path) -> DebuggeeBuilder {
        DebuggeeBuilder {
            wasm: wasm.to_path_buf(),
            component: None,
            listen: "127.0.0.1:0".to_string(),
            stub_args: Vec::new(),
            program_args: Vec::new(),
            wasmtime_args: Vec::new(),
            env: Vec::new(),
            startup_timeout: STARTUP_TIMEOUT,
        }
    }

    /// The address the stub listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn pid(&self) -> u32 {
        self.proc.pid()
    }

    pub fn stdout_so_far(&self) -> String {
        self.proc.stdout()
    }

    pub fn stderr_so_far(&self) -> String {
        self.proc.stderr()
    }

    /// Whether wasmtime is still running.
    pub fn is_running(&mut self) -> bool {
        self.proc.try_status().is_none()
    }

    /// Waits until the program's stdout contains `needle`; panics with the
    /// transcript otherwise.
    #[track_caller]
    pub fn wait_for_stdout(&mut self, needle: &str, timeout: Duration) {
        let needle_bytes = needle.as_bytes();
        if !self
            .proc
            .wait_for(timeout, |out, _| contains(out, needle_bytes))
        {
            panic!(
                "stdout never contained {needle:?} within {timeout:?}\n{}",
                self.transcript()
            );
        }
    }

    /// Waits until wasmtime's stderr contains `needle`; panics otherwise.
    #[track_caller]
    pub fn wait_for_stderr(&mut self, needle: &str, timeout: Duration) {
        let needle_bytes = needle.as_bytes();
        if !self
            .proc
            .wait_for(timeout, |_, err| contains(err, needle_bytes))
        {
            panic!(
                "stderr never contained {needle:?} within {timeout:?}\n{}",
                self.transcript()
            );
        }
    }

    /// Waits for wasmtime to exit; `None` if it is still running after `timeout`.
    pub fn try_wait_exit(&mut self, timeout: Duration) -> Option<Output> {
        self.proc.wait_timeout(timeout)
    }

    /// Waits for wasmtime to exit; kills it and panics after `timeout`.
    #[track_caller]
    pub fn wait_exit(&mut self, timeout: Duration) -> Output {
        match self.proc.wait_timeout(timeout) {
            Some(output) => output,
            None => {
                let output = self.proc.kill();
                panic!("debuggee still running after {timeout:?}; killed\n{output}");
            }
        }
    }

    /// Kills wasmtime now and returns what it printed.
    pub fn kill(&mut self) -> Output {
        self.proc.kill()
    }

    pub fn transcript(&self) -> String {
        self.proc.transcript()
    }
}

impl Drop for Debuggee {
    fn drop(&mut self) {
        // A failing test's own message rarely says what the stub printed.
        if thread::panicking() {
            eprintln!(
                "=== debuggee (pid {}) at test failure ===\n{}",
                self.pid(),
                self.transcript()
            );
        }
        // Captured's Drop kills the process.
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}
