//! Exact single steps over raw RSP: for each kind of control transfer in `wat/step.wat`, a
//! breakpoint stops at the instruction, `vCont;s` executes it, and the stop reply must be a plain
//! trap (no `swbreak`) at exactly the instruction the Wasm semantics say comes next.

mod common;

use common::fixtures::{self, wat_offset_of};
use common::rsp::{Client, StopReply, code_addr};
use common::{Debuggee, wasm};
use std::time::Duration;

const WAT: &str = "wat/step.wat";

fn pc_of(reply: &StopReply) -> u64 {
    let hex = reply
        .get("00")
        .unwrap_or_else(|| panic!("stop reply has no pc: {reply:?}"));
    let bytes = common::rsp::hex_decode(hex).expect("pc is hex");
    let mut le = [0u8; 8];
    le[..bytes.len().min(8)].copy_from_slice(&bytes[..bytes.len().min(8)]);
    u64::from_le_bytes(le)
}

struct Session {
    client: Client,
    _debuggee: Debuggee,
}

impl Session {
    fn start() -> Self {
        let debuggee = Debuggee::spawn(&fixtures::wat_step(), &[], &[]);
        let mut client = Client::connect(debuggee.addr()).expect("connect");
        client.set_timeout(Duration::from_secs(20));
        client.no_ack();
        assert!(client.request("?").starts_with('T'));
        Session {
            client,
            _debuggee: debuggee,
        }
    }

    fn run_to(&mut self, mark: &str) {
        let addr = code_addr(wat_offset_of(WAT, mark));
        assert_eq!(self.client.request(&format!("Z0,{addr:x},1")), "OK");
        let reply = StopReply::parse(&self.client.request("vCont;c:p1.-1")).expect("stop reply");
        assert!(
            reply.get("swbreak").is_some(),
            "expected a breakpoint stop at {mark}: {reply:?}"
        );
        assert_eq!(pc_of(&reply), addr, "breakpoint at {mark}");
        assert_eq!(self.client.request(&format!("z0,{addr:x},1")), "OK");
    }

    /// Steps once and returns the stop reply after checking it is a plain trap.
    fn step(&mut self) -> StopReply {
        let reply = StopReply::parse(&self.client.request("vCont;s:p1.1")).expect("stop reply");
        assert_eq!((reply.kind, reply.code), ('T', 5), "{reply:?}");
        assert!(
            reply.get("swbreak").is_none(),
            "a completed step is not a breakpoint: {reply:?}"
        );
        reply
    }

    fn assert_step(&mut self, from: &str, to: &str) {
        self.run_to(from);
        let reply = self.step();
        assert_eq!(
            pc_of(&reply),
            code_addr(wat_offset_of(WAT, to)),
            "one step from {from} should land on {to}"
        );
    }

    fn stack_depth(&mut self) -> usize {
        self.client.request("qWasmCallStack:1").len() / 16
    }
}

#[test]
fn every_control_transfer_steps_to_its_successor() {
    let mut s = Session::start();
    s.assert_step("start_first", "straight_2");
    s.assert_step("brif_taken", "brif_taken_target");
    s.assert_step("brif_not_taken", "brif_fallthrough");
    s.assert_step("br_table", "br_table_target");
    s.assert_step("if_false", "if_false_else");
    s.assert_step("if_true", "if_true_then");
    s.assert_step("loop_backedge", "loop_top");
    // A step into a function stops at its first instruction. The stub shows it at the function's
    // DWARF start (its locals declarations) only when a source line starts there, as in C
    // functions with a prologue (LLDB's `step` moves past a prologue only from that address);
    // here, as in C functions without a prologue, the first line starts at the first
    // instruction, which is shown as itself.
    s.run_to("call_helper");
    let reply = s.step();
    let wasm = fixtures::read(fixtures::wat_step());
    let helper = wasm::function_layouts(&wasm)["helper"];
    assert_eq!(helper.entry, wat_offset_of(WAT, "helper_entry"));
    assert_eq!(
        pc_of(&reply),
        code_addr(helper.entry),
        "the step lands at helper's first line"
    );
    assert_eq!(s.stack_depth(), 2, "the callee runs one frame deeper");
    let reply = s.step();
    assert_eq!(
        pc_of(&reply),
        code_addr(wat_offset_of(WAT, "helper_entry")) + 2
    );
    s.assert_step("helper_return", "after_call_helper");
    assert_eq!(s.stack_depth(), 1, "`return` lands back in the caller");
    s.assert_step("call_import", "after_call_import");
    let out = s.client.request("vCont;c:p1.-1");
    assert!(
        out.starts_with("W00"),
        "program runs to its end after steps: {out}"
    );
}

