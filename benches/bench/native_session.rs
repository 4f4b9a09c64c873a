//! The figure the project is measured by: one LLDB 22 session on the Lua corpus program (Lua
//! embedded in a small C host), `--stops` breakpoint stops each followed by `bt 5` and
//! `frame variable`, natively (the program built for x86-64, LLDB's own debug server) and on Wasm
//! through the stub; wall time of the stops (timed from inside LLDB), and the packets LLDB sends
//! per stop on each side, from LLDB's own packet log.

use std::path::Path;

use crate::common::Debuggee;
use crate::common::lldb::connect_command;
use crate::measure::{
    self, Lldb, PacketLog, Row, Session, describe_kinds, kinds_per_stop, median, millis, progress,
    requests_per_stop, stamp, stub_requests, time_split_per_stop, trim_number,
};
use crate::{Context, Report, fail};

/// Called thousands of times while Lua starts and runs its script, with locals and parameters to
/// show, in a C file of the Lua sources (so both builds stop at the same calls).
const FUNCTION: &str = "luaH_getshortstr";

#[derive(Clone, Copy, PartialEq)]
enum Side {
    Native,
    Wasm,
}

pub fn measure(cx: &Context) -> measure::Result<Report> {
    let stops = cx.args.stops;
    progress(&format!(
        "native comparison: LLDB 22, {stops} stops at {FUNCTION} + `bt 5` + `frame variable`, \
         {} sessions natively and on Wasm",
        cx.args.runs
    ));
    let cwd = cx.work.join("native-session");
    std::fs::create_dir_all(&cwd).map_err(|e| measure::BenchError(e.to_string()))?;
    let mut times = [Vec::new(), Vec::new()];
    for _ in 0..cx.args.runs {
        // Alternate, so that load from elsewhere on the machine hits both alike.
        for (i, side) in [Side::Native, Side::Wasm].into_iter().enumerate() {
            let session = run(cx, side, stops, None, &cwd)?;
            times[i].push(if cx.python {
                session.between("before", "after")?
            } else {
                session.elapsed
            });
        }
    }
    let (native, wasm) = (median(&times[0]), median(&times[1]));

    // Packets per stop: two logged sessions per side that differ only in their number of stops.
    let fewer = (stops / 3).max(1);
    let mut per_stop = Vec::new();
    let mut splits = Vec::new();
    let mut wasm_requests = Vec::new();
    for side in [Side::Native, Side::Wasm] {
        let mut logs = Vec::new();
        let mut requests = Vec::new();
        for n in [stops, fewer] {
            let path = cwd.join(format!("packets-{}-{n}.log", side.name()));
            let session = run(cx, side, n, Some(&path), &cwd)?;
            logs.push(PacketLog::read(&path)?);
            requests.push(stub_requests(&session.output));
        }
        per_stop.push(kinds_per_stop(&logs[0], &logs[1], stops - fewer));
        splits.push(time_split_per_stop(&logs[0], &logs[1], stops - fewer));
        if side == Side::Wasm {
            wasm_requests = requests_per_stop(&requests[0], &requests[1], stops - fewer);
        }
    }
    let total = |kinds: &[(String, f64)]| kinds.iter().map(|(_, n)| n).sum::<f64>();
    let timing = if cx.python {
        "timed inside LLDB"
    } else {
        "whole sessions"
    };
    let mut report = Report::default();
    report.rows.push(
        Row::new(
            format!("LLDB 22: {stops} stops at `{FUNCTION}` in the Lua corpus, each + `bt 5` + `frame variable` ({timing})"),
            measure::seconds(wasm),
        )
        .against(format!("{} natively (x86-64, same source)", measure::seconds(native)), measure::ratio(wasm, native)),
    );
    report.rows.push(
        Row::new(
            "Packets LLDB sends per stop there",
            trim_number(total(&per_stop[1])),
        )
        .against(
            format!("{} natively", trim_number(total(&per_stop[0]))),
            measure::ratio(total(&per_stop[1]), total(&per_stop[0])),
        ),
    );
    report.notes.push(format!(
        "Per stop at {FUNCTION}, LLDB 22 sends on Wasm: {}; natively: {}.",
        describe_kinds(&per_stop[1]),
        describe_kinds(&per_stop[0])
    ));
    // Where a stop's time goes, from the packet log's clock: what no stub could save is LLDB's.
    report.notes.push(format!(
        "Per stop (logged sessions), LLDB waits for replies {} on Wasm and {} natively, and works \
         {} on Wasm and {} natively: a stub answering instantly would leave the session at {} native.",
        millis(splits[1].0),
        millis(splits[0].0),
        millis(splits[1].1),
        millis(splits[0].1),
        measure::ratio(splits[1].1, splits[0].0 + splits[0].1),
    ));
    let total = wasm_requests.iter().find(|(kind, ..)| kind == "requests");
    let running = wasm_requests
        .iter()
        .find(|(kind, ..)| kind == "(program running)");
    match (total, running) {
        (Some((_, count, ms)), Some((_, resumptions, running_ms))) => {
            let kinds: Vec<String> = wasm_requests
                .iter()
                .filter(|(kind, ..)| !kind.starts_with('(') && kind != "requests")
                .take(6)
                .map(|(kind, count, ms)| format!("{} {kind} {ms:.3} ms", trim_number(*count)))
                .collect();
            report.notes.push(format!(
                "Per stop (`monitor stats` in the logged sessions) the stub made {} requests to \
                 Wasmtime taking {ms:.3} ms ({}), and the program ran {running_ms:.3} ms over {} \
                 resumptions, from each to its event.",
                trim_number(*count),
                kinds.join(", "),
                trim_number(*resumptions)
            ));
        }
        _ => fail!("no `monitor stats` output from the Wasm sessions"),
    }
    Ok(report)
}

