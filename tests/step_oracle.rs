//! The stub's step (temporary breakpoints at the successors of the current instruction) checked
//! against oracles that share none of its reasoning, on real programs:
//!
//! - **Wasmtime's own single-step** (`--host-step`), exact in core modules: it stops before every
//!   reachable operator. Two copies of the same deterministic program run side by side from the
//!   same breakpoint, one stepping each way, and every step must end at the same pc with the same
//!   call stack depth.
//! - **One instruction's worth of change**, in components, where Wasmtime's single-step is broken
//!   (a later `continue` ignores breakpoints): every step must leave the call stack as one
//!   instruction can — frame 0 moved with the callers unchanged, one frame pushed on top of the
//!   old stack (its top now a return address), or the top frame popped.
//!
//! `STEP_ORACLE_STEPS` sets the steps per start point (default 35,000: three start points make
//! more than 100,000 per program).

mod common;

use std::path::Path;
use std::thread;

use common::rsp::{Client, code_addr};
use common::{Debuggee, corpus, fixtures, wasm};

fn steps_per_start() -> usize {
    std::env::var("STEP_ORACLE_STEPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(35_000)
}

/// One stop after a step: the call stack (innermost first, as code addresses), or the end.
#[derive(Debug, Clone, PartialEq, Eq)]
enum After {
    Stopped { signal: String, stack: Vec<u64> },
    Ended(String),
}

impl After {
    fn describe(&self) -> String {
        match self {
            After::Stopped { signal, stack } => {
                let frames: Vec<String> =
                    stack.iter().take(4).map(|pc| format!("{pc:x}")).collect();
                format!(
                    "T{signal} depth {} [{}{}]",
                    stack.len(),
                    frames.join(" "),
                    if stack.len() > 4 { " …" } else { "" }
                )
            }
            After::Ended(reply) => format!("ended: {reply}"),
        }
    }
}

/// A debuggee stopped at the first hit of a breakpoint, ready to be stepped over raw RSP.
struct Stepper {
    client: Client,
    debuggee: Debuggee,
}

impl Stepper {
    fn start(program: &Path, stub_args: &[&str], entry: u32) -> Stepper {
        let debuggee = Debuggee::spawn(program, stub_args, &[]);
        let client = Client::stopped_at(debuggee.addr(), code_addr(entry), 1);
        Stepper { client, debuggee }
    }

    fn call_stack(&mut self) -> Vec<u64> {
        let hex = self.client.request("qWasmCallStack:1");
        let bytes = common::rsp::hex_decode(&hex)
            .unwrap_or_else(|| panic!("qWasmCallStack reply is not hex: {hex}"));
        bytes
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
            .collect()
    }

    fn step(&mut self) -> After {
        let reply = self.client.request("vCont;s:p1.1");
        if !reply.starts_with('T') {
            return After::Ended(reply);
        }
        let signal = reply.get(1..3).unwrap_or("").to_string();
        After::Stopped {
            signal,
            stack: self.call_stack(),
        }
    }

    /// Steps `n` times (fewer if the program ends), returning every stop.
    fn trace(&mut self, n: usize) -> Vec<After> {
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let after = self.step();
            let ended = matches!(after, After::Ended(_));
            out.push(after);
            if ended {
                break;
            }
        }
        out
    }
}

/// Steps a core module from `start` both ways side by side and compares every stop.
fn compare_with_host_step(program: &Path, start: &str) {
    let entry = wasm::function_entry(&fixtures::read(program), start);
    let steps = steps_per_start();
    let run = |stub_args: &'static [&'static str]| {
        let program = program.to_path_buf();
        thread::spawn(move || {
            let mut stepper = Stepper::start(&program, stub_args, entry);
            let trace = stepper.trace(steps);
            drop(stepper.client);
            let _ = stepper.debuggee.kill();
            trace
        })
    };
    let emulated = run(&[]);
    let host = run(&["--host-step"]);
    let emulated = emulated.join().expect("emulated-step session");
    let host = host.join().expect("host-step session");

    let diverged = emulated
        .iter()
        .zip(&host)
        .position(|(e, h)| e != h)
        .or((emulated.len() != host.len()).then(|| emulated.len().min(host.len())));
    if let Some(at) = diverged {
        let from = at.saturating_sub(6);
        let mut report = String::new();
        for i in from..(at + 4).min(emulated.len().max(host.len())) {
            let show = |t: &[After]| t.get(i).map_or("-".to_string(), After::describe);
            report += &format!(
                "{}{i:>7}  emulated {:<60} host {}\n",
                if i == at { ">" } else { " " },
                show(&emulated),
                show(&host)
            );
        }
        panic!(
            "{} from {start}: the emulated step leaves the host's single-step at step {at} \
             (of {} emulated, {} host):\n{report}",
            program.display(),
            emulated.len(),
            host.len()
        );
    }
    let steps_taken = emulated.len();
    eprintln!(
        "{} from {start}: {steps_taken} steps identical to Wasmtime's single-step",
        program.display()
    );
    assert!(
        steps_taken >= steps.min(1_000),
        "{start}: only {steps_taken} steps before the program ended; pick a start point with more \
         to run"
    );
}

