//! What the debugger core needs from the engine running the debuggee: a small trait that
//! Wasmtime's `debug-main` bindings implement (`crate::wasmtime_host`) and a scripted stand-in
//! implements for host tests and fuzzing (`crate::fake_host`). Nothing above this trait knows
//! which one it talks to.

use std::future::Future;

/// A Wasm value read from a local, operand stack slot or global.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    I32(u32),
    I64(u64),
    F32(u32),
    F64(u64),
    V128([u8; 16]),
    FuncRef,
    ExnRef,
}

impl Value {
    /// Little-endian bytes, as LLDB's `qWasmLocal`/`qWasmGlobal`/`qWasmStackValue` expect.
    pub fn to_le_bytes(&self) -> Vec<u8> {
        match self {
            Value::I32(v) | Value::F32(v) => v.to_le_bytes().to_vec(),
            Value::I64(v) | Value::F64(v) => v.to_le_bytes().to_vec(),
            Value::V128(bytes) => bytes.to_vec(),
            // References have no address LLDB could use; show them as null.
            Value::FuncRef | Value::ExnRef => 0u32.to_le_bytes().to_vec(),
        }
    }

    /// The value as a memory address operand (i32 and i64), for matching watched accesses.
    pub fn as_address(&self) -> u64 {
        match self {
            Value::I32(v) => u64::from(*v),
            Value::I64(v) => *v,
            _ => 0,
        }
    }
}

/// What ended a resumption.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostEvent {
    /// The program ran to its end.
    Complete,
    /// A planted breakpoint was reached, or a single step finished.
    Breakpoint,
    Trap,
    /// An interrupt took effect.
    Interrupted,
    Exception,
    /// An injected call returned (never asked for; resumed past).
    InjectedCallReturn,
}

/// How to resume.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ResumeMode {
    Continue,
    /// Wasmtime's own single-step mode (`--host-step`).
    SingleStep,
}

/// Why the engine refused a request, in its own words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostError(pub String);

impl std::fmt::Display for HostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Requests of one kind made to the engine, and the time they took.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RequestTally {
    pub count: u64,
    pub micros: u64,
}

/// The tally kind under which [`Host::take_request_tallies`] reports the time the program ran,
/// from each resumption to its event: not a request, shown apart from them.
pub const PROGRAM_RUNNING: &str = "(program running)";

/// The engine's debugging interface. Handles are the engine's own; every request is only valid
/// while the debuggee is paused (the core guarantees that: Wasmtime 48 ends the whole run if its
/// debuggee interface is used while a resumption is pending).
pub trait Host {
    type Module;
    type Instance;
    type Frame;
    /// A resumption in flight.
    type Pending;

    fn modules(&self) -> Vec<Self::Module>;
    /// Stable identity of a module (the same module listed twice compares equal).
    fn module_id(&self, module: &Self::Module) -> u64;
    /// The module's original bytecode (empty if the engine has none).
    fn bytecode(&self, module: &Self::Module) -> Vec<u8>;
    fn add_breakpoint(&self, module: &Self::Module, pc: u32) -> Result<(), HostError>;
    fn remove_breakpoint(&self, module: &Self::Module, pc: u32) -> Result<(), HostError>;

    fn instances(&self) -> Vec<Self::Instance>;
    fn instance_id(&self, instance: &Self::Instance) -> u64;
    /// [`Host::module_id`] of the instance's module.
    fn instance_module_id(&self, instance: &Self::Instance) -> u64;
    fn global(&self, instance: &Self::Instance, index: u32) -> Option<Value>;
    /// Size and page size, in bytes, of the instance's memory 0; `None` without one.
    fn memory_size(&self, instance: &Self::Instance) -> Option<(u64, u64)>;
    fn read_memory(
        &self,
        instance: &Self::Instance,
        offset: u64,
        len: u64,
    ) -> Result<Vec<u8>, HostError>;
    fn write_memory(
        &self,
        instance: &Self::Instance,
        offset: u64,
        data: &[u8],
    ) -> Result<(), HostError>;

    /// The innermost frame of each activation of Wasm on the stack, innermost activation first.
    fn exit_frames(&self) -> Vec<Self::Frame>;
    fn parent_frame(&self, frame: &Self::Frame) -> Option<Self::Frame>;
    fn frame_instance(&self, frame: &Self::Frame) -> Option<Self::Instance>;
    fn frame_pc(&self, frame: &Self::Frame) -> Option<u32>;
    fn locals(&self, frame: &Self::Frame) -> Option<Vec<Value>>;
    /// Local `index` of the frame. A host that can only list every local still lists them, but
    /// need not convert each: a function of thousands of locals (a large `switch` at -O0) costs a
    /// conversion per local per stop where LLDB wants one (its frame base, at every step).
    fn local(&self, frame: &Self::Frame, index: usize) -> Option<Value> {
        self.locals(frame)?.get(index).cloned()
    }
    /// The frame's operand stack, bottom first.
    fn operand_stack(&self, frame: &Self::Frame) -> Option<Vec<Value>>;

    fn resume(&self, mode: ResumeMode) -> Self::Pending;
    /// Completes when the resumption has an event to report.
    fn ready(pending: &mut Self::Pending) -> impl Future<Output = ()>;
    fn finish(&self, pending: Self::Pending) -> Result<HostEvent, HostError>;
    /// Asks a running debuggee to stop at its next chance (an interrupt event).
    fn interrupt(&self);

    /// The requests made since the last call, by kind (with the program's running time between
    /// a resumption and its event), and starts counting afresh. An engine that does not count
    /// reports none.
    fn take_request_tallies(&self) -> Vec<(&'static str, RequestTally)> {
        Vec::new()
    }
}