impl Side {
    fn name(self) -> &'static str {
        match self {
            Side::Native => "native",
            Side::Wasm => "wasm",
        }
    }
}

/// One session of `stops` stops, logging LLDB's packets to `packet_log` if given.
fn run(
    cx: &Context,
    side: Side,
    stops: usize,
    packet_log: Option<&Path>,
    cwd: &Path,
) -> measure::Result<Session> {
    let mut commands = Vec::new();
    if let Some(path) = packet_log {
        commands.push(PacketLog::enable_command(path));
    }
    // Kept alive until the session ends: dropping it kills Wasmtime.
    let mut debuggee = None;
    match side {
        Side::Native => {
            commands.push(format!(
                "target create {}",
                cx.programs.lua_native.display()
            ));
            // The script's output would otherwise interleave with LLDB's.
            commands.push("settings set target.output-path /dev/null".into());
            commands.push(format!("breakpoint set --name {FUNCTION}"));
            commands.push("run".into());
        }
        Side::Wasm => {
            let stub = Debuggee::spawn(&cx.programs.lua_wasm, &[], &[]);
            commands.push(connect_command(stub.addr()));
            commands.push(format!("breakpoint set --name {FUNCTION}"));
            commands.push("continue".into());
            debuggee = Some(stub);
        }
    }
    // The stub's own count of its requests to Wasmtime, from here to the end.
    let stats = "process plugin packet monitor stats";
    let counted = side == Side::Wasm && packet_log.is_some();
    if counted {
        commands.push(stats.into());
    }
    commands.push(stamp("before"));
    for _ in 0..stops {
        commands.extend(["continue", "bt 5", "frame variable"].map(String::from));
    }
    commands.push(stamp("after"));
    if counted {
        commands.push(stats.into());
    }
    commands.push("process kill".into());
    let lldb: &Lldb = &cx.lldb22;
    let session = measure::lldb_session(lldb, &commands, cwd, &[&format!("`{FUNCTION}")])?;
    drop(debuggee);
    // Natively `run` stops once before the timed stretch; on Wasm the connection stops at the
    // entry and `continue` at the first call. `bt` repeats the stop line, so count LLDB's
    // process-stopped lines.
    let before = match side {
        Side::Native => 1,
        Side::Wasm => 2,
    };
    let stopped = session
        .output
        .lines()
        .filter(|l| l.starts_with("Process ") && l.ends_with(" stopped"))
        .count();
    if stopped != stops + before {
        fail!(
            "{} session: expected {} stops, saw {stopped}:\n{}",
            side.name(),
            stops + before,
            measure::tail(&session.output)
        );
    }
    Ok(session)
}
