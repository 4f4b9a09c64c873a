//! Attaching LLDB 22 to the 16 MB `bench/large-app`: `process connect`, `b main`, `continue`,
//! `bt`, whole sessions against `target create` + `b main` on the local file. The same session
//! also runs through a proxy that answers LLDB's reads of the module image itself (LLDB's own cost
//! of reading the image over RSP, a floor no stub can beat while LLDB reads the image from
//! memory), and with the stub started with `--program PATH` (LLDB loads the file itself). LLDB's
//! packet log then says what it sent before the first resume and how it read the image.

use std::collections::{BTreeMap, HashMap};
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use crate::common::lldb::connect_command;
use crate::measure::CODE_BASE;
use crate::measure::{self, BenchError, PacketLog, Row, Session, median, progress, seconds, stamp};
use crate::reads::{escape_binary, framed, large_stub};
use crate::{Context, Report, fail};

const STEPS: [&str; 3] = ["b main", "continue", "bt"];
/// A session that went wrong still exits 0: these prove it stopped in `main` and ended.
const EXPECT: [&str; 3] = [
    "stop reason = breakpoint 1.1",
    "large_app::main",
    "exited with status",
];

/// How LLDB reaches the stub.
#[derive(Clone, Copy)]
enum Via {
    /// Straight to the stub, which serves the image from memory.
    Stub,
    /// Through [`InstantImageProxy`].
    Proxy,
    /// Straight to a stub started with `--program PATH`.
    Program,
}

/// The proxy's replies, framed once and shared by every proxy of the run.
type Frames = Arc<Mutex<HashMap<(usize, usize), Arc<[u8]>>>>;

struct Setup<'a> {
    cx: &'a Context,
    image: Arc<Vec<u8>>,
    frames: Frames,
    /// An empty directory: LLDB resolves the stub's library name relative to its working
    /// directory and would quietly load a local file of that name instead of reading the module.
    cwd: PathBuf,
    program_arg: String,
}