/// Whether one instruction can turn call stack `before` into `after` (innermost first).
fn one_instruction_apart(before: &[u64], after: &[u64]) -> bool {
    match after.len() as isize - before.len() as isize {
        // Frame 0 moved (or stayed, in a loop of one instruction); callers unchanged.
        0 => before.get(1..) == after.get(1..),
        // A call: the old stack below the new frame, its top now a return address in the same
        // module (the pc of frame 0 moved past the call).
        1 => {
            before.get(1..) == after.get(2..)
                && after[1] > before[0]
                && after[1] >> 32 == before[0] >> 32
        }
        // A return: the top frame gone, execution at the caller's return address.
        -1 => before.get(1..) == Some(after),
        _ => false,
    }
}

/// Steps a program (a component, where there is no host oracle) and checks every transition.
fn check_one_instruction_per_step(program: &Path, start_addr: u64) {
    let steps = steps_per_start();
    let debuggee = Debuggee::spawn(program, &[], &[]);
    let client = Client::stopped_at(debuggee.addr(), start_addr, 1);
    let mut stepper = Stepper { client, debuggee };
    let mut before = stepper.call_stack();
    let mut taken = 0;
    for i in 0..steps {
        match stepper.step() {
            After::Ended(reply) => {
                eprintln!("program ended after {i} steps: {reply}");
                break;
            }
            After::Stopped { signal, stack } => {
                assert_eq!(signal, "05", "step {i} stopped with signal {signal}");
                assert!(
                    one_instruction_apart(&before, &stack),
                    "step {i} changed the call stack more than one instruction can:\n  \
                     before {before:x?}\n  after  {stack:x?}"
                );
                before = stack;
                taken += 1;
            }
        }
    }
    eprintln!(
        "{}: {taken} steps, each one instruction apart",
        program.display()
    );
    assert!(
        taken >= steps.min(1_000),
        "only {taken} steps before the program ended"
    );
}

#[test]
fn one_instruction_apart_accepts_only_single_transitions() {
    let base = 0x4000_0000_0000_0000u64;
    let stack = [base | 0x120, base | 0x310, base | 0x20];
    assert!(one_instruction_apart(
        &stack,
        &[base | 0x122, base | 0x310, base | 0x20]
    ));
    assert!(one_instruction_apart(
        &stack,
        &[base | 0x500, base | 0x125, base | 0x310, base | 0x20]
    ));
    assert!(one_instruction_apart(&stack, &[base | 0x310, base | 0x20]));
    assert!(!one_instruction_apart(&stack, &[base | 0x20]));
    assert!(!one_instruction_apart(
        &stack,
        &[base | 0x122, base | 0x311, base | 0x20]
    ));
    assert!(!one_instruction_apart(
        &stack,
        &[base | 0x500, base | 0x100, base | 0x310, base | 0x20]
    ));
}

/// C's `main` is compiled under one of these names, depending on its signature.
fn c_main(program: &Path) -> String {
    let entries = wasm::function_entries(&fixtures::read(program));
    ["main", "__original_main", "__main_argc_argv"]
        .into_iter()
        .find(|n| entries.contains_key(*n))
        .unwrap_or_else(|| panic!("no C main in {}", program.display()))
        .to_string()
}

#[test]
fn c_app_steps_like_wasmtime_single_step() {
    let app = fixtures::c_app();
    compare_with_host_step(&app, &c_main(&app));
}

/// The name of the function whose (mangled) name contains `fragment`, the shortest if several do.
fn named(program: &Path, fragment: &str) -> String {
    let entries = wasm::function_entries(&fixtures::read(program));
    entries
        .keys()
        .filter(|n| n.contains(fragment))
        .min_by_key(|n| (n.len(), n.to_string()))
        .unwrap_or_else(|| panic!("no function named like {fragment} in {}", program.display()))
        .clone()
}

#[test]
fn lua_steps_like_wasmtime_single_step() {
    let lua = corpus::lua_wasm();
    for start in [c_main(&lua), "luaH_resize".into(), "luaV_execute".into()] {
        compare_with_host_step(&lua, &start);
    }
}

#[test]
fn cpp_steps_like_wasmtime_single_step() {
    let cpp = corpus::cpp_wasm();
    for start in [
        c_main(&cpp),
        named(&cpp, "containers_demo"),
        named(&cpp, "strings_demo"),
    ] {
        compare_with_host_step(&cpp, &start);
    }
}

#[test]
fn rust_std_steps_like_wasmtime_single_step() {
    let program = corpus::rust_std_p1();
    for fragment in ["rust_std4main", "rust_std5words", "rust_std8closures"] {
        compare_with_host_step(&program, &named(&program, fragment));
    }
}

#[test]
fn rust_component_steps_one_instruction_at_a_time() {
    // The component's program module is the one LLDB sees first; its main is found through the
    // stub's own symbol-free view: the entry of the module's `main` in its name section.
    let program = corpus::rust_std_p2();
    let module = fixtures::program_module(&fixtures::read(&program));
    let entries = wasm::function_entries(&module);
    let main = entries
        .iter()
        .find(|(n, _)| n.contains("rust_std4main"))
        .map(|(_, &pc)| pc)
        .unwrap_or_else(|| panic!("no Rust main among {} functions", entries.len()));
    check_one_instruction_per_step(&program, code_addr(main));
}
