//! Drives LLDB against a running stub, either in batch mode (`-b -o ...`) or through Python and
//! the SB API, always under a hard timeout. The suite runs in Debian's LLDB 22 by default and in
//! LLDB 23.1 (setup's `.venv-lldb23/`) with `WASM_GDBSTUB_LLDB=23`; `scripts/test.sh` runs the
//! LLDB tests in both.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::sync::OnceLock;
use std::time::Duration;

use super::debuggee::Captured;

/// LLDB is killed after this long.
pub const TIMEOUT: Duration = Duration::from_secs(120);

/// The LLDB this run of the suite drives: `WASM_GDBSTUB_LLDB=23` selects LLDB 23.1, unset or
/// `22` LLDB 22.
pub fn version() -> Version {
    match std::env::var("WASM_GDBSTUB_LLDB").as_deref() {
        Err(_) | Ok("") | Ok("22") => Version::Lldb22,
        Ok("23") => Version::Lldb23,
        Ok(other) => panic!("WASM_GDBSTUB_LLDB={other}: expected 22 or 23"),
    }
}

/// The `lldb` of this run (see [`version`]); for LLDB 22, `$LLDB` overrides `lldb-22`.
pub fn lldb_path() -> PathBuf {
    lldb_path_for(version())
}

pub fn lldb_path_for(version: Version) -> PathBuf {
    match version {
        Version::Lldb22 => super::tools::tool_or_env("lldb-22", "LLDB"),
        Version::Lldb23 => super::tools::tool(".venv-lldb23/bin/lldb"),
    }
}

/// The command that attaches LLDB's Wasm process plugin to the stub.
pub fn connect_command(addr: SocketAddr) -> String {
    format!("process connect --plugin wasm connect://{addr}")
}

/// The directory holding LLDB's `lldb` Python package (`lldb-22 -P`).
pub fn python_path() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let lldb = lldb_path_for(Version::Lldb22);
        let out = Command::new(&lldb)
            .arg("-P")
            .output()
            .unwrap_or_else(|e| panic!("cannot run `{} -P`: {e}", lldb.display()));
        assert!(
            out.status.success(),
            "`lldb -P` failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        assert!(
            path.join("lldb").is_dir(),
            "`lldb -P` printed {}, which has no `lldb` package (is python3-lldb-22 installed?)",
            path.display()
        );
        path
    })
    .clone()
}

/// What an LLDB (or Python) run printed.
#[derive(Debug, Clone)]
pub struct LldbRun {
    pub stdout: String,
    pub stderr: String,
    /// `None` if it was killed for running too long.
    pub status: Option<ExitStatus>,
    pub timed_out: bool,
    pub command: String,
}

