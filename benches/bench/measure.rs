//! What every section of the benchmark shares: medians, LLDB batch sessions timed from inside
//! LLDB, LLDB's own packet log read back, and the result table.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::debuggee::Captured;

/// Where the stub maps module 0's code in LLDB's address space.
pub const CODE_BASE: u64 = 0x4000_0000_0000_0000;
/// Round trips, hits and steps run before raw RSP timings start.
pub const WARMUP: usize = 10;

/// The pc a stop reply expedites (register 0, little-endian).
pub fn stop_pc(reply: &str) -> Option<u64> {
    let bytes =
        crate::common::rsp::hex_decode(crate::common::rsp::StopReply::parse(reply)?.get("00")?)?;
    Some(u64::from_le_bytes(bytes.try_into().ok()?))
}

/// A raw RSP client on `stub`, in no-ack mode as LLDB runs it.
pub fn connect_raw(stub: &crate::common::Debuggee) -> Result<crate::common::rsp::Client> {
    let mut client = crate::common::rsp::Client::connect(stub.addr())
        .map_err(|e| BenchError(format!("connect: {e}")))?;
    client.no_ack();
    Ok(client)
}

/// Times `count` round trips of a packet the stub answers empty, after a warm-up: the cost of
/// the socket, the stub's session loop and gdbstub with no work, the reference of raw figures.
pub fn empty_round_trips(
    client: &mut crate::common::rsp::Client,
    count: usize,
) -> Result<Vec<f64>> {
    let mut times = Vec::with_capacity(count);
    for i in 0..count + WARMUP {
        let started = Instant::now();
        let reply = client.request("qBenchPing");
        if i >= WARMUP {
            times.push(started.elapsed().as_secs_f64());
        }
        if !reply.is_empty() {
            return Err(BenchError(format!(
                "expected an empty reply to an unknown packet, got {reply:?}"
            )));
        }
    }
    Ok(times)
}

/// An LLDB session that takes longer than this is not measured but reported as a failure.
pub const LLDB_TIMEOUT: Duration = Duration::from_secs(600);

/// A measurement the benchmark could not take; the message says what went wrong.
#[derive(Debug)]
pub struct BenchError(pub String);

impl std::fmt::Display for BenchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

pub type Result<T> = std::result::Result<T, BenchError>;

/// Returns early with a [`BenchError`] built like `format!`.
#[macro_export]
macro_rules! fail {
    ($($arg:tt)*) => { return Err($crate::measure::BenchError(format!($($arg)*))) };
}

pub fn progress(message: &str) {
    eprintln!("==> {message}");
}

pub fn median(values: &[f64]) -> f64 {
    assert!(!values.is_empty(), "median of nothing");
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    }
}

pub fn seconds(s: f64) -> String {
    format!("{s:.3} s")
}

pub fn millis(s: f64) -> String {
    format!("{:.3} ms", s * 1e3)
}

pub fn ratio(ours: f64, reference: f64) -> String {
    format!("{:.2}x", ours / reference)
}

/// One row of the printed table: what was measured, our figure, the reference it is compared
/// with, and their ratio (empty where there is no reference).
pub struct Row {
    pub measurement: String,
    pub ours: String,
    pub reference: String,
    pub ratio: String,
}

impl Row {
    pub fn new(measurement: impl Into<String>, ours: impl Into<String>) -> Self {
        Row {
            measurement: measurement.into(),
            ours: ours.into(),
            reference: String::new(),
            ratio: String::new(),
        }
    }

    pub fn against(mut self, reference: impl Into<String>, ratio: impl Into<String>) -> Self {
        self.reference = reference.into();
        self.ratio = ratio.into();
        self
    }
}

/// The rows as a Markdown table, the form the README's Performance section takes.
pub fn markdown(rows: &[Row]) -> String {
    let mut out =
        String::from("| Measurement | wasm-gdbstub | Reference | Ratio |\n|---|---|---|---|\n");
    for row in rows {
        out += &format!(
            "| {} | {} | {} | {} |\n",
            row.measurement, row.ours, row.reference, row.ratio
        );
    }
    out
}

