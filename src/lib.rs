//! wasm-gdbstub: a Wasmtime debug component serving LLDB's Wasm GDB remote protocol.
//!
//! The debugger core, the protocol layer and the session build for every target, so they are
//! unit-tested and fuzzed on the host against `fake_host`; only the Wasmtime bindings
//! (`wasmtime_host`) and the sockets (`server`, `connection`) build for `wasm32` alone.

pub mod access_bounds;
pub mod addr;
pub mod args;
pub mod breakpoints;
pub mod control_flow;
pub mod debuggee;
pub mod debugger;
pub mod disassembly;
pub mod dwarf;
pub mod execution;
pub mod gdb;
pub mod host;
pub mod line_step;
pub mod logging;
pub mod memory_access;
pub mod monitor_text;
pub mod packet_guard;
pub mod rsp;
pub mod session;
pub mod stepping;
pub mod traps;
pub mod wasm_module;
pub mod watchpoints;

#[cfg(not(target_arch = "wasm32"))]
pub mod fake_host;

#[cfg(target_arch = "wasm32")]
mod connection;
#[cfg(target_arch = "wasm32")]
mod server;
#[cfg(target_arch = "wasm32")]
mod wasmtime_host;

#[cfg(target_arch = "wasm32")]
struct Component;

#[cfg(target_arch = "wasm32")]
impl wasmtime_host::exports::bytecodealliance::wasmtime::debugger::Guest for Component {
    fn debug(debuggee: &wasmtime_host::Debuggee, args: Vec<String>) {
        server::debug(debuggee, args);
    }
}

#[cfg(target_arch = "wasm32")]
wasmtime_host::export!(Component with_types_in wasmtime_host);
