//! The [`Host`] trait over Wasmtime's `debug-main` world (the generated bindings live here and
//! nowhere else).

use crate::host::{Host, HostError, HostEvent, PROGRAM_RUNNING, RequestTally, ResumeMode, Value};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::time::Instant;
use wstd::runtime::AsyncPollable;

wit_bindgen::generate!({
    world: "bytecodealliance:wasmtime/debug-main",
    path: "wit",
    with: {
        "wasi:io/poll@0.2.12": wasip2::io::poll,
    },
    generate_all,
});

use bytecodealliance::wasmtime::debuggee as wit;
pub use wit::Debuggee;

/// Wasmtime's debuggee interface, borrowed for the run.
pub struct WasmtimeHost<'d> {
    debuggee: &'d Debuggee,
    /// Memory 0 of each instance (by unique id) and its page size, or why it has none. Both are
    /// fixed for the instance's life, and each request for them is a round trip to the
    /// debuggee's thread, made at every stop that reads a variable.
    memories: RefCell<HashMap<u64, MemoryOrWhyNot>>,
    /// Every request to the debuggee crosses to its thread and back: `monitor stats` shows
    /// where a stop's time goes.
    tallies: RefCell<BTreeMap<&'static str, RequestTally>>,
}

/// An instance's memory 0 with its page size, or the error asking for it gave.
type MemoryOrWhyNot = Result<(wit::Memory, u64), wit::Error>;

impl<'d> WasmtimeHost<'d> {
    pub fn new(debuggee: &'d Debuggee) -> Self {
        WasmtimeHost {
            debuggee,
            memories: RefCell::new(HashMap::new()),
            tallies: RefCell::new(BTreeMap::new()),
        }
    }

    fn tally(&self, kind: &'static str, since: Instant) {
        let mut tallies = self.tallies.borrow_mut();
        let tally = tallies.entry(kind).or_default();
        tally.count += 1;
        tally.micros += since.elapsed().as_micros() as u64;
    }

    /// Runs one request to the debuggee, counted under `kind`.
    fn timed<R>(&self, kind: &'static str, request: impl FnOnce() -> R) -> R {
        let start = Instant::now();
        let result = request();
        self.tally(kind, start);
        result
    }

    fn with_memory<R>(
        &self,
        instance: &wit::Instance,
        f: impl FnOnce(&wit::Memory, u64) -> R,
    ) -> Result<R, wit::Error> {
        let mut memories = self.memories.borrow_mut();
        let entry = memories.entry(instance.unique_id()).or_insert_with(|| {
            let memory = instance.get_memory(self.debuggee, 0)?;
            let page_size = memory.page_size_bytes(self.debuggee);
            Ok((memory, page_size))
        });
        match entry {
            Ok((memory, page_size)) => Ok(f(memory, *page_size)),
            Err(e) => Err(*e),
        }
    }
}

/// A resumption in flight: the host's event future plus a pollable the async runtime can wait on.
pub struct Pending {
    resumed: Instant,
    future: wit::EventFuture,
    // The pollable is a child of the future and must be dropped before `finish` consumes it.
    pollable: Option<AsyncPollable>,
}

fn error(e: wit::Error) -> HostError {
    HostError(format!("{e:?}"))
}

fn value(v: &wit::WasmValue) -> Value {
    use wit::WasmType;
    match v.get_type() {
        WasmType::WasmI32 => Value::I32(v.unwrap_i32()),
        WasmType::WasmI64 => Value::I64(v.unwrap_i64()),
        WasmType::WasmF32 => Value::F32(v.unwrap_f32().to_bits()),
        WasmType::WasmF64 => Value::F64(v.unwrap_f64().to_bits()),
        WasmType::WasmV128 => {
            let mut bytes = [0u8; 16];
            let got = v.unwrap_v128();
            let n = got.len().min(16);
            bytes[..n].copy_from_slice(&got[..n]);
            Value::V128(bytes)
        }
        WasmType::WasmFuncref => Value::FuncRef,
        WasmType::WasmExnref => Value::ExnRef,
    }
}

