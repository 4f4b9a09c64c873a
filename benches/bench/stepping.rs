//! Stepping figures: LLDB 22 `next` over a straight-line function (`straight20()` of
//! tests/fixtures/c/app.c), raw `vCont;s` steps in the Lua corpus' largest function
//! (`luaV_execute`, the interpreter loop), and LLDB 22 and 23 `next`s there through the LLDB
//! integration (`lldb/wasm_gdbstub.py`, whose `next` has the stub step each line). Each
//! LLDB figure is measured on Wasm through the stub and natively (the same source built for
//! x86-64, LLDB's own debug server), timed from inside LLDB, with the packets LLDB sends per
//! `next` on each side from its own packet log.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::common::lldb::connect_command;
use crate::common::wasm::{Layout, function_layouts};
use crate::common::{Debuggee, fixtures, line_of};
use crate::measure::{
    self, BenchError, CODE_BASE, Lldb, PacketLog, Row, Session, WARMUP, describe_kinds,
    kinds_per_stop, median, millis, progress, stamp, stop_pc, trim_number,
};
use crate::{Context, Report, fail};

pub fn measure(cx: &Context) -> measure::Result<Report> {
    let cwd = cx.work.join("stepping");
    std::fs::create_dir_all(&cwd)
        .map_err(|e| BenchError(format!("create {}: {e}", cwd.display())))?;
    let mut report = Report::default();
    straight_line_nexts(cx, &cwd, &mut report)?;
    corpus(cx, &cwd, &mut report)?;
    instruction_steps(cx, &cwd, &mut report)?;
    Ok(report)
}

#[derive(Clone, Copy)]
enum Side {
    Native,
    Wasm,
}

impl Side {
    const BOTH: [Side; 2] = [Side::Native, Side::Wasm];

    fn name(self) -> &'static str {
        match self {
            Side::Native => "native",
            Side::Wasm => "wasm",
        }
    }
}

/// A run of `next`s: the same source built both ways, the LLDB that steps, where the sessions
/// stop first, and what proves that they stepped where they should.
struct Nexts<'a> {
    /// Names this workload's packet logs.
    name: &'static str,
    lldb: &'a Lldb,
    native: PathBuf,
    wasm: PathBuf,
    /// Settings applied before the target exists.
    settings: Vec<String>,
    breakpoint: String,
    /// What LLDB prints at the breakpoint stop.
    first_stop: String,
    /// What LLDB prints at the last `next`'s stop, where that is known.
    last_stop: Option<String>,
    /// The step command timed (`next`, or `si` for instruction steps) and the stop reason LLDB
    /// shows after each.
    command: &'static str,
    stop_reason: &'static str,
}