/// Which LLDB drives a session.
#[derive(Clone, Debug)]
pub struct Lldb {
    pub path: PathBuf,
    /// Environment for it (LLDB 23 needs its own `lldb-server` for native sessions).
    pub env: Vec<(String, PathBuf)>,
}

/// What one `lldb -b` session printed and how long it took from start to exit.
pub struct Session {
    pub output: String,
    pub elapsed: f64,
}

impl Session {
    /// The seconds between two [`stamp`] commands of this session.
    pub fn between(&self, from: &str, to: &str) -> Result<f64> {
        let stamps = stamps(&self.output);
        match (stamps.get(from), stamps.get(to)) {
            (Some(a), Some(b)) => Ok(b - a),
            _ => fail!(
                "no `{from}`/`{to}` timestamps in the session:\n{}",
                tail(&self.output)
            ),
        }
    }

    pub fn count(&self, needle: &str) -> usize {
        self.output.matches(needle).count()
    }
}

/// Runs `lldb -b` with `commands` from `cwd`. A batch session that goes wrong still exits 0 and
/// would time something else, so the output must contain every `expect` string and no
/// `error:` line.
pub fn lldb_session(
    lldb: &Lldb,
    commands: &[String],
    cwd: &Path,
    expect: &[&str],
) -> Result<Session> {
    let mut cmd = Command::new(&lldb.path);
    cmd.args(["-b", "--no-lldbinit", "--no-use-colors"])
        .current_dir(cwd);
    for command in commands {
        cmd.arg("-o").arg(command);
    }
    for (key, value) in &lldb.env {
        cmd.env(key, value);
    }
    cmd.env("TERM", "dumb");
    let started = Instant::now();
    let mut proc =
        Captured::spawn(&mut cmd).map_err(|e| BenchError(format!("cannot start {cmd:?}: {e}")))?;
    let Some(out) = proc.wait_timeout(LLDB_TIMEOUT) else {
        let out = proc.kill();
        fail!(
            "LLDB ran longer than {LLDB_TIMEOUT:?}:\n{}",
            tail(&out.stdout)
        );
    };
    let elapsed = started.elapsed().as_secs_f64();
    let output = format!("{}{}", out.stdout, out.stderr);
    for needle in expect {
        if !output.contains(needle) {
            fail!("LLDB's output lacks {needle:?}:\n{}", tail(&output));
        }
    }
    if output.lines().any(|l| l.starts_with("error:")) {
        fail!("LLDB reported an error:\n{}", tail(&output));
    }
    Ok(Session { output, elapsed })
}

/// The end of a long transcript, for error messages.
pub fn tail(text: &str) -> &str {
    let start = text.len().saturating_sub(3000);
    let start = (start..text.len())
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(text.len());
    &text[start..]
}

/// An LLDB command that prints a timestamp, to time a stretch of a session from inside LLDB,
/// without its start-up and the debuggee's launch.
pub fn stamp(label: &str) -> String {
    format!("script print('BENCH_T {label}', __import__('time').perf_counter())")
}

fn stamps(output: &str) -> BTreeMap<String, f64> {
    output
        .lines()
        .filter_map(|line| {
            let mut words = line.strip_prefix("BENCH_T ")?.split_whitespace();
            Some((words.next()?.to_string(), words.next()?.parse().ok()?))
        })
        .collect()
}

/// Whether this LLDB can run `script` (the Python stamps); without it stretches inside a
/// session cannot be timed.
pub fn has_python(lldb: &Lldb, cwd: &Path) -> bool {
    lldb_session(lldb, &[stamp("probe")], cwd, &[])
        .map(|s| stamps(&s.output).contains_key("probe"))
        .unwrap_or(false)
}

