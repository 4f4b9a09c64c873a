//! The native LLDB oracle for source-level stepping: the same C/C++ source is built for x86-64
//! and for Wasm, and LLDB steps both from the same breakpoint with `next` (or `step`) hundreds of
//! times. Natively LLDB steps with its own, long-tested engine; on Wasm every stop is the stub's
//! doing. The two sequences of (function, file, line, frame depth) stops must be identical.
//!
//! tests/lldb/step_trace.py records one trace; this file runs it twice per case and prints a
//! side-by-side diff around the first divergence. The traces and LLDB transcripts of each run are
//! kept under `target/native-oracle/` for diagnosis.
//!
//! What is normalised, and why (nothing else is):
//! * Library code. Debian's wasm32 toolchain libraries (wasi-libc, compiler-rt, libc++,
//!   libc++abi) carry DWARF; their native counterparts do not here, since the script turns off
//!   LLDB's lookup of detached debug files (`symbols.enable-external-lookup`), which would find
//!   this machine's libc6-dbg. `step` avoids, on both sides, every function with debug info whose
//!   compile unit is not under the program's source roots, and C++ standard library code (see
//!   `set_avoid_regexp` in step_trace.py): natively those are simply code without debug info.
//!   LLDB's own mechanism does the avoiding (`target.process.thread.step-avoid-regexp`: it steps
//!   out of such a function and goes on with the same step, as it does for code without debug
//!   info), so the regexp must name every frame LLDB can show in those libraries: they are
//!   optimised, and a call inlined there is a frame named after the inlined function (dlmalloc's
//!   `realloc` starts with an inlined `dlrealloc`, libc++'s `std::to_string` with `i_to_string`,
//!   `to_chars`...), often unqualified; and a function whose DWARF has no linkage name is named
//!   with its parameter list (`::to_string()`). See `library_functions` in step_trace.py.
//! * Function names are compared without their parameter lists and with the C++ libraries'
//!   inline namespaces and ABI tags folded (see `function_identity`).
//! * Stepping out of `main` ends the trace, and that last stop is compared only as "left main":
//!   glibc's start-up code has no line info here (LLDB stops at `___lldb_unnamed_symbol_…`, then
//!   single-steps machine instructions), while wasi-libc's `crt1-command.c` has line info
//!   (`_start`). Neither is the program.
//! * A stop without line info inside the program (none is expected) is compared by its frame
//!   depth only, since there is no function name both platforms share, and ends the trace.
//! * Three kinds of stops that only one platform can make are set aside after checking them
//!   against the Wasm module (see `set_aside`): a native stop on a line without Wasm code, a Wasm
//!   stop on the `drop` of an ignored result after a return, and a Wasm stop on `end`s only.
//! * Lua code whose path depends on GC pacing or on addresses is avoided by `step` on both sides
//!   (see the Lua cases).
//! * A trace that used up its step budget is compared only as far as it goes (set-aside stops
//!   make one side's budget reach less far).

mod common;

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{Debuggee, corpus, fixtures, lldb, manifest_dir};
use serde_json::Value;

const SCRIPT: &str = include_str!("lldb/step_trace.py");

/// One LLDB session (hundreds of steps) must finish within this.
const TRACE_TIMEOUT: Duration = Duration::from_secs(600);

/// Stops shown before the first divergence, and after it on each side.
const CONTEXT_BEFORE: usize = 5;
const CONTEXT_AFTER: usize = 12;

// ---------------------------------------------------------------------------
// Traces.

/// One line of step_trace.py's output.
#[derive(Debug, Clone)]
struct Event {
    kind: String,
    index: Option<u64>,
    func: String,
    file: String,
    line: u64,
    column: u64,
    pc: String,
    depth: i64,
    reason: String,
    raw: Value,
    /// Why this stop is left out of the comparison (see `set_aside`), if it is.
    set_aside: Option<&'static str>,
}

impl Event {
    fn parse(line: &str) -> Option<Self> {
        let raw: Value = serde_json::from_str(line).ok()?;
        let s = |k: &str| raw.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let u = |k: &str| raw.get(k).and_then(Value::as_u64).unwrap_or(0);
        Some(Event {
            kind: s("kind"),
            index: raw.get("i").and_then(Value::as_u64),
            func: s("func"),
            file: s("file"),
            line: u("line"),
            column: u("column"),
            pc: s("pc"),
            depth: raw.get("depth").and_then(Value::as_i64).unwrap_or(0),
            reason: s("reason"),
            raw,
            set_aside: None,
        })
    }

    fn is_stop(&self) -> bool {
        self.kind == "start" || self.kind == "stop"
    }

    /// What must be equal on both sides.
    fn key(&self) -> String {
        match self.kind.as_str() {
            "start" | "stop" if self.line == 0 => {
                // See the module comment: outside the program's line info only the depth is
                // comparable.
                format!("<no line info> depth {}", self.depth)
            }
            "start" | "stop" => format!(
                "{} {}:{} depth {}",
                function_identity(&self.func),
                self.file,
                self.line,
                self.depth
            ),
            // Where start-up code resumes after main returns is platform-specific (see the
            // module comment); only the fact that main was left is compared.
            "outside" => "<left main>".to_string(),
            "exit" => format!(
                "exit {} status {}",
                self.raw["state"].as_str().unwrap_or("?"),
                self.raw
                    .get("status")
                    .map(|v| v.to_string())
                    .unwrap_or_default()
            ),
            "end" => format!("end ({})", self.raw["why"].as_str().unwrap_or("")),
            other => format!("{other}: {}", self.raw),
        }
    }