impl Nexts<'_> {
    /// One batch session: stop at the breakpoint, delete it (a `next` over a call that re-enters
    /// the function would otherwise stop there), then `nexts` nexts between two timestamps.
    fn session(
        &self,
        cx: &Context,
        side: Side,
        nexts: usize,
        packet_log: Option<&Path>,
        cwd: &Path,
    ) -> measure::Result<Session> {
        let mut commands = Vec::new();
        if let Some(path) = packet_log {
            commands.push(PacketLog::enable_command(path));
        }
        commands.extend(self.settings.iter().cloned());
        // Kept alive until the session ends: dropping it kills Wasmtime.
        let mut stub = None;
        match side {
            Side::Native => {
                commands.push(format!("target create {}", self.native.display()));
                // The program's output would otherwise interleave with LLDB's.
                commands.push("settings set target.output-path /dev/null".into());
                commands.push(self.breakpoint.clone());
                commands.push("run".into());
            }
            Side::Wasm => {
                let debuggee = Debuggee::spawn(&self.wasm, &[], &[]);
                commands.push(connect_command(debuggee.addr()));
                commands.push(self.breakpoint.clone());
                commands.push("continue".into());
                stub = Some(debuggee);
            }
        }
        commands.push("breakpoint delete --force".into());
        // The batches without nexts carry the same stamps, so the batch difference is the
        // nexts alone.
        if cx.python {
            commands.push(stamp("before"));
        }
        commands.extend(std::iter::repeat_n(self.command.to_string(), nexts));
        if cx.python {
            commands.push(stamp("after"));
        }
        // Its "exited with status" shows the nexts left the program running.
        commands.push("process kill".into());
        let mut expect = vec![self.first_stop.as_str(), "exited with status"];
        if nexts > 0 {
            expect.extend(self.last_stop.as_deref());
        }
        let session = measure::lldb_session(self.lldb, &commands, cwd, &expect)?;
        drop(stub);
        let steps = session.count(&format!("stop reason = {}", self.stop_reason));
        if steps != nexts {
            fail!(
                "{} {} session: expected {nexts} `{}` stops, saw {steps}:\n{}",
                self.name,
                side.name(),
                self.stop_reason,
                measure::tail(&session.output)
            );
        }
        Ok(session)
    }

    /// Seconds per `next` on each side (native first), over `runs` sessions per side: timed
    /// inside LLDB where it can run `script`, and also as the difference between whole sessions
    /// with and without the nexts where LLDB cannot, or on Wasm if `wasm_pairs` is set. (Natively
    /// that difference is lost in LLDB's start-up and exit jitter.)
    fn time(
        &self,
        cx: &Context,
        nexts: usize,
        runs: usize,
        wasm_pairs: bool,
        cwd: &Path,
    ) -> measure::Result<[Timing; 2]> {
        let mut timings = [Timing::default(), Timing::default()];
        for _ in 0..runs {
            // Alternate, so that load from elsewhere on the machine hits both sides alike.
            for (side, timing) in Side::BOTH.into_iter().zip(timings.iter_mut()) {
                let with = self.session(cx, side, nexts, None, cwd)?;
                if cx.python {
                    timing
                        .inside
                        .push(with.between("before", "after")? / nexts as f64);
                }
                if !cx.python || (wasm_pairs && matches!(side, Side::Wasm)) {
                    let without = self.session(cx, side, 0, None, cwd)?;
                    timing
                        .batches
                        .push((with.elapsed - without.elapsed) / nexts as f64);
                }
            }
        }
        Ok(timings)
    }

    /// Packets LLDB sends per `next` on each side (native first), by kind: two logged sessions
    /// per side, with and without the nexts, so that everything else cancels out.
    fn packets(
        &self,
        cx: &Context,
        nexts: usize,
        cwd: &Path,
    ) -> measure::Result<[Vec<(String, f64)>; 2]> {
        let mut per_next = [Vec::new(), Vec::new()];
        for (side, kinds) in Side::BOTH.into_iter().zip(per_next.iter_mut()) {
            let mut logs = Vec::new();
            for n in [nexts, 0] {
                let path = cwd.join(format!("packets-{}-{}-{n}.log", self.name, side.name()));
                self.session(cx, side, n, Some(&path), cwd)?;
                logs.push(PacketLog::read(&path)?);
            }
            *kinds = kinds_per_stop(&logs[0], &logs[1], nexts);
        }
        Ok(per_next)
    }
}

/// One side's times per `next`.
#[derive(Default)]
struct Timing {
    /// Timed inside LLDB, one per session.
    inside: Vec<f64>,
    /// Whole session with the nexts minus the one right after it without.
    batches: Vec<f64>,
}

impl Timing {
    /// The figure reported: timed inside LLDB where there is such a timing, since LLDB's start
    /// and exit jitter by about as much as a few dozen nexts take.
    fn per_next(&self) -> f64 {
        median(if self.inside.is_empty() {
            &self.batches
        } else {
            &self.inside
        })
    }
}

fn total(kinds: &[(String, f64)]) -> f64 {
    kinds.iter().map(|(_, n)| n).sum()
}