pub fn measure(cx: &Context) -> measure::Result<Report> {
    let runs = cx.args.runs;
    progress(&format!(
        "LLDB 22 attach on the large module: {runs} runs each directly, through the instant-image proxy \
         and with --program, {} with timestamps, 2 with packet logs",
        if cx.python { runs } else { 0 }
    ));
    let wasm = &cx.programs.large;
    let image =
        std::fs::read(wasm).map_err(|e| BenchError(format!("read {}: {e}", wasm.display())))?;
    let absolute = std::path::absolute(wasm).map_err(|e| BenchError(e.to_string()))?;
    let cwd = cx.work.join("attach-cwd");
    std::fs::create_dir_all(&cwd).map_err(|e| BenchError(e.to_string()))?;
    let setup = Setup {
        cx,
        image: Arc::new(image),
        frames: Frames::default(),
        cwd,
        program_arg: format!("--program={}", absolute.display()),
    };

    // Untimed: has the proxy frame its replies, so the timed sessions find them ready.
    setup.session(Via::Proxy, None, false)?;
    let (mut remote, mut instant, mut program, mut local, mut bare) =
        (vec![], vec![], vec![], vec![], vec![]);
    for _ in 0..runs {
        remote.push(setup.session(Via::Stub, None, false)?.elapsed);
        instant.push(setup.session(Via::Proxy, None, false)?.elapsed);
        program.push(setup.session(Via::Program, None, false)?.elapsed);
        let commands = [format!("target create {}", wasm.display()), "b main".into()];
        local.push(
            measure::lldb_session(
                &cx.lldb22,
                &commands,
                &setup.cwd,
                &["Breakpoint 1: where = ", "large_app::main"],
            )?
            .elapsed,
        );
        // LLDB's own start and exit, part of both sides of the ratios above.
        bare.push(measure::lldb_session(&cx.lldb22, &["version".into()], &setup.cwd, &[])?.elapsed);
    }

    // Where the time goes, from separate sessions: starting LLDB's Python would otherwise be in
    // the figures above.
    let mut phases: Vec<(&str, Vec<f64>)> = ["connect"]
        .into_iter()
        .chain(STEPS)
        .map(|s| (s, Vec::new()))
        .collect();
    if cx.python {
        for _ in 0..runs {
            let session = setup.session(Via::Stub, None, true)?;
            let mut from = "start".to_string();
            for (name, times) in &mut phases {
                let to = stamp_label(name);
                times.push(session.between(&from, &to)?);
                from = to;
            }
        }
    }

    // LLDB logs binary replies as hex, 32 MB for the image, which slows it down: these sessions
    // are not timed.
    let stub_log = cx.work.join("attach-packets.log");
    setup.session(Via::Stub, Some(&stub_log), false)?;
    let program_log = cx.work.join("attach-program-packets.log");
    setup.session(Via::Program, Some(&program_log), false)?;
    let stray: Vec<_> = std::fs::read_dir(&setup.cwd)
        .map_err(|e| BenchError(e.to_string()))?
        .filter_map(|e| e.ok().map(|e| e.file_name()))
        .collect();
    if !stray.is_empty() {
        fail!(
            "LLDB's working directory {} was not left empty: {stray:?}",
            setup.cwd.display()
        );
    }
    let packets = Connect::analyse(&stub_log)?;
    let with_program = Connect::analyse(&program_log)?;
    let size = setup.image.len();
    if (packets.read_bytes as f64) < 0.9 * size as f64 {
        fail!(
            "LLDB read only {} bytes of the {size}-byte module from the stub before resuming: it must \
             have loaded a local copy, so the figures are not the stub's",
            packets.read_bytes
        );
    }

    let mb = size as f64 / 1e6;
    let local_m = median(&local);
    let versus_local = |measurement: String, ours: &[f64], reference: String| {
        let ours = median(ours);
        Row::new(measurement, seconds(ours)).against(reference, measure::ratio(ours, local_m))
    };
    let mut report = Report::default();
    report.rows.push(versus_local(
        format!("LLDB 22 `process connect`, `b main`, `continue`, `bt` on a {mb:.0} MB debug module (whole sessions)"),
        &remote,
        format!("{} (`target create` + `b main` on the local file)", seconds(local_m)),
    ));
    report.rows.push(versus_local(
        "same, image reads answered instantly by a proxy (LLDB's own floor)".into(),
        &instant,
        seconds(local_m),
    ));
    report.rows.push(versus_local(
        "same, stub started with `--program PATH` (LLDB loads the file itself)".into(),
        &program,
        seconds(local_m),
    ));
    report.rows.push(
        Row::new(
            "Packets LLDB sends before the first resume there",
            format!(
                "{} ({} memory reads, {})",
                packets.before_resume,
                packets.reads,
                amount(packets.read_bytes)
            ),
        )
        .against(
            format!(
                "with `--program`: {} ({} memory reads, {})",
                with_program.before_resume,
                with_program.reads,
                amount(with_program.read_bytes)
            ),
            "",
        ),
    );

    let list = |xs: &[f64]| {
        xs.iter()
            .map(|x| format!("{x:.2}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut timing = format!(
        "Attach on the large module ({mb:.1} MB), medians of {runs}: sessions {} s directly, {} s through \
         the proxy, {} s with `--program`; LLDB's start and exit alone {}.",
        list(&remote),
        list(&instant),
        list(&program),
        seconds(median(&bare))
    );
    if cx.python {
        let by_command: Vec<String> = phases
            .iter()
            .map(|(name, times)| format!("`{name}` {}", seconds(median(times))))
            .collect();
        timing += &format!(
            " By command, timed inside LLDB in separate sessions: {}.",
            by_command.join(", ")
        );
    }
    report.notes.push(timing);
    report.notes.push(packets.describe(size));
    report.notes.push(format!(
        "With `--program`, LLDB 22 sends {} packets before the first resume ({} in the session) and reads \
         {} from the stub before it.",
        with_program.before_resume,
        with_program.total,
        amount(with_program.read_bytes)
    ));
    Ok(report)
}

/// A byte count in the unit that keeps it readable.
fn amount(bytes: u64) -> String {
    match bytes {
        1_000_000.. => format!("{:.1} MB", bytes as f64 / 1e6),
        10_000.. => format!("{:.0} kB", bytes as f64 / 1e3),
        _ => format!("{bytes} bytes"),
    }
}

fn stamp_label(command: &str) -> String {
    command.replace(' ', "_")
}

impl Setup<'_> {
    /// One attach session, logging LLDB's packets to `packet_log` if given, with a timestamp
    /// after each command if `stamped`.
    fn session(
        &self,
        via: Via,
        packet_log: Option<&Path>,
        stamped: bool,
    ) -> measure::Result<Session> {
        let stub_args: &[&str] = match via {
            Via::Program => &[&self.program_arg],
            Via::Stub | Via::Proxy => &[],
        };
        // Both are kept until LLDB has finished: dropping the stub kills Wasmtime.
        let stub = large_stub(&self.cx.programs.large, stub_args);
        let proxy = match via {
            Via::Proxy => Some(InstantImageProxy::start(
                stub.addr(),
                self.image.clone(),
                self.frames.clone(),
            )?),
            Via::Stub | Via::Program => None,
        };
        let addr = proxy.as_ref().map_or(stub.addr(), |p| p.addr);
        let mut commands = Vec::new();
        if let Some(path) = packet_log {
            // `-T` timestamps each packet, for the connection's duration.
            commands.push(format!(
                "log enable -T -f {} gdb-remote packets",
                path.display()
            ));
        }
        if stamped {
            commands.push(stamp("start"));
        }
        commands.push(connect_command(addr));
        if stamped {
            commands.push(stamp(&stamp_label("connect")));
        }
        for step in STEPS {
            commands.push(step.into());
            if stamped {
                commands.push(stamp(&stamp_label(step)));
            }
        }
        commands.push("process kill".into());
        let session = measure::lldb_session(&self.cx.lldb22, &commands, &self.cwd, &EXPECT);
        drop(proxy);
        drop(stub);
        session
    }
}

/// What LLDB sent up to its first resume, from one session's packet log.
struct Connect {
    /// Packets in the whole session.
    total: usize,
    before_resume: usize,
    /// Memory reads (`m`, `x`) before the first resume, and the bytes they asked for.
    reads: usize,
    read_bytes: u64,
    largest_read: u64,
    /// Read sizes before the first resume, the most frequent first; zero-length capability probes
    /// are left out.
    sizes: Vec<(u64, usize)>,
    /// In the whole session.
    m_reads: usize,
    x_reads: usize,
    /// The first few `x` requests of the session and the start of their replies.
    x_probes: Vec<String>,
    /// Reads before the first resume answered with an error code.
    failed: Vec<String>,
    /// From the first packet to the first resume, and from the first memory read to the last one
    /// before it (present when the log has timestamps).
    connect_seconds: Option<f64>,
    reads_seconds: Option<f64>,
    after_resume: BTreeMap<String, i64>,
}

/// `m`/`x` requests: the letter, address and length.
fn memory_read(payload: &str) -> Option<(char, u64, u64)> {
    let kind = payload.chars().next().filter(|c| matches!(c, 'm' | 'x'))?;
    let (addr, len) = payload[1..].split_once(',')?;
    Some((
        kind,
        u64::from_str_radix(addr, 16).ok()?,
        u64::from_str_radix(len, 16).ok()?,
    ))
}

impl Connect {
    fn analyse(path: &Path) -> measure::Result<Self> {
        let log = PacketLog::read(path)?;
        let times = send_times(path)?;
        let resume = log.first_resume();
        let mut connect = Connect {
            total: log.exchanges.len(),
            before_resume: resume,
            reads: 0,
            read_bytes: 0,
            largest_read: 0,
            sizes: Vec::new(),
            m_reads: 0,
            x_reads: 0,
            x_probes: Vec::new(),
            failed: Vec::new(),
            connect_seconds: None,
            reads_seconds: None,
            after_resume: log.kinds_after_resume(),
        };
        let mut sizes: BTreeMap<u64, usize> = BTreeMap::new();
        let mut read_times = Vec::new();
        for (i, (payload, reply)) in log.exchanges.iter().enumerate() {
            let Some((kind, _, len)) = memory_read(payload) else {
                continue;
            };
            match kind {
                'm' => connect.m_reads += 1,
                _ => connect.x_reads += 1,
            }
            connect.largest_read = connect.largest_read.max(len);
            if kind == 'x' && connect.x_probes.len() < 4 {
                // The replies are image bytes: their start is enough to tell data from refusal.
                let shown = match reply.as_deref() {
                    None | Some("") => "empty reply (unsupported)".to_string(),
                    Some(r) if r.chars().count() > 16 => {
                        format!("{}...", r.chars().take(16).collect::<String>())
                    }
                    Some(r) => r.to_string(),
                };
                connect.x_probes.push(format!("{payload} -> {shown}"));
            }
            if i >= resume {
                continue;
            }
            connect.reads += 1;
            connect.read_bytes += len;
            if len > 0 {
                *sizes.entry(len).or_default() += 1;
            }
            if reply.as_deref().is_some_and(is_error_code) {
                connect.failed.push(payload.clone());
            }
            if let Some(t) = times.get(i).copied().flatten() {
                read_times.push(t);
            }
        }
        connect.sizes = sizes.into_iter().collect();
        connect
            .sizes
            .sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        connect.sizes.truncate(4);
        if let (Some(Some(first)), Some(Some(resumed))) = (times.first(), times.get(resume)) {
            connect.connect_seconds = Some(resumed - first);
        }
        if let (Some(first), Some(last)) = (read_times.first(), read_times.last())
            && read_times.len() > 1
        {
            connect.reads_seconds = Some(last - first);
        }
        Ok(connect)
    }

    fn describe(&self, image_size: usize) -> String {
        let sizes: Vec<String> = self
            .sizes
            .iter()
            .map(|(size, n)| format!("{n} x {size:#x}"))
            .collect();
        let mut parts = vec![format!(
            "{} packets in the whole session, {} before the first resume; memory reads before it: {} asking for \
             {:.1} MB ({:.2}x the image), sizes {}, largest {:#x}; {} `m` + {} `x` in the session",
            self.total,
            self.before_resume,
            self.reads,
            self.read_bytes as f64 / 1e6,
            self.read_bytes as f64 / image_size as f64,
            sizes.join(", "),
            self.largest_read,
            self.m_reads,
            self.x_reads
        )];
        parts.push(if self.x_probes.is_empty() {
            "binary reads: none".into()
        } else {
            format!("binary reads: {}", self.x_probes.join("; "))
        });
        if !self.failed.is_empty() {
            parts.push(format!(
                "failed reads before the first resume: {}",
                self.failed.join(", ")
            ));
        }
        if let Some(connect) = self.connect_seconds {
            let reads = self.reads_seconds.map_or("n/a".into(), seconds);
            parts.push(format!(
                "first packet to first resume {} (logging on, so slower), first to last memory read {reads}",
                seconds(connect)
            ));
        }
        let mut after: Vec<(&String, &i64)> = self.after_resume.iter().collect();
        after.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let after: Vec<String> = after
            .iter()
            .map(|(kind, n)| format!("{kind} x{n}"))
            .collect();
        parts.push(format!(
            "from the first resume to the end: {}",
            after.join(", ")
        ));
        format!(
            "LLDB 22's packet log, attaching to the large module: {}.",
            parts.join("; ")
        )
    }
}

fn is_error_code(reply: &str) -> bool {
    reply.len() == 3 && reply.starts_with('E') && reply[1..].chars().all(|c| c.is_ascii_hexdigit())
}

/// The `-T` timestamp of each packet LLDB sent, in the order [`PacketLog`] lists them (the same
/// lines, picked the same way); `None` for a line without one.
fn send_times(path: &Path) -> measure::Result<Vec<Option<f64>>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| BenchError(format!("read {}: {e}", path.display())))?;
    Ok(text
        .lines()
        .filter(|line| !line.contains("history["))
        .filter(|line| {
            line.find("send packet: $")
                .is_some_and(|at| line[at..].contains('#'))
        })
        .map(|line| {
            line.split_whitespace()
                .next()
                .and_then(|word| word.parse().ok())
        })
        .collect())
}