impl LldbRun {
    /// stdout followed by stderr.
    pub fn output(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    pub fn contains(&self, needle: &str) -> bool {
        self.stdout.contains(needle) || self.stderr.contains(needle)
    }

    pub fn transcript(&self) -> String {
        let status = match (self.status, self.timed_out) {
            (_, true) => "killed: timed out".to_string(),
            (Some(s), false) => s.to_string(),
            (None, false) => "unknown".to_string(),
        };
        format!(
            "command: {}\nstatus: {status}\n--- stdout\n{}\n--- stderr\n{}",
            self.command, self.stdout, self.stderr
        )
    }

    #[track_caller]
    pub fn assert_contains(&self, needle: &str) -> &Self {
        assert!(
            self.contains(needle),
            "LLDB output lacks {needle:?}\n{}",
            self.transcript()
        );
        self
    }

    #[track_caller]
    pub fn assert_not_contains(&self, needle: &str) -> &Self {
        assert!(
            !self.contains(needle),
            "LLDB output has {needle:?}\n{}",
            self.transcript()
        );
        self
    }

    /// Each needle occurs in stdout after the previous one.
    #[track_caller]
    pub fn assert_in_order(&self, needles: &[&str]) -> &Self {
        let mut rest = self.stdout.as_str();
        for needle in needles {
            match rest.find(needle) {
                Some(pos) => rest = &rest[pos + needle.len()..],
                None => panic!(
                    "LLDB stdout lacks {needle:?} (in order {needles:?})\n{}",
                    self.transcript()
                ),
            }
        }
        self
    }

    #[track_caller]
    pub fn assert_success(&self) -> &Self {
        assert!(
            self.status.is_some_and(|s| s.success()),
            "LLDB did not exit successfully\n{}",
            self.transcript()
        );
        self
    }
}

/// Runs `lldb -b` (this run's LLDB) that connects to `addr` and then runs `commands`.
pub fn batch(addr: SocketAddr, commands: &[&str]) -> LldbRun {
    Batch::new(addr).commands(commands).run()
}

/// A configurable LLDB batch run; [`batch`] covers the common case.
#[derive(Clone, Debug)]
pub struct Batch {
    addr: SocketAddr,
    before_connect: Vec<String>,
    commands: Vec<String>,
    timeout: Duration,
    env: Vec<(OsString, OsString)>,
}

impl Batch {
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            before_connect: Vec::new(),
            commands: Vec::new(),
            timeout: TIMEOUT,
            env: Vec::new(),
        }
    }

    /// Commands run before `process connect` (settings, `target create`, ...).
    pub fn before_connect(mut self, commands: &[&str]) -> Self {
        self.before_connect
            .extend(commands.iter().map(|s| s.to_string()));
        self
    }

    pub fn commands(mut self, commands: &[&str]) -> Self {
        self.commands.extend(commands.iter().map(|s| s.to_string()));
        self
    }

    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    pub fn run(&self) -> LldbRun {
        let mut cmd = Command::new(lldb_path());
        cmd.args(["-b", "--no-lldbinit", "--no-use-colors"]);
        let connect = connect_command(self.addr);
        let all = self
            .before_connect
            .iter()
            .chain(std::iter::once(&connect))
            .chain(&self.commands);
        for command in all {
            cmd.arg("-o").arg(command);
        }
        run(cmd, &self.env, self.timeout)
    }
}

/// The LLDBs the tests drive: Debian's LLDB 22, what most users have and the default, and
/// LLDB 23.1 from PyPI (`lldb-for-pwndbg`, in setup's `.venv-lldb23/`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Version {
    Lldb22,
    Lldb23,
}

/// Runs a Python `script` with the `lldb` module of `version` importable; `args` become
/// `sys.argv[1:]`. LLDB 23's own `lldb-server` serves its native sessions.
pub fn python_with(version: Version, script: &str, args: &[&str], timeout: Duration) -> LldbRun {
    match version {
        Version::Lldb22 => python22(script, args, timeout),
        Version::Lldb23 => {
            let lldb = lldb_path_for(Version::Lldb23);
            let bin = lldb.parent().expect("the virtualenv's bin directory");
            let mut cmd = Command::new(bin.join("python"));
            cmd.arg("-c").arg(script).args(args);
            run(
                cmd,
                &[(
                    "LLDB_DEBUGSERVER_PATH".into(),
                    bin.join("lldb-server").into_os_string(),
                )],
                timeout,
            )
        }
    }
}

/// Splits a batch transcript into one chunk per `(lldb) command`, the command line included.
pub fn sections(output: &str) -> Vec<String> {
    output
        .split("(lldb) ")
        .skip(1)
        .map(str::to_string)
        .collect()
}

/// The chunk of the first command in `sections` that starts with `command`.
#[track_caller]
pub fn section<'a>(sections: &'a [String], command: &str, run: &LldbRun) -> &'a str {
    sections
        .iter()
        .find(|s| s.starts_with(command))
        .unwrap_or_else(|| panic!("no `{command}` in the session\n{}", run.transcript()))
}

/// `command`'s chunk of the session shows `needle`.
#[track_caller]
pub fn expect_in(sections: &[String], command: &str, needle: &str, run: &LldbRun) {
    let chunk = section(sections, command, run);
    assert!(
        chunk.contains(needle),
        "`{command}` should show `{needle}`, got:\n{chunk}\n--- whole session ---\n{}",
        run.transcript()
    );
}