/// LLDB 22 `next` from the first line of `straight20()` to its last: no calls, one line per
/// `next`.
fn straight_line_nexts(cx: &Context, cwd: &Path, report: &mut Report) -> measure::Result<()> {
    let source = fixtures::c_app_src();
    let first = line_of(&source, "straight20_first");
    let last = line_of(&source, "straight20_last");
    let nexts = (last - first) as usize;
    let runs = cx.args.next_runs;
    progress(&format!(
        "LLDB 22 `next` x{nexts} over straight20(): {runs} batches natively and on Wasm, \
         each on Wasm also without the nexts"
    ));
    let workload = Nexts {
        name: "straight20",
        lldb: &cx.lldb22,
        native: fixtures::c_native("app"),
        wasm: cx.programs.app.clone(),
        settings: Vec::new(),
        breakpoint: format!("breakpoint set --file app.c --line {first}"),
        first_stop: format!("app.c:{first}"),
        last_stop: Some(format!("app.c:{last}")),
        command: "next",
        stop_reason: "step over",
    };
    let [native, wasm] = workload.time(cx, nexts, runs, true, cwd)?;
    let [native_packets, wasm_packets] = workload.packets(cx, nexts, cwd)?;

    let timing = if cx.python {
        "timed inside LLDB"
    } else {
        "batch with the nexts minus batch without"
    };
    report.rows.push(
        Row::new(
            format!(
                "LLDB 22 `next` over a straight-line function (`straight20()` in app.c), \
                 per `next` ({timing})"
            ),
            millis(wasm.per_next()),
        )
        .against(
            format!(
                "{} natively (x86-64, same source)",
                millis(native.per_next())
            ),
            measure::ratio(wasm.per_next(), native.per_next()),
        ),
    );
    report.rows.push(
        Row::new(
            "Packets LLDB 22 sends per `next` there",
            trim_number(total(&wasm_packets)),
        )
        .against(
            format!("{} natively", trim_number(total(&native_packets))),
            measure::ratio(total(&wasm_packets), total(&native_packets)),
        ),
    );
    // Pairs ran back to back, so the median of their differences resists drifting load better
    // than the difference of two medians; it still includes LLDB's start-up and exit jitter.
    report.notes.push(format!(
        "`next` over straight20() on Wasm, {nexts} per batch: the whole batch minus the same batch \
         without the nexts, per `next`, {} (median of {runs} pairs; within LLDB's start and exit \
         jitter). Per `next`, LLDB 22 sends on Wasm: {}; natively: {}.",
        millis(median(&wasm.batches)),
        describe_kinds(&wasm_packets),
        describe_kinds(&native_packets)
    ));
    Ok(())
}

