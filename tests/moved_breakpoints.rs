//! Breakpoints on code Wasmtime compiled away. Wasmtime accepts a breakpoint on any instruction,
//! but one its compiler dropped (here a store behind a branch on a constant) has no machine code,
//! so the breakpoint fires at the next instruction that has some. Native code never stops on
//! code that does not exist, and neither may we: the program runs on past such a stop unseen,
//! whether the client planted the breakpoint itself or a watchpoint planted it on a store.

mod common;

use common::Debuggee;
use common::fixtures::{self, wat_offset_of};
use common::rsp::{Client, StopReply, code_addr};
use std::time::Duration;

const WAT: &str = "wat/dead_store.wat";

fn attach() -> (Client, Debuggee) {
    let debuggee = Debuggee::spawn(&fixtures::wat_dead_store(), &[], &[]);
    let mut client = Client::connect(debuggee.addr()).expect("connect");
    client.set_timeout(Duration::from_secs(20));
    client.no_ack();
    assert!(client.request("?").starts_with('T'));
    (client, debuggee)
}

fn finish(mut debuggee: Debuggee) {
    let output = debuggee.wait_exit(Duration::from_secs(20));
    assert!(output.success(), "{output}");
}

#[test]
fn a_breakpoint_on_code_that_was_compiled_away_never_stops() {
    let (mut client, debuggee) = attach();
    let dead = code_addr(wat_offset_of(WAT, "dead_store"));
    assert_eq!(client.request(&format!("Z0,{dead:x},1")), "OK");
    let reply = client.request("vCont;c:p1.-1");
    assert!(
        reply.starts_with("W00"),
        "the dead store never runs, so the program must run to its end: {reply}"
    );
    finish(debuggee);
}

#[test]
fn a_watchpoint_stops_only_at_stores_that_run() {
    let (mut client, debuggee) = attach();
    // Nothing writes 0x100 (its only store is compiled away), so the program runs to its end.
    assert_eq!(client.request("Z2,100,4"), "OK");
    let reply = client.request("vCont;c:p1.-1");
    assert!(reply.starts_with("W00"), "nothing writes 0x100: {reply}");
    finish(debuggee);

    // 0x48 is written once per turn of the loop, five times, each reported after the store.
    let (mut client, debuggee) = attach();
    let live = code_addr(wat_offset_of(WAT, "live_store"));
    assert_eq!(client.request("Z2,48,4"), "OK");
    for turn in 0..5u32 {
        let reply = StopReply::parse(&client.request("vCont;c:p1.-1"))
            .unwrap_or_else(|| panic!("turn {turn}: no stop reply"));
        assert_eq!(
            reply
                .get("watch")
                .map(|a| u64::from_str_radix(a, 16).unwrap()),
            Some(0x48),
            "turn {turn}: {reply:?}"
        );
        assert_eq!(
            client.request("m48,4"),
            common::rsp::hex_encode(&turn.to_le_bytes()),
            "turn {turn}: the stop comes after the store at {live:#x} ran"
        );
    }
    let reply = client.request("vCont;c:p1.-1");
    assert!(
        reply.starts_with("W00"),
        "five writes, then the end: {reply}"
    );
    finish(debuggee);
}
