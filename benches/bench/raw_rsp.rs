//! Raw RSP figures on `bench/c/hot_loop.c`, each against an empty-reply round trip measured on
//! the same connection (the socket, the stub's session loop and gdbstub, with no work): the
//! breakpoint-hit cycle LLDB runs at every stop (`vCont;c` -> stop -> `qWasmCallStack` ->
//! `qWasmLocal`), single steps, and the cost of a write watchpoint to a store-heavy loop.

use std::time::Instant;

use crate::common::Debuggee;
use crate::common::wasm::function_entry;
use crate::measure::{self, CODE_BASE, Row, WARMUP, median, millis, progress, stop_pc};
use crate::{Context, Report, fail};

pub fn measure(cx: &Context) -> measure::Result<Report> {
    let mut report = Report::default();
    hit_cycle_and_steps(cx, &mut report)?;
    watchpoint(cx, &mut report)?;
    Ok(report)
}

fn hit_cycle_and_steps(cx: &Context, report: &mut Report) -> measure::Result<()> {
    let (hits, steps) = (cx.args.hits, cx.args.steps);
    progress(&format!(
        "raw RSP: {hits} breakpoint hits and {steps} single steps"
    ));
    let wasm =
        std::fs::read(&cx.programs.hot_loop).map_err(|e| measure::BenchError(e.to_string()))?;
    let entry = CODE_BASE | u64::from(function_entry(&wasm, "bump"));
    // Enough iterations for every hit and step; the run is killed when done.
    let iterations = ((hits + WARMUP) * 4 + steps + 1000).to_string();
    let stub = Debuggee::spawn(&cx.programs.hot_loop, &[], &[&iterations]);
    let mut client = measure::connect_raw(&stub)?;

    let pings = measure::empty_round_trips(&mut client, hits)?;
    if client.request(&format!("Z0,{entry:x},1")) != "OK" {
        fail!("Z0 at bump's entry {entry:#x} refused");
    }
    let mut cycles = Vec::new();
    let mut parts = [Vec::new(), Vec::new(), Vec::new()];
    let mut last_local = String::new();
    for i in 0..hits + WARMUP {
        let t0 = Instant::now();
        let stop = client.request("vCont;c:p1.-1");
        let t1 = Instant::now();
        let stack = client.request("qWasmCallStack:1");
        let t2 = Instant::now();
        let local = client.request("qWasmLocal:0;0");
        let t3 = Instant::now();
        if !stop.contains("swbreak") || stop_pc(&stop) != Some(entry) {
            fail!("hit {i}: expected a breakpoint stop at {entry:#x}, got {stop:?}");
        }
        if stack.len() < 32 || local.is_empty() || local.starts_with('E') {
            fail!("hit {i}: call stack {stack:?}, local {local:?}");
        }
        if i >= WARMUP {
            cycles.push((t3 - t0).as_secs_f64());
            for (part, (a, b)) in parts.iter_mut().zip([(t0, t1), (t1, t2), (t2, t3)]) {
                part.push((b - a).as_secs_f64());
            }
        }
        last_local = local;
    }
    // Local 0 of the last hit is the loop counter: proof that every call really stopped.
    let counter = crate::common::rsp::hex_decode(&last_local).and_then(|b| {
        b.get(..4)
            .map(|b| u32::from_le_bytes(b.try_into().unwrap()))
    });
    if counter != Some((hits + WARMUP - 1) as u32) {
        fail!(
            "local 0 at the last hit is {counter:?}, expected {}",
            hits + WARMUP - 1
        );
    }
    if client.request(&format!("z0,{entry:x},1")) != "OK" {
        fail!("z0 refused");
    }
    let mut step_times = Vec::new();
    for i in 0..steps + WARMUP {
        let t0 = Instant::now();
        let reply = client.request("vCont;s:p1.1");
        if i >= WARMUP {
            step_times.push(t0.elapsed().as_secs_f64());
        }
        if !reply.starts_with("T05") {
            fail!("step {i}: expected a trap stop, got {reply:?}");
        }
    }
    client.send("k");
    drop(stub);

    let ping = median(&pings);
    let cycle = median(&cycles);
    let step = median(&step_times);
    report.rows.push(
        Row::new(
            "Breakpoint hit + `qWasmCallStack` + `qWasmLocal` (raw RSP)",
            millis(cycle),
        )
        .against(
            format!("{} (empty-reply round trip)", millis(ping)),
            measure::ratio(cycle, ping),
        ),
    );
    report.rows.push(
        Row::new(
            "Single step (`vCont;s`), small function (`hot_loop.c`)",
            format!("{:.0} steps/s", 1.0 / step),
        )
        .against(
            format!("{:.0} empty round trips/s", 1.0 / ping),
            measure::ratio(step, ping),
        ),
    );
    report.notes.push(format!(
        "Hit cycle parts (medians of {hits}): `vCont;c` to the stop {}, `qWasmCallStack` {}, `qWasmLocal` {}.",
        millis(median(&parts[0])),
        millis(median(&parts[1])),
        millis(median(&parts[2]))
    ));
    Ok(())
}

/// The store loop run to its end with one write watchpoint on memory it never writes, against
/// the same run without, for two watched places: the bottom of the stack region (the stack is
/// linked first, below 64 KiB, and never grows that deep), where every store through the stack
/// pointer could reach it and keeps its breakpoint; and the first byte of the data region (read-only
/// string constants above the stack), where the stub proves the loop's stack and global stores
/// cannot (`crate::access_bounds`), as for any watched global or heap object.
fn watchpoint(cx: &Context, report: &mut Report) -> measure::Result<()> {
    let iterations = cx.args.watch_iterations;
    for (watched, place) in [(0x10u64, "in the stack region"), (0x10000, "on a global")] {
        progress(&format!(
            "watchpoint slowdown: {iterations} iterations of a store loop, watching {place}, \
             3 runs each"
        ));
        let mut times = [Vec::new(), Vec::new()];
        for _ in 0..3 {
            for (watch, slot) in [false, true].into_iter().zip(0..) {
                let stub = Debuggee::spawn(&cx.programs.hot_loop, &[], &[&iterations.to_string()]);
                let mut client = measure::connect_raw(&stub)?;
                if watch && client.request(&format!("Z2,{watched:x},4")) != "OK" {
                    fail!("Z2 refused");
                }
                client.set_timeout(std::time::Duration::from_secs(600));
                let t0 = Instant::now();
                let reply = client.request("vCont;c:p1.-1");
                times[slot].push(t0.elapsed().as_secs_f64());
                if !reply.starts_with("W00") {
                    fail!("expected the program to finish, got {reply:?}");
                }
            }
        }
        let (without, with) = (median(&times[0]), median(&times[1]));
        report.rows.push(
            Row::new(
                format!("Store loop with one write watchpoint {place}, never written"),
                format!(
                    "{} per iteration",
                    millis((with - without).max(0.0) / iterations as f64)
                ),
            )
            .against(
                format!(
                    "{} for {iterations} iterations without, {} with",
                    measure::seconds(without),
                    measure::seconds(with)
                ),
                measure::ratio(with, without),
            ),
        );
    }
    Ok(())
}