/// Raw steps and LLDB 23 `next`s in the corpus' largest function.
fn corpus(cx: &Context, cwd: &Path, report: &mut Report) -> measure::Result<()> {
    let bytes = std::fs::read(&cx.programs.lua_wasm)
        .map_err(|e| BenchError(format!("read {}: {e}", cx.programs.lua_wasm.display())))?;
    let function = largest_function(&bytes)?;
    let size = format!("{:.1} kB", f64::from(function.end - function.entry) / 1e3);
    let steps = cx.args.corpus_steps;
    if steps > 0 {
        progress(&format!(
            "raw RSP: {steps} single steps in the corpus' largest function, {} ({size})",
            function.name
        ));
        let raw = raw_steps(cx, &function, steps)?;
        let step = median(&raw.steps);
        let ping = median(&raw.pings);
        report.rows.push(
            Row::new(
                format!(
                    "Single step (`vCont;s`) in the corpus' largest function, Lua's `{}` ({size})",
                    function.name
                ),
                format!("{:.0} steps/s", 1.0 / step),
            )
            .against(
                format!("{:.0} empty round trips/s", 1.0 / ping),
                measure::ratio(step, ping),
            ),
        );
        report.notes.push(format!(
            "Raw steps in {} (medians of {steps}): {} per step, {} per empty round trip on the \
             same connection; {} of the steps stopped inside it, the rest in its callees.",
            function.name,
            millis(step),
            millis(ping),
            raw.inside
        ));
    }

    let nexts = cx.args.corpus_nexts;
    if nexts == 0 {
        return Ok(());
    }
    let runs = cx.args.runs;
    let integration = crate::common::manifest_dir().join("lldb/wasm_gdbstub.py");
    // The integration's `next` (the stub steps each line), in both LLDBs; and, for comparison,
    // the alternative it replaced: LLDB's own stepping with fast stepping off, where LLDB
    // single-steps each instruction (LLDB 23 only: LLDB 22 then stops inside callees).
    let ways = [
        (
            "LLDB 22",
            &cx.lldb22,
            "the integration's defaults",
            format!("command script import {}", integration.display()),
        ),
        (
            "LLDB 23",
            &cx.lldb23,
            "the integration's defaults",
            format!("command script import {}", integration.display()),
        ),
        (
            "LLDB 23",
            &cx.lldb23,
            "LLDB's own stepping, fast stepping off",
            "settings set target.use-fast-stepping false".to_string(),
        ),
    ];
    for (version, lldb, how, setting) in ways {
        progress(&format!(
            "{version} `next` x{nexts} in {} ({how}): {runs} sessions natively and on Wasm",
            function.name
        ));
        let workload = Nexts {
            name: "corpus",
            lldb,
            native: cx.programs.lua_native.clone(),
            wasm: cx.programs.lua_wasm.clone(),
            // The entry's defaults, on both sides: on Wasm the integration's `next` has the stub
            // step each line (it crashed LLDB here with LLDB's own fast stepping); natively it is
            // LLDB's own `thread step-over`.
            settings: vec![setting],
            breakpoint: format!("breakpoint set --name {}", function.name),
            first_stop: format!("`{}", function.name),
            last_stop: None,
            command: "next",
            stop_reason: "step over",
        };
        let [native, wasm] = workload.time(cx, nexts, runs, false, cwd)?;
        let [native_packets, wasm_packets] = workload.packets(cx, nexts, cwd)?;
        let timing = if cx.python {
            "timed inside LLDB"
        } else {
            "session with the nexts minus session without"
        };
        report.rows.push(
            Row::new(
                format!(
                    "{version} `next` in `{}` ({how}), per `next` ({timing})",
                    function.name
                ),
                millis(wasm.per_next()),
            )
            .against(
                format!(
                    "{} natively (x86-64, same source, same LLDB)",
                    millis(native.per_next())
                ),
                measure::ratio(wasm.per_next(), native.per_next()),
            ),
        );
        report.notes.push(format!(
            "Per {version} `next` in {} ({how}; a logged session of {nexts} minus one without, \
             per side): {} packets on Wasm ({}), {} natively ({}).",
            function.name,
            trim_number(total(&wasm_packets)),
            describe_kinds(&wasm_packets),
            trim_number(total(&native_packets)),
            describe_kinds(&native_packets)
        ));
    }
    Ok(())
}

