//! wasm-gdbstub: a Wasmtime debug component serving LLDB's Wasm GDB remote protocol.
//!
//! Pure logic (arguments, address encoding, bytecode analysis, stepping and breakpoint
//! bookkeeping) builds for every target so it is unit-tested on the host; everything that talks
//! to Wasmtime or the network only builds for `wasm32`.

pub mod addr;
pub mod args;
pub mod binary_reply;
pub mod breakpoints;
pub mod bytecode;
pub mod control_flow;
pub mod memory_access;
pub mod monitor_text;
pub mod packet_guard;
pub mod stepping;
pub mod stop_reply;
pub mod watchpoints;

#[cfg(target_arch = "wasm32")]
mod connection;
#[cfg(target_arch = "wasm32")]
mod debuggee;
#[cfg(target_arch = "wasm32")]
mod execution;
#[cfg(target_arch = "wasm32")]
mod gdb;
#[cfg(target_arch = "wasm32")]
mod host;
#[cfg(target_arch = "wasm32")]
mod server;
#[cfg(target_arch = "wasm32")]
mod session;

#[cfg(target_arch = "wasm32")]
struct Component;

#[cfg(target_arch = "wasm32")]
impl host::exports::bytecodealliance::wasmtime::debugger::Guest for Component {
    fn debug(debuggee: &host::Debuggee, args: Vec<String>) {
        server::debug(debuggee, args);
    }
}

#[cfg(target_arch = "wasm32")]
host::export!(Component with_types_in host);