/// Stands between LLDB and the stub: answers LLDB's `x` reads of module 0's image itself, from
/// the file, with replies framed ahead of time, and passes everything else through.
struct InstantImageProxy {
    addr: SocketAddr,
    /// Ends the wait for LLDB if it never connects.
    stop: Arc<AtomicBool>,
}

impl InstantImageProxy {
    fn start(stub: SocketAddr, image: Arc<Vec<u8>>, frames: Frames) -> measure::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .map_err(|e| BenchError(format!("proxy: bind: {e}")))?;
        let addr = listener
            .local_addr()
            .map_err(|e| BenchError(e.to_string()))?;
        // Polled, so that dropping the proxy ends a wait for a connection that never comes.
        listener
            .set_nonblocking(true)
            .map_err(|e| BenchError(e.to_string()))?;
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        thread::spawn(move || {
            if let Err(e) = proxy(&listener, &stopped, stub, &image, &frames) {
                // The LLDB session then fails with its own message; this says why.
                progress(&format!("instant-image proxy: {e}"));
            }
        });
        Ok(InstantImageProxy { addr, stop })
    }
}

impl Drop for InstantImageProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn proxy(
    listener: &TcpListener,
    stop: &AtomicBool,
    stub: SocketAddr,
    image: &[u8],
    frames: &Frames,
) -> std::io::Result<()> {
    let mut lldb = loop {
        match listener.accept() {
            Ok((conn, _)) => break conn,
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                if stop.load(Ordering::Relaxed) {
                    return Ok(());
                }
                thread::sleep(Duration::from_millis(5));
            }
            Err(e) => return Err(e),
        }
    };
    lldb.set_nonblocking(false)?;
    let mut to_stub = TcpStream::connect(stub)?;
    for conn in [&lldb, &to_stub] {
        conn.set_nodelay(true)?;
    }
    // Both directions write to LLDB: the stub's replies and the proxy's own.
    let to_lldb = Arc::new(Mutex::new(lldb.try_clone()?));
    let mut from_stub = to_stub.try_clone()?;
    let pump_to = to_lldb.clone();
    thread::spawn(move || {
        let mut chunk = vec![0; 1 << 20];
        while let Ok(n @ 1..) = from_stub.read(&mut chunk) {
            let mut lldb = pump_to.lock().unwrap_or_else(|e| e.into_inner());
            if lldb.write_all(&chunk[..n]).is_err() {
                break;
            }
        }
        let _ = pump_to
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .shutdown(Shutdown::Both);
    });

    let mut buf = Vec::new();
    let mut chunk = vec![0; 1 << 16];
    // Until LLDB turns acks off, the stub's `+` for each packet is part of the exchange.
    let mut no_ack = false;
    loop {
        let n = lldb.read(&mut chunk)?;
        if n == 0 {
            let _ = to_stub.shutdown(Shutdown::Both);
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        while !buf.is_empty() {
            if buf[0] != b'$' {
                // Acks and interrupts pass through as they are.
                let passed = buf.iter().position(|&b| b == b'$').unwrap_or(buf.len());
                to_stub.write_all(&buf[..passed])?;
                buf.drain(..passed);
                continue;
            }
            let Some(end) = buf
                .iter()
                .position(|&b| b == b'#')
                .filter(|&end| buf.len() >= end + 3)
            else {
                break;
            };
            let packet: Vec<u8> = buf.drain(..end + 3).collect();
            let payload = &packet[1..end];
            no_ack |= payload == b"QStartNoAckMode";
            if no_ack && let Some(reply) = image_frame(payload, image, frames) {
                to_lldb
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .write_all(&reply)?;
                continue;
            }
            to_stub.write_all(&packet)?;
        }
    }
}

/// The framed reply to an `x` read inside module 0's image, or `None` for any other packet.
fn image_frame(payload: &[u8], image: &[u8], frames: &Frames) -> Option<Arc<[u8]>> {
    let (kind, addr, len) = memory_read(std::str::from_utf8(payload).ok()?)?;
    if kind != 'x' || len == 0 || addr >> 32 != CODE_BASE >> 32 {
        return None;
    }
    let offset = usize::try_from(addr - CODE_BASE)
        .ok()
        .filter(|&o| o < image.len())?;
    let len = usize::try_from(len).ok()?;
    let mut frames = frames.lock().unwrap_or_else(|e| e.into_inner());
    let reply = frames.entry((offset, len)).or_insert_with(|| {
        let end = image.len().min(offset.saturating_add(len));
        framed(&escape_binary(&image[offset..end])).into()
    });
    Some(reply.clone())
}