/// Runs this run's LLDB on a native program, as a user of the project's LLDB integration does
/// (`lldb/wasm_gdbstub.py` imported first: on a native target its commands are LLDB's own), with
/// `commands` after the target is created; LLDB 23 is given its own `lldb-server`.
pub fn native_session(program: &Path, commands: &[String]) -> LldbRun {
    let server: Vec<(&str, OsString)> = match version() {
        Version::Lldb22 => Vec::new(),
        Version::Lldb23 => vec![(
            "LLDB_DEBUGSERVER_PATH",
            lldb_path_for(Version::Lldb23)
                .with_file_name("lldb-server")
                .into_os_string(),
        )],
    };
    launch_session(
        Some(program),
        &[integration_import()],
        commands,
        &server,
        &[],
    )
}

/// `command script import` of the project's LLDB integration, `lldb/wasm_gdbstub.py`.
pub fn integration_import() -> String {
    format!(
        "command script import {}",
        super::manifest_dir().join("lldb/wasm_gdbstub.py").display()
    )
}

/// Runs this run's `lldb -b` with `-O before` (before the target), `-o commands` and optionally a
/// target file, from the package root, with `env` set and `remove` unset; the launcher's own
/// settings (`WASMTIME`, `WASM_GDBSTUB_COMPONENT`, `WASM_GDBSTUB_LAUNCH_ARGS`) are always unset,
/// so that the caller's environment does not leak into a test that chooses them explicitly.
pub fn launch_session(
    wasm: Option<&Path>,
    before: &[String],
    commands: &[String],
    env: &[(&str, OsString)],
    remove: &[&str],
) -> LldbRun {
    let mut cmd = Command::new(lldb_path());
    cmd.args(["-b", "--no-lldbinit", "--no-use-colors"])
        .current_dir(super::manifest_dir());
    for var in [
        "WASMTIME",
        "WASM_GDBSTUB_COMPONENT",
        "WASM_GDBSTUB_LAUNCH_ARGS",
    ]
    .iter()
    .chain(remove)
    {
        cmd.env_remove(var);
    }
    for line in before {
        cmd.arg("-O").arg(line);
    }
    for line in commands {
        cmd.arg("-o").arg(line);
    }
    if let Some(wasm) = wasm {
        cmd.arg(wasm);
    }
    let env: Vec<(OsString, OsString)> = env
        .iter()
        .map(|(k, v)| (OsString::from(k), v.clone()))
        .collect();
    run(cmd, &env, TIMEOUT)
}

/// Runs a Python `script` with the `lldb` module of this run's LLDB (see [`version`]);
/// `args` become `sys.argv[1:]`.
pub fn python(script: &str, args: &[&str], timeout: Duration) -> LldbRun {
    python_with(version(), script, args, timeout)
}

fn python22(script: &str, args: &[&str], timeout: Duration) -> LldbRun {
    let mut cmd = Command::new(super::tools::tool("python3"));
    cmd.arg("-c").arg(script).args(args);
    let mut pythonpath = python_path().into_os_string();
    if let Some(existing) = std::env::var_os("PYTHONPATH") {
        pythonpath.push(":");
        pythonpath.push(existing);
    }
    run(cmd, &[("PYTHONPATH".into(), pythonpath)], timeout)
}

fn run(mut cmd: Command, env: &[(OsString, OsString)], timeout: Duration) -> LldbRun {
    for (k, v) in env {
        cmd.env(k, v);
    }
    // Keep LLDB's output plain and independent of the user's terminal.
    cmd.env("TERM", "dumb");
    let mut proc = Captured::spawn(&mut cmd)
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e} (scripts/setup.sh installs it)"));
    let command = proc.description().to_string();
    match proc.wait_timeout(timeout) {
        Some(out) => LldbRun {
            stdout: out.stdout,
            stderr: out.stderr,
            status: Some(out.status),
            timed_out: false,
            command,
        },
        None => {
            let out = proc.kill();
            LldbRun {
                stdout: out.stdout,
                stderr: out.stderr,
                status: None,
                timed_out: true,
                command,
            }
        }
    }
}