    /// A compact description for the side-by-side diff.
    fn show(&self) -> String {
        if self.is_stop() || self.kind == "outside" {
            let library = if self.raw["library"] == Value::Bool(true) {
                " (library code)"
            } else {
                ""
            };
            format!(
                "#{} {} {}:{}:{} d{} {} [{}]{library}",
                self.index.unwrap_or(0),
                self.func,
                self.file,
                self.line,
                self.column,
                self.depth,
                self.pc,
                self.reason
            )
        } else {
            self.key()
        }
    }
}

/// The part of an LLDB function name that both platforms spell alike. C names are unchanged.
/// For C++, the two standard libraries spell their types differently (libstdc++'s
/// `std::__cxx11::basic_string` and its `[abi:cxx11]` tag on functions returning one; libc++'s
/// `std::__1::` inline namespace), and so do the targets (`std::uint64_t` is `unsigned long` on
/// x86-64 and `unsigned long long` on wasm32), and a function's own parameter list is where
/// those show up. So the identity is the qualified name with the library namespaces folded and
/// without its own parameter list and qualifiers: overloads are still told apart by file and
/// line, which are compared too.
fn function_identity(name: &str) -> String {
    let name = fold_library_spellings(name);
    let trimmed = name
        .trim_end_matches(" const")
        .trim_end_matches(" volatile")
        .trim_end_matches(" &&")
        .trim_end_matches(" &");
    if !trimmed.ends_with(')') {
        return name;
    }
    // The `(` that opens the last parameter list.
    let mut depth = 0i32;
    for (i, c) in trimmed.char_indices().rev() {
        match c {
            ')' => depth += 1,
            '(' => {
                depth -= 1;
                if depth == 0 {
                    // For `operator()(long)` this is the second `(`: the name keeps its `()`.
                    return trimmed[..i].to_string();
                }
            }
            _ => {}
        }
    }
    name
}