/// The packets LLDB sent in one session, from its `log enable gdb-remote packets` file, each
/// with the reply it got.
pub struct PacketLog {
    pub exchanges: Vec<(String, Option<String>)>,
    /// When each exchange's packet was sent and its reply read (seconds, LLDB's `-T` clock).
    pub times: Vec<(f64, Option<f64>)>,
}

impl PacketLog {
    /// The LLDB command that writes this log to `path`.
    pub fn enable_command(path: &Path) -> String {
        format!("log enable -T -f {} gdb-remote packets", path.display())
    }

    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            BenchError(format!(
                "cannot read LLDB's packet log {}: {e}",
                path.display()
            ))
        })?;
        let mut exchanges: Vec<(String, Option<String>)> = Vec::new();
        let mut times: Vec<(f64, Option<f64>)> = Vec::new();
        for line in text.lines() {
            // `history[...]` lines replay earlier packets; `+` acks are not packets.
            if line.contains("history[") {
                continue;
            }
            let at = line
                .split_whitespace()
                .next()
                .and_then(|t| t.parse::<f64>().ok())
                .unwrap_or(f64::NAN);
            if let Some(payload) = payload_after(line, "send packet: $") {
                exchanges.push((payload, None));
                times.push((at, None));
            } else if let Some(payload) = payload_after(line, "read packet: $")
                && let Some((_, reply @ None)) = exchanges.last_mut()
            {
                *reply = Some(payload);
                if let Some((_, read)) = times.last_mut() {
                    *read = Some(at);
                }
            }
        }
        Ok(PacketLog { exchanges, times })
    }

    pub fn sent(&self) -> impl Iterator<Item = &str> {
        self.exchanges.iter().map(|(p, _)| p.as_str())
    }

    /// The index of the first resume: what comes before it is the connection.
    pub fn first_resume(&self) -> usize {
        self.sent()
            .position(|p| p.starts_with("vCont;") || p == "c" || p == "s")
            .unwrap_or(self.exchanges.len())
    }

    /// From the first resume to the last reply: the seconds LLDB waited for replies (the debug
    /// server's work, the program running, the socket) and the rest (LLDB's own work).
    pub fn split_after_resume(&self) -> (f64, f64) {
        let times = &self.times[self.first_resume().min(self.times.len())..];
        let waited: f64 = times
            .iter()
            .filter_map(|(sent, read)| read.map(|read| read - sent))
            .sum();
        let start = times.first().map_or(0.0, |t| t.0);
        let end = times.iter().rev().find_map(|t| t.1).unwrap_or(start);
        (waited, (end - start - waited).max(0.0))
    }

    /// How many packets of each kind were sent after the first resume.
    pub fn kinds_after_resume(&self) -> BTreeMap<String, i64> {
        let mut counts = BTreeMap::new();
        for payload in self.sent().skip(self.first_resume()) {
            *counts.entry(packet_kind(payload)).or_insert(0) += 1;
        }
        counts
    }
}

fn payload_after(line: &str, marker: &str) -> Option<String> {
    let start = line.find(marker)? + marker.len();
    let end = line[start..].rfind('#')? + start;
    Some(line[start..end].to_string())
}

/// A packet's name: the leading letters, or for memory, register and breakpoint packets (whose
/// hex argument follows at once) the first letter only.
pub fn packet_kind(payload: &str) -> String {
    let first = payload.chars().next().unwrap_or('?');
    if "mxMXZzpP".contains(first) {
        return first.to_string();
    }
    let name: String = payload
        .chars()
        .take_while(|c| c.is_ascii_alphabetic() || *c == '?')
        .collect();
    if name.is_empty() {
        first.to_string()
    } else {
        name
    }
}