impl Host for WasmtimeHost<'_> {
    type Module = wit::Module;
    type Instance = wit::Instance;
    type Frame = wit::Frame;
    type Pending = Pending;

    fn modules(&self) -> Vec<wit::Module> {
        self.timed("all-modules", || self.debuggee.all_modules())
    }

    fn module_id(&self, module: &wit::Module) -> u64 {
        self.timed("unique-id", || module.unique_id())
    }

    fn bytecode(&self, module: &wit::Module) -> Vec<u8> {
        self.timed("bytecode", || module.bytecode().unwrap_or_default())
    }

    fn add_breakpoint(&self, module: &wit::Module, pc: u32) -> Result<(), HostError> {
        self.timed("add-breakpoint", || {
            module.add_breakpoint(self.debuggee, pc).map_err(error)
        })
    }

    fn remove_breakpoint(&self, module: &wit::Module, pc: u32) -> Result<(), HostError> {
        self.timed("remove-breakpoint", || {
            module.remove_breakpoint(self.debuggee, pc).map_err(error)
        })
    }

    fn instances(&self) -> Vec<wit::Instance> {
        self.timed("all-instances", || self.debuggee.all_instances())
    }

    fn instance_id(&self, instance: &wit::Instance) -> u64 {
        self.timed("unique-id", || instance.unique_id())
    }

    fn instance_module_id(&self, instance: &wit::Instance) -> u64 {
        self.timed("get-module", || {
            instance.get_module(self.debuggee).unique_id()
        })
    }

    fn global(&self, instance: &wit::Instance, index: u32) -> Option<Value> {
        self.timed("get-global", || {
            let global = instance.get_global(self.debuggee, index).ok()?;
            Some(value(&global.get(self.debuggee).ok()?))
        })
    }

    fn memory_size(&self, instance: &wit::Instance) -> Option<(u64, u64)> {
        self.timed("size-bytes", || {
            self.with_memory(instance, |memory, page_size| {
                (memory.size_bytes(self.debuggee), page_size)
            })
            .ok()
        })
    }

    fn read_memory(
        &self,
        instance: &wit::Instance,
        offset: u64,
        len: u64,
    ) -> Result<Vec<u8>, HostError> {
        self.timed("get-bytes", || {
            self.with_memory(instance, |memory, _| {
                memory.get_bytes(self.debuggee, offset, len)
            })
            .map_err(error)?
            .map_err(error)
        })
    }

    fn write_memory(
        &self,
        instance: &wit::Instance,
        offset: u64,
        data: &[u8],
    ) -> Result<(), HostError> {
        self.timed("set-bytes", || {
            self.with_memory(instance, |memory, _| {
                memory.set_bytes(self.debuggee, offset, data)
            })
            .map_err(error)?
            .map_err(error)
        })
    }

    fn exit_frames(&self) -> Vec<wit::Frame> {
        self.timed("exit-frames", || self.debuggee.exit_frames())
    }

    fn parent_frame(&self, frame: &wit::Frame) -> Option<wit::Frame> {
        self.timed("parent-frame", || {
            frame.parent_frame(self.debuggee).ok().flatten()
        })
    }

    fn frame_instance(&self, frame: &wit::Frame) -> Option<wit::Instance> {
        self.timed("get-instance", || frame.get_instance(self.debuggee).ok())
    }

    fn frame_pc(&self, frame: &wit::Frame) -> Option<u32> {
        self.timed("get-pc", || frame.get_pc(self.debuggee).ok())
    }

    fn locals(&self, frame: &wit::Frame) -> Option<Vec<Value>> {
        self.timed("get-locals", || {
            let values = frame.get_locals(self.debuggee).ok()?;
            Some(values.iter().map(value).collect())
        })
    }

    fn local(&self, frame: &wit::Frame, index: usize) -> Option<Value> {
        self.timed("get-locals", || {
            let values = frame.get_locals(self.debuggee).ok()?;
            values.get(index).map(value)
        })
    }

    fn operand_stack(&self, frame: &wit::Frame) -> Option<Vec<Value>> {
        self.timed("get-stack", || {
            let values = frame.get_stack(self.debuggee).ok()?;
            Some(values.iter().map(value).collect())
        })
    }

    /// Only `normal` is ever passed: any other resumption value makes Wasmtime 48 abort the whole
    /// process (`unimplemented!()` in the host). A single step's end is reported as a breakpoint.
    fn resume(&self, mode: ResumeMode) -> Pending {
        let (future, pollable) = self.timed("continue", || {
            let future = match mode {
                ResumeMode::Continue => self.debuggee.continue_(wit::ResumptionValue::Normal),
                ResumeMode::SingleStep => self.debuggee.single_step(wit::ResumptionValue::Normal),
            };
            let pollable = Some(AsyncPollable::new(future.subscribe()));
            (future, pollable)
        });
        Pending {
            resumed: Instant::now(),
            future,
            pollable,
        }
    }

    async fn ready(pending: &mut Pending) {
        if let Some(pollable) = pending.pollable.as_mut() {
            pollable.wait_for().await;
        }
    }

    fn finish(&self, mut pending: Pending) -> Result<HostEvent, HostError> {
        self.tally(PROGRAM_RUNNING, pending.resumed);
        drop(pending.pollable.take());
        let event = self.timed("finish", || {
            wit::EventFuture::finish(pending.future, self.debuggee).map_err(error)
        })?;
        Ok(match event {
            wit::Event::Complete => HostEvent::Complete,
            wit::Event::Breakpoint => HostEvent::Breakpoint,
            wit::Event::Trap => HostEvent::Trap,
            wit::Event::Interrupted => HostEvent::Interrupted,
            wit::Event::Exception(_) => HostEvent::Exception,
            wit::Event::InjectedCallReturn(_) => HostEvent::InjectedCallReturn,
        })
    }

    fn take_request_tallies(&self) -> Vec<(&'static str, RequestTally)> {
        std::mem::take(&mut *self.tallies.borrow_mut())
            .into_iter()
            .collect()
    }

    fn interrupt(&self) {
        self.timed("interrupt", || {
            self.debuggee.interrupt();
        })
    }
}