/// Removes ABI tags (`[abi:cxx11]`, libc++'s `[abi:ne220000]`...) and folds the standard
/// libraries' inline namespaces (`std::__cxx11::`, `std::__1::`, `std::__2::`) into `std::`.
fn fold_library_spellings(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while !rest.is_empty() {
        if let Some(tail) = rest.strip_prefix("[abi:") {
            rest = tail.split_once(']').map_or("", |(_, after)| after);
        } else if let Some(tail) = rest.strip_prefix("std::__") {
            let ns_len = tail
                .find("::")
                .filter(|&n| n > 0 && tail[..n].chars().all(|c| c.is_ascii_alphanumeric()));
            match ns_len {
                Some(n) => rest = &tail[n + 2..],
                None => rest = tail,
            }
            out.push_str(if ns_len.is_some() { "std::" } else { "std::__" });
        } else {
            let c = rest.chars().next().unwrap();
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

struct Trace {
    events: Vec<Event>,
    run: lldb::LldbRun,
    elapsed: Duration,
    /// Where the JSON lines and the transcript were saved.
    saved: PathBuf,
    /// What the debuggee printed (Wasm side only).
    debuggee_output: String,
    /// Why the session ended abnormally (LLDB crashed or timed out, the script failed), if it did.
    problem: Option<String>,
}

impl Trace {
    fn stops(&self) -> usize {
        self.events.iter().filter(|e| e.is_stop()).count()
    }
}

fn out_dir() -> PathBuf {
    let dir = manifest_dir().join("target").join("native-oracle");
    fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
    dir
}

fn script_args(case: &Case) -> Vec<String> {
    let mut args = vec![
        case.start.to_string(),
        case.action.to_string(),
        case.count.to_string(),
    ];
    for name in &case.skip {
        args.push("--skip-function".into());
        args.push(name.to_string());
    }
    for root in &case.source_roots {
        args.push("--source-root".into());
        args.push(path_str(root));
    }
    for path in &case.probes {
        args.push("--probe".into());
        args.push(path.to_string());
    }
    match case.entry {
        Entry::Cli => {
            args.push("--integration".into());
            args.push(path_str(&manifest_dir().join("lldb/wasm_gdbstub.py")));
        }
        Entry::Dap => {
            args.push("--integration".into());
            args.push(path_str(&manifest_dir().join("lldb/wasm_gdbstub.py")));
            args.push("--sbapi".into());
        }
    }
    if case.hit > 1 {
        args.push("--hit".into());
        args.push(case.hit.to_string());
    }
    args
}

fn finish_trace(
    case: &Case,
    side: &'static str,
    run: lldb::LldbRun,
    elapsed: Duration,
    debuggee_output: String,
) -> Trace {
    let base = out_dir().join(format!("{}.{side}", case.name));
    let saved = base.with_extension(format!("{side}.jsonl"));
    let _ = fs::write(&saved, &run.stdout);
    let _ = fs::write(
        base.with_extension(format!("{side}.log")),
        format!("{}\n--- debuggee\n{debuggee_output}", run.transcript()),
    );
    let mut events = Vec::new();
    for line in run.stdout.lines().filter(|l| l.starts_with('{')) {
        match Event::parse(line) {
            Some(e) => events.push(e),
            None => panic!("{side} trace has a bad line {line:?}\n{}", run.transcript()),
        }
    }
    let mut trace = Trace {
        events,
        run,
        elapsed,
        saved,
        debuggee_output,
        problem: None,
    };
    // Harness problems are not stepping divergences: report them as what they are.
    let problem = if trace.run.timed_out {
        Some("LLDB timed out".to_string())
    } else if let Some(e) = trace.events.iter().find(|e| e.kind == "error") {
        Some(format!("the script reported {}", e.raw))
    } else if trace.events.first().is_none_or(|e| e.kind != "start") {
        Some("no first stop at the start breakpoint".to_string())
    } else {
        trace.run.status.filter(|s| !s.success()).map(|status| {
            format!(
                "LLDB's Python process ended with {status} after {} stops",
                trace.stops()
            )
        })
    };
    if let Some(problem) = problem {
        // A Wasm-side session that dies half way is still a comparison: the stops it made are
        // compared below, and a missing tail shows up as a divergence. Only a run that never got
        // going is a harness failure.
        if side == "native" || trace.stops() == 0 {
            panic!(
                "{}: {side} trace unusable: {problem}\n{}\n--- debuggee\n{}",
                case.name,
                trace.run.transcript(),
                trace.debuggee_output
            );
        }
        eprintln!("{}: {side} trace problem: {problem}", case.name);
        trace.problem = Some(problem);
    }
    eprintln!(
        "{}: {side}: {} stops in {:.1?} ({})",
        case.name,
        trace.stops(),
        trace.elapsed,
        trace.saved.display()
    );
    trace
}

fn trace_native(case: &Case) -> Trace {
    let mut args = vec!["native".to_string(), path_str(&case.native)];
    args.extend(script_args(case));
    if !case.program_args.is_empty() {
        args.push("--args".into());
        args.extend(case.program_args.iter().cloned());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let began = Instant::now();
    let run = lldb::python_with(case.lldb, SCRIPT, &args, TRACE_TIMEOUT);
    finish_trace(case, "native", run, began.elapsed(), String::new())
}

fn trace_wasm(case: &Case) -> Trace {
    let program_args: Vec<&str> = case.program_args.iter().map(String::as_str).collect();
    let mut debuggee = Debuggee::spawn(&case.wasm, &[], &program_args);
    let mut args = vec![
        "wasm".to_string(),
        debuggee.addr().to_string(),
        path_str(&case.wasm),
    ];
    args.extend(script_args(case));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let began = Instant::now();
    let run = lldb::python_with(case.lldb, SCRIPT, &args, TRACE_TIMEOUT);
    let elapsed = began.elapsed();
    // The script kills the process at the end; give wasmtime a moment to go, then collect what
    // it printed (the Debuggee kills it on drop otherwise).
    let _ = debuggee.is_running();
    let output = format!(
        "--- stdout\n{}\n--- stderr\n{}",
        tail(&debuggee.stdout_so_far(), 40),
        tail(&debuggee.stderr_so_far(), 40)
    );
    drop(debuggee);
    finish_trace(case, "wasm", run, elapsed, output)
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn path_str(path: &Path) -> String {
    path.to_str()
        .unwrap_or_else(|| panic!("non-UTF-8 path {}", path.display()))
        .to_string()
}

// ---------------------------------------------------------------------------
// Comparison.

/// Marks the stops that the two platforms legitimately cannot share; they are left out of the
/// comparison (and listed with a divergence). Only two kinds, each checked against the Wasm
/// module itself rather than guessed from the traces:
///
/// * A native stop on a line for which the Wasm build has no code at all (no row in the module's
///   DWARF line table for that file and line). At -O0 x86-64 code keeps, e.g., a `jmp` to the
///   very next instruction for the closing brace of a loop body, attributed to the brace's line;
///   the Wasm build has no instruction there, so no debugger can stop on that line.
/// * A Wasm stop right after returning from a call (the frame depth dropped) whose pc is a `drop`
///   instruction: the caller ignores the callee's result, which Wasm must pop with a `drop`
///   attributed to the call's line, so the return address is in the middle of that line and LLDB,
///   having stepped out to an older frame, stops there. On x86-64 the unused result in a register
///   needs no instruction, the return address is the first instruction of the next line, and the
///   very next Wasm stop (on that next line) is where native LLDB stops.
/// * A native stop between two native stops that are the Wasm trace's two consecutive stops,
///   where Wasmtime's own single-step, run through the same stops, passes no start of that line
///   in that activation between them ([`confirm_with_host_step`] decides, case by case). At -O0
///   x86-64 enters a `for (;;)` by a `jmp` attributed to the `for` line; Wasm falls into the
///   `loop` from the previous line's code, and its rows of the `for` line are at the loop's back
///   edge only (zlib's `inflate`, `for (;;)` in `case CODELENS:`).
/// * A Wasm stop on a run of `end` instructions that leads straight to the next stop, in the same
///   frame (the bytes from its pc up to the next stop's pc are all `end`, 0x0b, an instruction
///   without immediates). LLVM attributes the `end`s closing a loop and the block that an early
///   `return` branches out of to the `return`'s line, so a loop that simply finishes passes a row
///   of that line (e.g. `luaV_concat`: `} while (total > 1);` falls through the `end`s of
///   `return;` on line 648 to the closing brace). An `end` compiles to nothing, and x86-64 has no
///   instruction there: native LLDB goes from the loop's condition straight to the next stop.
fn set_aside(native: &mut Trace, wasm: &mut Trace, wasm_module: &[u8]) -> Vec<Passed> {
    let mut lines_by_file: HashMap<String, HashSet<u32>> = HashMap::new();
    for e in native
        .events
        .iter_mut()
        .filter(|e| e.is_stop() && e.line != 0)
    {
        let lines = lines_by_file.entry(e.file.clone()).or_insert_with(|| {
            fixtures::dwarf_line_table(wasm_module, Some(&format!("/{}", e.file)))
                .into_keys()
                .collect()
        });
        // A file the Wasm line table does not know at all is a different problem: keep its stops.
        if !lines.is_empty() && !lines.contains(&(e.line as u32)) {
            e.set_aside = Some("no code for this line in the Wasm build");
        }
    }
    const DROP: u8 = 0x1a;
    for i in 1..wasm.events.len() {
        let (before, after) = wasm.events.split_at_mut(i);
        let (prev, e) = (&before[i - 1], &mut after[0]);
        if !(prev.is_stop() && e.is_stop() && e.depth < prev.depth) {
            continue;
        }
        let offset = u64::from_str_radix(e.pc.trim_start_matches("0x"), 16)
            .ok()
            .map(|pc| pc & 0x00ff_ffff_ffff_ffff);
        if offset.and_then(|o| wasm_module.get(o as usize)) == Some(&DROP) {
            e.set_aside = Some("Wasm `drop` of an unused result after a return");
        }
    }
    const END: u8 = 0x0b;
    for i in 0..wasm.events.len().saturating_sub(1) {
        let (e, next) = (&wasm.events[i], &wasm.events[i + 1]);
        if !(e.is_stop() && next.is_stop() && e.depth == next.depth && e.func == next.func) {
            continue;
        }
        let (Some(from), Some(to)) = (module_offset(&e.pc), module_offset(&next.pc)) else {
            continue;
        };
        let only_ends = from < to
            && wasm_module
                .get(from..to)
                .is_some_and(|run| run.iter().all(|&b| b == END));
        if only_ends {
            wasm.events[i].set_aside = Some("Wasm `end`s only, leading to the next stop");
        }
    }
    set_aside_lines_wasm_passes_without_a_row(native, wasm)
}

/// The third rule of [`set_aside`], on traces aligned stop by stop.
/// A native stop set aside by the third rule of [`set_aside`]: its index, the Wasm stops around
/// it (indices into the Wasm trace) and the line whose rows Wasmtime's single-step must not pass
/// between them.
struct Passed {
    native: usize,
    wasm_before: usize,
    wasm_after: usize,
    file: String,
    line: u32,
}

/// The third rule of [`set_aside`], on traces aligned stop by stop: marks the candidates, which
/// [`confirm_with_host_step`] then decides.
fn set_aside_lines_wasm_passes_without_a_row(native: &mut Trace, wasm: &Trace) -> Vec<Passed> {
    let kept = |events: &[Event]| -> Vec<usize> {
        (0..events.len())
            .filter(|&i| events[i].set_aside.is_none())
            .collect()
    };
    let (n_kept, w_kept) = (kept(&native.events), kept(&wasm.events));
    let mut passed = Vec::new();
    let (mut a, mut b) = (1, 1);
    while a + 1 < n_kept.len() && b < w_kept.len() {
        let (n, w) = (&native.events[n_kept[a]], &wasm.events[w_kept[b]]);
        if n.key() == w.key() || !n.is_stop() {
            a += 1;
            b += 1;
            continue;
        }
        let before = &native.events[n_kept[a - 1]];
        let after = &native.events[n_kept[a + 1]];
        let wasm_before = &wasm.events[w_kept[b - 1]];
        let neighbours_match = before.key() == wasm_before.key()
            && after.key() == w.key()
            && n.func == w.func
            && n.depth == w.depth;
        if !neighbours_match {
            // The first difference no rule explains: the comparison reports it.
            break;
        }
        let (file, line) = (n.file.clone(), n.line as u32);
        native.events[n_kept[a]].set_aside =
            Some("Wasmtime's single-step passes no start of this line between the stops around it");
        passed.push(Passed {
            native: n_kept[a],
            wasm_before: w_kept[b - 1],
            wasm_after: w_kept[b],
            file,
            line,
        });
        a += 1;
    }
    passed
}

/// Decides the stops [`set_aside_lines_wasm_passes_without_a_row`] set aside with Wasmtime's
/// own single-step (`--host-step`, exact in core modules): the Wasm program is run again to the
/// trace's first stop and stepped one instruction at a time through the trace's stops; between
/// the two Wasm stops around each set-aside native stop, no instruction of that activation may
/// start a row of the native stop's line, or the Wasm side could have stopped there too and the
/// difference is a real one.
fn confirm_with_host_step(case: &Case, wasm: &Trace, wasm_module: &[u8], passed: &[Passed]) {
    use common::rsp::{Client, StopReply};
    const MAX_HOST_STEPS: usize = 200_000;
    let Some(last) = passed.iter().map(|p| p.wasm_after).max() else {
        return;
    };
    let start = module_offset(&wasm.events[0].pc).expect("the first stop's pc") as u32;
    let program_args: Vec<&str> = case.program_args.iter().map(String::as_str).collect();
    let debuggee = Debuggee::spawn(&case.wasm, &["--host-step"], &program_args);
    let mut client = Client::stopped_at(debuggee.addr(), common::rsp::code_addr(start), case.hit);
    let depth = |client: &mut Client| client.request("qWasmCallStack:1").len() / 16;
    let base = depth(&mut client) as i64;
    // Every host step: (pc, depth relative to the start); and where each trace stop was reached.
    let mut log: Vec<(u64, i64)> = Vec::new();
    let mut reached = vec![0usize; last + 1];
    let mut k = 1;
    while k <= last {
        let event = &wasm.events[k];
        let want = u64::from_str_radix(event.pc.trim_start_matches("0x"), 16).unwrap_or(0);
        let reply = client.request("vCont;s:p1.1");
        let stop = StopReply::parse(&reply)
            .filter(|s| s.kind == 'T')
            .unwrap_or_else(|| panic!("{}: the host-step run ended: {reply}", case.name));
        // The expedited pc, register 0, little-endian.
        let pc = stop
            .get("00")
            .and_then(common::rsp::hex_decode)
            .filter(|bytes| bytes.len() == 8)
            .map(|bytes| u64::from_le_bytes(bytes.try_into().expect("8 bytes")))
            .unwrap_or_else(|| panic!("{}: no pc in {reply}", case.name));
        let here = depth(&mut client) as i64 - base;
        log.push((pc, here));
        if pc == want && here == event.depth {
            reached[k] = log.len();
            k += 1;
        }
        assert!(
            log.len() < MAX_HOST_STEPS,
            "{}: Wasmtime's single-step did not reach Wasm stop {k} ({}) in {MAX_HOST_STEPS} \
             steps",
            case.name,
            event.show()
        );
    }
    for p in passed {
        let activation = wasm.events[p.wasm_before].depth;
        let rows: HashSet<u64> =
            fixtures::dwarf_line_starts(wasm_module, &format!("/{}", p.file), p.line)
                .into_iter()
                .map(common::rsp::code_addr)
                .collect();
        let through = &log[reached[p.wasm_before]..reached[p.wasm_after].saturating_sub(1)];
        let hit = through
            .iter()
            .find(|&&(pc, d)| d == activation && rows.contains(&pc));
        assert!(
            hit.is_none(),
            "{}: native stop {} ({}:{}) was set aside, but Wasmtime's single-step passes a start \
             of that line at {:#x} between Wasm stops {} and {}",
            case.name,
            p.native,
            p.file,
            p.line,
            hit.map_or(0, |h| h.0),
            p.wasm_before,
            p.wasm_after
        );
    }
    eprintln!(
        "{}: Wasmtime's single-step confirms {} set-aside stop(s) in {} steps",
        case.name,
        passed.len(),
        log.len()
    );
}

/// The offset in the module of a code address from a trace (`0x4000000000037360`: module 0's
/// offset 0x37360).
fn module_offset(pc: &str) -> Option<usize> {
    let addr = u64::from_str_radix(pc.trim_start_matches("0x"), 16).ok()?;
    usize::try_from(addr & 0x00ff_ffff_ffff_ffff).ok()
}

/// Panics with a side-by-side diff at the first event whose key differs.
fn compare(case: &Case, native: &Trace, wasm: &Trace) {
    let n: Vec<&Event> = native
        .events
        .iter()
        .filter(|e| e.set_aside.is_none())
        .collect();
    let w: Vec<&Event> = wasm
        .events
        .iter()
        .filter(|e| e.set_aside.is_none())
        .collect();
    let aside: Vec<(&str, &Event)> = [("native", &native.events), ("wasm", &wasm.events)]
        .into_iter()
        .flat_map(|(side, events)| {
            events
                .iter()
                .filter(|e| e.set_aside.is_some())
                .map(move |e| (side, e))
        })
        .collect();
    // Both sessions take the same number of steps, so when stops are set aside on one side its
    // trace covers less: a trace that ran out of steps (it ends on a plain stop, with no exit,
    // end or problem) is only compared as far as it goes.
    let out_of_steps =
        |t: &Trace| t.problem.is_none() && t.events.last().is_some_and(|e| e.kind == "stop");
    let mut len = n.len().max(w.len());
    if out_of_steps(native) {
        len = len.min(n.len());
    }
    if out_of_steps(wasm) {
        len = len.min(w.len());
    }
    let first = (0..len).find(|&i| n.get(i).map(|e| e.key()) != w.get(i).map(|e| e.key()));
    let Some(at) = first else {
        eprintln!(
            "{}: {} events agree, {} stops set aside (native {:.1?}, wasm {:.1?})",
            case.name,
            len,
            aside.len(),
            native.elapsed,
            wasm.elapsed
        );
        return;
    };
    let mut msg = String::new();
    let _ = writeln!(
        msg,
        "{}: `{}` from {} diverges at event {at} (step {}) of {} native / {} wasm events",
        case.name,
        case.action,
        case.start,
        n.get(at)
            .or(w.get(at))
            .and_then(|e| e.index)
            .map(|i| i.to_string())
            .unwrap_or_else(|| "-".into()),
        n.len(),
        w.len()
    );
    if let (Some(a), Some(b)) = (n.get(at), w.get(at)) {
        let _ = writeln!(msg, "  native: {}", a.key());
        let _ = writeln!(msg, "  wasm:   {}", b.key());
    }
    for (side, events) in [("native", &native.events), ("wasm", &wasm.events)] {
        if let Some(probes) = events.first().and_then(|e| e.raw.get("probes")) {
            let _ = writeln!(msg, "  {side} state at the start: {probes}");
        }
    }
    if let Some(problem) = &wasm.problem {
        let _ = writeln!(
            msg,
            "  the wasm-side LLDB session ended abnormally: {problem}"
        );
    }
    let width = (at.saturating_sub(CONTEXT_BEFORE)..(at + CONTEXT_AFTER).min(n.len()))
        .map(|i| n[i].show().len())
        .max()
        .unwrap_or(10)
        .clamp(10, 90);
    let _ = writeln!(msg, "\n   # | {:width$} | wasm", "native");
    for i in at.saturating_sub(CONTEXT_BEFORE)..at + CONTEXT_AFTER {
        let a = n.get(i);
        let b = w.get(i);
        if a.is_none() && b.is_none() {
            break;
        }
        let mark = if a.map(|e| e.key()) == b.map(|e| e.key()) {
            ' '
        } else {
            '!'
        };
        let show = |e: Option<&&Event>| e.map(|e| e.show()).unwrap_or_else(|| "-".into());
        let _ = writeln!(
            msg,
            "{mark}{i:3} | {:width$} | {}",
            show(a),
            show(b),
            width = width
        );
    }
    if !aside.is_empty() {
        let _ = writeln!(
            msg,
            "\n{} stops set aside as platform differences (see `set_aside`), first ones:",
            aside.len()
        );
        for (side, e) in aside.iter().take(8) {
            let _ = writeln!(
                msg,
                "  {side:6} {}: {}",
                e.show(),
                e.set_aside.unwrap_or("")
            );
        }
    }
    let _ = writeln!(
        msg,
        "\nfull traces: {} and {} (LLDB transcripts next to them, *.log)",
        native.saved.display(),
        wasm.saved.display()
    );
    if wasm.run.timed_out {
        let _ = writeln!(msg, "(the wasm-side LLDB session timed out)");
    }
    panic!("{msg}");
}

// ---------------------------------------------------------------------------
// Cases.

/// Which entry's stepping a case uses; both import `lldb/wasm_gdbstub.py`, as the README's
/// entries do, and type nothing else.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Entry {
    /// `wasm-remote`, then the `next`/`step` commands (the CLI, the LLDB launcher, `-g`).
    Cli,
    /// LLDB's `SBThread::StepOver`/`StepInto`, which lldb-dap calls.
    Dap,
}

struct Case {
    /// Names the saved traces.
    name: &'static str,
    native: PathBuf,
    wasm: PathBuf,
    program_args: Vec<String>,
    start: &'static str,
    action: &'static str,
    count: usize,
    /// `--skip-function` names.
    skip: Vec<&'static str>,
    /// Start at this hit of the breakpoint.
    hit: u32,
    /// Variable paths whose values at the start are shown with a divergence.
    probes: Vec<&'static str>,
    /// How the sessions step, each in its entry's default settings.
    entry: Entry,
    /// The LLDB both sessions run in.
    lldb: lldb::Version,
    /// Where the program's own sources are; `step` avoids every other function with debug info
    /// (the Wasm toolchain's C and C++ libraries: see `library_functions` in step_trace.py).
    source_roots: Vec<PathBuf>,
}

impl Case {
    fn new(
        name: &'static str,
        native: PathBuf,
        wasm: PathBuf,
        source_roots: Vec<PathBuf>,
        start: &'static str,
    ) -> Self {
        Case {
            source_roots,
            entry: Entry::Cli,
            lldb: lldb::Version::Lldb22,
            name,
            native,
            wasm,
            program_args: Vec::new(),
            start,
            action: "next",
            count: 100,
            skip: Vec::new(),
            hit: 1,
            probes: Vec::new(),
        }
    }

    fn action(mut self, action: &'static str, count: usize) -> Self {
        self.action = action;
        self.count = count;
        self
    }

    /// Program arguments (none of the programs below takes any yet).
    #[allow(dead_code)]
    fn args(mut self, args: &[&str]) -> Self {
        self.program_args = args.iter().map(|s| s.to_string()).collect();
        self
    }

    fn hit(mut self, hit: u32) -> Self {
        self.hit = hit;
        self
    }

    fn skip(mut self, names: &[&'static str]) -> Self {
        self.skip.extend_from_slice(names);
        self
    }

    /// Both sessions in LLDB 23. LLDB 22 moves past a callee's prologue on `step` only for a
    /// frame it finds younger than the one it started in, and its Wasm unwinder gives every frame
    /// a CFA of 0, so the callee compares as older: it stops on the callee's opening line (README,
    /// known limits); `step` cases therefore run in LLDB 23, which gives Wasm frames distinct
    /// CFAs. Nothing else is set: the sessions step in the entry's defaults.
    fn lldb23(mut self) -> Self {
        self.lldb = lldb::Version::Lldb23;
        self
    }

    /// Step as lldb-dap does (LLDB's own `SBThread` stepping, with the integration's stop hook
    /// choosing fast stepping per line), not through the CLI commands.
    fn dap(mut self) -> Self {
        self.entry = Entry::Dap;
        self
    }

    fn probes(mut self, paths: &[&'static str]) -> Self {
        self.probes.extend_from_slice(paths);
        self
    }

    fn check(self) {
        let mut native = trace_native(&self);
        let mut wasm = trace_wasm(&self);
        let module = fixtures::program_module(&fixtures::read(&self.wasm));
        let passed = set_aside(&mut native, &mut wasm, &module);
        confirm_with_host_step(&self, &wasm, &module, &passed);
        compare(&self, &native, &wasm);
    }
}

fn c_app(name: &'static str, start: &'static str) -> Case {
    Case::new(
        name,
        fixtures::c_native("app"),
        fixtures::c_app(),
        vec![fixtures::fixtures_dir()],
        start,
    )
}

/// `step` into functions without a prologue, whose first line starts at their first
/// instruction rather than at their DWARF start: in both LLDBs it must stop on that line.
#[test]
fn c_leaf_step() {
    leaf_case("c_leaf_step").action("step", 20).check();
}

#[test]
fn c_leaf_step_lldb23() {
    leaf_case("c_leaf_step_lldb23")
        .lldb23()
        .action("step", 20)
        .check();
}

fn leaf_case(name: &'static str) -> Case {
    Case::new(
        name,
        fixtures::c_native("leaf"),
        fixtures::c_leaf(),
        vec![fixtures::fixtures_dir()],
        "main",
    )
}

/// Walks all of main: calls stepped over, a loop, printf (a libc call without debug info on
/// both sides), and finally out of main.
#[test]
fn c_app_main_next() {
    c_app("c_app_main_next", "main").action("next", 60).check();
}

/// Steps into every call with debug info (recursion in `fact`, `add` in a loop, `straight20`),
/// over those without (printf), and out of main.
#[test]
fn c_app_main_step_lldb23() {
    c_app("c_app_main_step_lldb23", "main")
        .lldb23()
        .action("step", 150)
        .check();
}

/// `next` off the end of a callee returns into the middle of its caller's line.
#[test]
fn c_app_add_next() {
    c_app("c_app_add_next", "add").action("next", 60).check();
}

/// `step` from deep in a recursion, through the returns of every level.
#[test]
fn c_app_fact_step_lldb23() {
    c_app("c_app_fact_step_lldb23", "fact")
        .lldb23()
        .hit(4)
        .action("step", 80)
        .check();
}

// ---------------------------------------------------------------------------
// Lua 5.4 (tests/corpus/lua): the interpreter runs script.lua.
//
// Two things legitimately differ between the two builds:
// - Object sizes (pointers are 8 bytes natively, 4 on wasm32), so the garbage collector, which
//   paces itself by bytes allocated, runs at different moments. Lines that branch on GC state
//   (entering `luaC_step`, the write barriers, GC-driven shrinking of the string table) differ.
// - Addresses. `luaS_new`'s cache of C strings is indexed by the string's address
//   (`point2uint(str) % STRCACHE_N`), and the C strings (API names, literals) are at different
//   addresses, so the same lookup hits in a different slot or misses: natively `luaS_new` may
//   return `p[0]` where Wasm compares `p[0]`, loops and returns `p[1]`.
// `next` steps over both as one line; for `step` the GC entry points and `luaS_new` are avoided
// on both sides (`--skip-function`), so that LLDB steps over them as it does over code without
// debug info. The start functions avoid the GC itself for the same reason (`luaC_step` would
// start at a different call on each side). GC state is recorded at the start (`probes`) and
// shown with a divergence.

const LUA_GC_ENTRY_POINTS: &[&str] = &[
    "luaC_step",
    "luaC_fullgc",
    "luaC_barrier_",
    "luaC_barrierback_",
];

/// Functions whose path depends on the addresses of C data (see above).
const LUA_ADDRESS_DEPENDENT: &[&str] = &["luaS_new"];

const LUA_PROBES: &[&str] = &[
    "L->l_G->GCdebt",
    "L->l_G->gcstate",
    "L->l_G->strt.size",
    "L->l_G->strt.nuse",
];

fn lua(name: &'static str, start: &'static str) -> Case {
    Case::new(
        name,
        corpus::lua_native(),
        corpus::lua_wasm(),
        vec![corpus::lua_source_dir(), corpus::corpus_dir()],
        start,
    )
    .skip(LUA_GC_ENTRY_POINTS)
    .skip(LUA_ADDRESS_DEPENDENT)
    .probes(LUA_PROBES)
}

/// A table resize in the middle of the script (`grow_tables`), then out through
/// `luaH_newkey` and `luaV_finishset` into the interpreter loop.
#[test]
fn lua_resize_next_lldb23() {
    lua("lua_resize_next_lldb23", "luaH_resize")
        .lldb23()
        .hit(60)
        .action("next", 400)
        .check();
}

#[test]
fn lua_resize_step_lldb23() {
    lua("lua_resize_step_lldb23", "luaH_resize")
        .lldb23()
        .hit(60)
        .action("step", 200)
        .check();
}

/// The interpreter's dispatch loop (computed gotos through `disptab`, a `br_table` on Wasm) on
/// the script's main chunk, for hundreds of stops.
#[test]
fn lua_execute_next_lldb23() {
    lua("lua_execute_next_lldb23", "luaV_execute")
        .lldb23()
        .action("next", 400)
        .check();
}

/// Later calls re-enter `luaV_execute` by `goto startfunc`, a branch back to the `loop` its
/// first line starts with: the breakpoint must stop there too (it is planted where the branch
/// lands), so the tenth hit is the same call on both sides.
#[test]
fn lua_execute_tenth_hit_next_lldb23() {
    lua("lua_execute_tenth_hit_next_lldb23", "luaV_execute")
        .lldb23()
        .hit(10)
        .action("next", 200)
        .check();
}

#[test]
fn lua_execute_step_lldb23() {
    lua("lua_execute_step_lldb23", "luaV_execute")
        .lldb23()
        .action("step", 250)
        .check();
}

/// String creation while the standard libraries are registered, then out into
/// `luaL_setfuncs`, `luaL_requiref`, `open_libs` and `main`.
#[test]
fn lua_newlstr_next() {
    lua("lua_newlstr_next", "luaS_newlstr")
        .hit(100)
        .action("next", 300)
        .check();
}

#[test]
fn lua_newlstr_next_lldb23() {
    lua("lua_newlstr_next_lldb23", "luaS_newlstr")
        .lldb23()
        .hit(100)
        .action("next", 300)
        .check();
}

#[test]
fn lua_newlstr_step_lldb23() {
    lua("lua_newlstr_step_lldb23", "luaS_newlstr")
        .lldb23()
        .hit(100)
        .action("step", 200)
        .check();
}

// ---------------------------------------------------------------------------
// C++17 (tests/corpus/cpp): libstdc++ natively, libc++ on Wasm. `step` does not stop in either
// library (see the avoid-regexp in step_trace.py); function names are compared without their
// parameter lists (see `function_identity`).

fn cpp(name: &'static str, start: &'static str) -> Case {
    Case::new(
        name,
        corpus::cpp_native(),
        corpus::cpp_wasm(),
        vec![corpus::corpus_dir()],
        start,
    )
}

/// All of `main` with `step`: constructors, virtual calls, lambdas called directly, templates.
#[test]
fn cpp_main_step_lldb23() {
    cpp("cpp_main_step_lldb23", "main")
        .lldb23()
        .action("step", 400)
        .check();
}

#[test]
fn cpp_containers_next() {
    cpp("cpp_containers_next", "containers_demo")
        .action("next", 200)
        .check();
}

#[test]
fn cpp_algorithms_next() {
    cpp("cpp_algorithms_next", "algorithms_demo")
        .action("next", 200)
        .check();
}

#[test]
fn cpp_algorithms_next_lldb23() {
    cpp("cpp_algorithms_next_lldb23", "algorithms_demo")
        .lldb23()
        .action("next", 200)
        .check();
}

#[test]
fn cpp_strings_next() {
    cpp("cpp_strings_next", "strings_demo")
        .action("next", 250)
        .check();
}

#[test]
fn cpp_functions_step_lldb23() {
    cpp("cpp_functions_step_lldb23", "functions_demo")
        .lldb23()
        .action("step", 250)
        .check();
}

// ---------------------------------------------------------------------------
// Dense `switch`es: each is one `br_table` longer than the 16 bytes LLDB's disassembler keeps of
// an instruction, which crashed LLDB's own (fast) stepping on Wasm. The sessions run in the
// entries' defaults; an LLDB crash ends the Wasm trace early and fails the comparison.

fn switch_case(name: &'static str) -> Case {
    Case::new(
        name,
        fixtures::c_native("switch"),
        fixtures::c_switch(),
        vec![fixtures::fixtures_dir()],
        "classify",
    )
}

/// The 120-case program: `next` through `classify`, back into `main`, over the later
/// calls and out of `main`.
#[test]
fn c_switch_next() {
    switch_case("c_switch_next").action("next", 120).check();
}

#[test]
fn c_switch_next_lldb23() {
    switch_case("c_switch_next_lldb23")
        .lldb23()
        .action("next", 120)
        .check();
}

#[test]
fn c_switch_step_lldb23() {
    switch_case("c_switch_step_lldb23")
        .lldb23()
        .action("step", 120)
        .check();
}

/// lldb-dap's stepping (LLDB's own plans; the integration's stop hook turns fast stepping off
/// in `classify`, whose `br_table` LLDB cannot disassemble).
#[test]
fn c_switch_next_dap() {
    switch_case("c_switch_next_dap")
        .dap()
        .action("next", 120)
        .check();
}

fn zlib(name: &'static str) -> Case {
    Case::new(
        name,
        corpus::zlib_native(),
        corpus::zlib_wasm(),
        vec![corpus::zlib_source_dir(), corpus::corpus_dir()],
        "inflate",
    )
}

/// zlib's `inflate`: a `for (;;) switch (state->mode)` state machine of 32 cases, entered 187
/// times with a few bytes each; the fifth call, through several states and back to the caller.
#[test]
fn zlib_inflate_next() {
    zlib("zlib_inflate_next").hit(5).action("next", 300).check();
}

#[test]
fn zlib_inflate_next_lldb23() {
    zlib("zlib_inflate_next_lldb23")
        .lldb23()
        .hit(5)
        .action("next", 300)
        .check();
}

#[test]
fn zlib_inflate_step_lldb23() {
    zlib("zlib_inflate_step_lldb23")
        .lldb23()
        .hit(5)
        .action("step", 200)
        .check();
}

fn bzip2(name: &'static str) -> Case {
    Case::new(
        name,
        corpus::bzip2_native(),
        corpus::bzip2_wasm(),
        vec![corpus::bzip2_source_dir(), corpus::corpus_dir()],
        "BZ2_decompress",
    )
}

/// bzip2's `BZ2_decompress`: a 41-case `switch (s->state)` that resumes wherever the last call
/// ran out of input.
#[test]
fn bzip2_decompress_next() {
    bzip2("bzip2_decompress_next")
        .hit(3)
        .action("next", 300)
        .check();
}

#[test]
fn bzip2_decompress_next_lldb23() {
    bzip2("bzip2_decompress_next_lldb23")
        .lldb23()
        .hit(3)
        .action("next", 300)
        .check();
}

/// Lua's interpreter loop in LLDB 22, which crashed there with fast stepping and stopped inside
/// every called function without it.
#[test]
fn lua_execute_next() {
    lua("lua_execute_next", "luaV_execute")
        .action("next", 400)
        .check();
}

/// lldb-dap's stepping through real interpreter loops in LLDB 22: fast stepping is left on except
/// for the steps that would disassemble a long `br_table`.
#[test]
fn lua_execute_next_dap() {
    lua("lua_execute_next_dap", "luaV_execute")
        .dap()
        .action("next", 400)
        .check();
}

#[test]
fn zlib_inflate_next_dap() {
    zlib("zlib_inflate_next_dap")
        .dap()
        .hit(5)
        .action("next", 300)
        .check();
}

#[test]
fn bzip2_decompress_next_dap() {
    bzip2("bzip2_decompress_next_dap")
        .dap()
        .hit(3)
        .action("next", 300)
        .check();
}
