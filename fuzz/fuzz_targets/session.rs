//! Fuzz target: the real session code (`src/session.rs`: packet guard, gdbstub's state machine,
//! the protocol layer in `src/gdb/` and the debugger core) driven with hostile client bytes,
//! against the scripted fake host. A panic anywhere on this path would abort the whole Wasmtime
//! process; the fake also panics if the core ever makes a debuggee request while a resumption is
//! pending, which Wasmtime answers by ending the run.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use wasm_gdbstub::debugger::{CoreOptions, Debugger};
use wasm_gdbstub::fake_host::{FakeFrame, FakeHost};
use wasm_gdbstub::gdb::ProtocolOptions;
use wasm_gdbstub::host::{HostEvent, Value};
use wasm_gdbstub::session::Session;

/// `(module (func (export "_start") nop nop nop))`.
const MODULE: &[u8] = &[
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // header
    0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // type: [] -> []
    0x03, 0x02, 0x01, 0x00, // function 0 has type 0
    0x07, 0x0a, 0x01, 0x06, b'_', b's', b't', b'a', b'r', b't', 0x00, 0x00, // export
    0x0a, 0x07, 0x01, 0x05, 0x00, 0x01, 0x01, 0x01, 0x0b, // code
];
/// The first `nop`.
const FIRST_NOP: u32 = 35;
const EVENTS: [HostEvent; 4] = [
    HostEvent::Breakpoint,
    HostEvent::Trap,
    HostEvent::Interrupted,
    HostEvent::Exception,
];

/// Runs a future the fake host completes at once.
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&split, rest)) = data.split_first() else { return };
    let host = FakeHost::new(vec![MODULE.to_vec()]);
    for i in 0..64u32 {
        let frame = FakeFrame {
            module: 0,
            pc: FIRST_NOP + i % 3,
            locals: vec![Value::I32(i)],
            operands: vec![Value::I64(u64::from(i))],
        };
        host.then(EVENTS[i as usize % EVENTS.len()].clone(), vec![frame]);
    }
    let mut core = Debugger::new(host, CoreOptions::default());
    // Socket reads of varying size, as the component gets them.
    let mut chunks = rest.chunks(usize::from(split % 64) + 1);
    'clients: loop {
        if !block_on(core.stop_for_attach()) {
            return;
        }
        let Some(mut session) = Session::new(&mut core, ProtocolOptions::default()) else {
            return;
        };
        for chunk in chunks.by_ref() {
            let mut ended = session.advance().or_else(|| session.receive(chunk));
            while ended.is_none() {
                ended = session.advance();
                if ended.is_some() || !session.waits_for_program() {
                    break;
                }
                ended = session.on_program_event();
            }
            session.replies().take();
            if ended.is_some() {
                drop(session);
                // As between clients: what the client planted goes, the program runs on.
                core.forget_client();
                core.run_on();
                continue 'clients;
            }
        }
        return;
    }
});