#[test]
fn stepping_off_the_end_of_a_function_returns_to_the_caller() {
    let mut s = Session::start();
    s.run_to("leaf_last");
    // `nop`, then the function's final `end` (if Wasmtime can stop there), then the caller.
    let mut reply = s.step();
    let after_call = code_addr(wat_offset_of(WAT, "after_call_leaf"));
    if pc_of(&reply) != after_call {
        assert_eq!(s.stack_depth(), 2, "still in $leaf, at its final `end`");
        reply = s.step();
    }
    assert_eq!(pc_of(&reply), after_call);
    assert_eq!(s.stack_depth(), 1);
}

#[test]
fn user_breakpoints_still_stop_after_steps() {
    let mut s = Session::start();
    let leaf = code_addr(wat_offset_of(WAT, "leaf_entry"));
    s.run_to("start_first");
    for _ in 0..3 {
        s.step();
    }
    assert_eq!(s.client.request(&format!("Z0,{leaf:x},1")), "OK");
    let reply = StopReply::parse(&s.client.request("vCont;c:p1.-1")).expect("stop reply");
    assert!(reply.get("swbreak").is_some(), "{reply:?}");
    assert_eq!(pc_of(&reply), leaf);
}

/// `QWasmLineStep` (what `lldb/wasm_gdbstub.py` sends around LLDB's `next`/`step`): while
/// armed, one `vCont;s` runs to the start of another source line of the same activation (here
/// each WAT line is a source line), calls included for `over`; a `br_table` goes to the case its
/// operand picks. Disarmed, `vCont;s` is one instruction again.
#[test]
fn an_armed_line_step_runs_to_the_next_line() {
    let mut s = Session::start();
    let line_step = |s: &mut Session, kind: &str| {
        assert_eq!(s.client.request(&format!("QWasmLineStep:{kind}")), "OK");
        let reply = s.step();
        assert_eq!(s.client.request("QWasmLineStep:off"), "OK");
        pc_of(&reply)
    };
    let at = |mark: &str| code_addr(wat_offset_of(WAT, mark));

    s.run_to("br_table");
    assert_eq!(line_step(&mut s, "over"), at("br_table_target"));

    s.run_to("call_helper");
    let depth = s.stack_depth();
    assert_eq!(line_step(&mut s, "into"), at("helper_entry"));
    assert_eq!(s.stack_depth(), depth + 1);
    // `return`: back in the caller, on the line after the call.
    s.run_to("helper_return");
    assert_eq!(line_step(&mut s, "over"), at("after_call_helper"));
    assert_eq!(s.stack_depth(), depth);

    s.run_to("call_leaf");
    assert_eq!(line_step(&mut s, "over"), at("after_call_leaf"));
    assert_eq!(s.stack_depth(), depth, "`over` ran the call to its return");

    // Disarmed, `vCont;s` is one instruction again.
    s.run_to("call_import");
    assert_eq!(pc_of(&s.step()), at("after_call_import"));
    let next = s.step();
    assert!(pc_of(&next) > at("after_call_import"), "{next:?}");
}