/// LLDB 22 `si` in bzip2's `BZ2_decompress` (a 41-case `switch` state machine with about 2,300
/// Wasm locals at -O0) and in `makeMaps_d`, a small function of the same module, each beside
/// native `si` in the same function. At every stop LLDB reads the frame base (a Wasm local) to
/// show the function's arguments; that read must not cost per local the function has.
fn instruction_steps(cx: &Context, cwd: &Path, report: &mut Report) -> measure::Result<()> {
    let steps = cx.args.corpus_nexts;
    if steps == 0 {
        return Ok(());
    }
    let runs = cx.args.runs;
    let integration = crate::common::manifest_dir().join("lldb/wasm_gdbstub.py");
    let mut per_step = Vec::new();
    for function in ["BZ2_decompress", "makeMaps_d"] {
        progress(&format!(
            "LLDB 22 `si` x{steps} in bzip2's {function}: {runs} sessions natively and on Wasm"
        ));
        let workload = Nexts {
            name: "bzip2-si",
            lldb: &cx.lldb22,
            native: crate::common::corpus::bzip2_native(),
            wasm: crate::common::corpus::bzip2_wasm(),
            settings: vec![format!("command script import {}", integration.display())],
            breakpoint: format!("breakpoint set --name {function}"),
            first_stop: format!("`{function}"),
            last_stop: Some(format!("`{function}")),
            command: "si",
            stop_reason: "instruction step into",
        };
        let [native, wasm] = workload.time(cx, steps, runs, false, cwd)?;
        report.rows.push(
            Row::new(
                format!("LLDB 22 `si` in bzip2's `{function}`, steps/s"),
                format!("{:.0} steps/s", 1.0 / wasm.per_next()),
            )
            .against(
                format!(
                    "{:.0} steps/s natively (x86-64, same source)",
                    1.0 / native.per_next()
                ),
                measure::ratio(wasm.per_next(), native.per_next()),
            ),
        );
        per_step.push(wasm.per_next());
    }
    if let [large, small] = per_step[..] {
        report.notes.push(format!(
            "`si` on Wasm: {} per step in BZ2_decompress (about 2,300 locals), {} in makeMaps_d; \
             ratio {:.2}.",
            millis(large),
            millis(small),
            large / small
        ));
    }
    Ok(())
}

/// A defined function's code, as module offsets.
struct Function {
    name: String,
    /// The first instruction.
    entry: u32,
    /// One past the body's last byte.
    end: u32,
}

/// The named function with the most code.
fn largest_function(wasm: &[u8]) -> measure::Result<Function> {
    function_layouts(wasm)
        .into_iter()
        .map(|(name, Layout { entry, end, .. })| Function { name, entry, end })
        .max_by_key(|f| (f.end - f.entry, f.entry))
        .ok_or_else(|| BenchError("no named function in the Lua corpus module".into()))
}

struct RawSteps {
    /// Seconds per `vCont;s`.
    steps: Vec<f64>,
    /// Seconds per empty-reply round trip on the same connection.
    pings: Vec<f64>,
    /// How many timed steps stopped inside the function (the others are in its callees).
    inside: usize,
}

/// Runs to the function's first instruction, then single-steps from there.
fn raw_steps(cx: &Context, function: &Function, steps: usize) -> measure::Result<RawSteps> {
    let stub = Debuggee::spawn(&cx.programs.lua_wasm, &[], &[]);
    let mut client = measure::connect_raw(&stub)?;
    let pings = measure::empty_round_trips(&mut client, steps)?;
    let entry = CODE_BASE | u64::from(function.entry);
    if client.request(&format!("Z0,{entry:x},1")) != "OK" {
        fail!("Z0 at {}'s entry {entry:#x} refused", function.name);
    }
    let stop = client.request("vCont;c:p1.-1");
    if !stop.contains("swbreak") || stop_pc(&stop) != Some(entry) {
        fail!(
            "expected a breakpoint stop at {}'s entry {entry:#x}, got {stop:?}",
            function.name
        );
    }
    if client.request(&format!("z0,{entry:x},1")) != "OK" {
        fail!("z0 refused");
    }
    let code = CODE_BASE | u64::from(function.entry)..CODE_BASE | u64::from(function.end);
    let mut times = Vec::new();
    let mut inside = 0;
    for i in 0..steps + WARMUP {
        let t0 = Instant::now();
        let reply = client.request("vCont;s:p1.1");
        let elapsed = t0.elapsed().as_secs_f64();
        if !reply.starts_with("T05") {
            fail!(
                "step {i} in {}: expected a trap stop, got {reply:?}",
                function.name
            );
        }
        if i >= WARMUP {
            times.push(elapsed);
            if stop_pc(&reply).is_some_and(|pc| code.contains(&pc)) {
                inside += 1;
            }
        }
    }
    client.send("k");
    drop(stub);
    if inside == 0 {
        fail!("no step stopped inside {}", function.name);
    }
    Ok(RawSteps {
        steps: times,
        pings,
        inside,
    })
}