/// Per-stop packet counts by kind: the difference between two sessions that differ only in their
/// number of stops, divided by that difference, so the connection and the end cancel out.
pub fn kinds_per_stop(
    more: &PacketLog,
    fewer: &PacketLog,
    extra_stops: usize,
) -> Vec<(String, f64)> {
    let mut counts = more.kinds_after_resume();
    for (kind, n) in fewer.kinds_after_resume() {
        *counts.entry(kind).or_insert(0) -= n;
    }
    let mut per: Vec<(String, f64)> = counts
        .into_iter()
        .filter(|(_, n)| *n != 0)
        .map(|(kind, n)| (kind, n as f64 / extra_stops as f64))
        .collect();
    per.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    per
}

/// Per-stop seconds waiting for the server and spent in LLDB itself, by difference as for
/// [`kinds_per_stop`]. Logging slows LLDB alike on both sides; the split is what it shows.
pub fn time_split_per_stop(more: &PacketLog, fewer: &PacketLog, extra_stops: usize) -> (f64, f64) {
    let (a, b) = (more.split_after_resume(), fewer.split_after_resume());
    let per = |more: f64, fewer: f64| (more - fewer) / extra_stops as f64;
    (per(a.0, b.0), per(a.1, b.1))
}

/// The stub's requests to Wasmtime from the last `monitor stats` in a session's output: each
/// kind's count and milliseconds, with the total under `requests` and the program's running
/// time under `(program running)`.
pub fn stub_requests(output: &str) -> BTreeMap<String, (f64, f64)> {
    const HEADER: &str = "requests to Wasmtime since the last `stats`: ";
    let mut tallies = BTreeMap::new();
    let Some(start) = output.rfind(HEADER) else {
        return tallies;
    };
    let mut lines = output[start..].lines();
    if let Some((count, rest)) = lines
        .next()
        .and_then(|l| l.strip_prefix(HEADER)?.split_once(" in "))
        && let (Ok(count), Some(Ok(ms))) = (
            count.parse::<f64>(),
            rest.split_whitespace().next().map(str::parse::<f64>),
        )
    {
        tallies.insert("requests".to_string(), (count, ms));
    }
    for line in lines {
        let words: Vec<&str> = line.split_whitespace().collect();
        if let Some(rest) = line.strip_prefix("program running: ") {
            let words: Vec<&str> = rest.split_whitespace().collect();
            if let (Some(Ok(n)), Some(Ok(ms))) = (
                words.first().map(|w| w.parse::<f64>()),
                words.get(2).map(|w| w.parse::<f64>()),
            ) {
                tallies.insert("(program running)".to_string(), (n, ms));
            }
            break;
        }
        match (line.starts_with("  "), words.as_slice()) {
            (true, [kind, count, ms, "ms", ..]) => {
                if let (Ok(count), Ok(ms)) = (count.parse(), ms.parse()) {
                    tallies.insert(kind.to_string(), (count, ms));
                }
            }
            _ => break,
        }
    }
    tallies
}

/// Per-stop requests by difference of two sessions' [`stub_requests`], largest time first.
pub fn requests_per_stop(
    more: &BTreeMap<String, (f64, f64)>,
    fewer: &BTreeMap<String, (f64, f64)>,
    extra_stops: usize,
) -> Vec<(String, f64, f64)> {
    let n = extra_stops as f64;
    let mut per: Vec<(String, f64, f64)> = more
        .iter()
        .map(|(kind, (count, ms))| {
            let (c0, m0) = fewer.get(kind).copied().unwrap_or((0.0, 0.0));
            (kind.clone(), (count - c0) / n, (ms - m0) / n)
        })
        .filter(|(_, count, _)| *count > 0.0)
        .collect();
    per.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)));
    per
}

/// `5 qWasmLocal, 4 x, ...`: a per-stop breakdown for the report.
pub fn describe_kinds(kinds: &[(String, f64)]) -> String {
    kinds
        .iter()
        .map(|(kind, n)| format!("{} {kind}", trim_number(*n)))
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn trim_number(n: f64) -> String {
    let text = format!("{n:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}
