//! Frames over raw RSP: every activation of a recursive function has its own locals, and caller
//! frames report return addresses (the instruction after their `call`).

mod common;

use common::fixtures;
use common::rsp::{Client, hex_decode};
use common::{Debuggee, line_of};
use std::time::Duration;

const CODE: u64 = 0x4000_0000_0000_0000;

fn u64s(hex: &str) -> Vec<u64> {
    hex_decode(hex)
        .expect("hex")
        .chunks(8)
        .map(|c| {
            let mut b = [0u8; 8];
            b[..c.len()].copy_from_slice(c);
            u64::from_le_bytes(b)
        })
        .collect()
}

#[test]
fn recursive_activations_have_their_own_locals() {
    let wasm = fixtures::c_app();
    let lines = fixtures::dwarf_line_table(&fixtures::read(&wasm), Some("app.c"));
    let entry = CODE | u64::from(lines[&line_of(fixtures::c_app_src(), "fact_entry")]);
    let debuggee = Debuggee::spawn(&wasm, &[], &[]);
    let mut client = Client::connect(debuggee.addr()).unwrap();
    client.set_timeout(Duration::from_secs(20));
    client.no_ack();
    assert_eq!(client.request(&format!("Z0,{entry:x},1")), "OK");
    for _ in 0..3 {
        assert!(client.request("vCont;c:p1.-1").contains("swbreak"));
    }
    let stack = u64s(&client.request("qWasmCallStack:1"));
    assert_eq!(stack[0], entry);
    // fact(4) <- fact(5) <- fact(6): `n` is local 0 of each.
    let locals: Vec<u32> = (0..3)
        .map(|frame| u64s(&client.request(&format!("qWasmLocal:{frame};0")))[0] as u32)
        .collect();
    assert_eq!(locals, vec![4, 5, 6]);
    // The callers sit at the same return address, right after the recursive `call`.
    assert_eq!(stack[1], stack[2]);
    let module = fixtures::read(&wasm);
    let call_at = (stack[1] - CODE) as usize;
    let info = wasm_gdbstub::wasm_module::ModuleInfo::parse(&module).unwrap();
    let func = info.func_containing(call_at as u32).unwrap();
    let boundaries = info.instruction_boundaries(&module, func).unwrap();
    let at = boundaries
        .binary_search(&(call_at as u32))
        .expect("a return address is an instruction boundary");
    assert!(
        info.direct_callee(&module, boundaries[at - 1]).is_some(),
        "the instruction before it is a call"
    );
    client.send("k");
}
