//! A scripted stand-in for Wasmtime behind the [`Host`] trait, for unit tests and fuzzing on the
//! host: modules given as bytes, one instance and memory per module, a call stack the test sets,
//! and resumptions that end in the events the test queues. It records every breakpoint edit and
//! counts requests, and panics on any request made while a resumption is pending — the rule
//! Wasmtime enforces by ending the whole run.

use crate::host::{Host, HostError, HostEvent, ResumeMode, Value};
use std::cell::RefCell;
use std::collections::{BTreeSet, VecDeque};
use std::future::Future;

/// One frame of the fake call stack.
#[derive(Clone, Debug, Default)]
pub struct FakeFrame {
    pub module: u32,
    pub pc: u32,
    pub locals: Vec<Value>,
    /// Bottom first.
    pub operands: Vec<Value>,
}

impl FakeFrame {
    pub fn at(module: u32, pc: u32) -> Self {
        FakeFrame {
            module,
            pc,
            ..FakeFrame::default()
        }
    }
}

/// A breakpoint edit the core made.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Edit {
    Add(u32, u32),
    Remove(u32, u32),
}

#[derive(Default)]
pub struct FakeState {
    pub modules: Vec<Vec<u8>>,
    /// Linear memory of each module's instance.
    pub memories: Vec<Vec<u8>>,
    pub globals: Vec<Value>,
    /// Innermost first.
    pub stack: Vec<FakeFrame>,
    /// What the next resumptions end in, with the stack at that event; an empty queue ends the
    /// program.
    pub script: VecDeque<(HostEvent, Vec<FakeFrame>)>,
    pub planted: BTreeSet<(u32, u32)>,
    pub edits: Vec<Edit>,
    /// Requests made through the trait (resumptions included).
    pub requests: usize,
    /// Of those, steps up the call stack (`parent_frame`).
    pub parent_requests: usize,
    /// Of those, reads of a frame's locals (`locals`).
    pub locals_requests: usize,
    pub resumptions: Vec<ResumeMode>,
    running: bool,
}

pub struct FakeHost {
    pub state: RefCell<FakeState>,
}

/// A pending fake resumption: ready at once.
pub struct FakePending;

impl FakeHost {
    /// A paused program made of these modules (module `i` has id `i`), not yet started.
    pub fn new(modules: Vec<Vec<u8>>) -> Self {
        let memories = modules.iter().map(|_| vec![0; 65536]).collect();
        FakeHost {
            state: RefCell::new(FakeState {
                modules,
                memories,
                ..FakeState::default()
            }),
        }
    }

    /// Queues the event the next resumption ends in.
    pub fn then(&self, event: HostEvent, stack: Vec<FakeFrame>) {
        self.state.borrow_mut().script.push_back((event, stack));
    }

    fn request(&self) -> std::cell::RefMut<'_, FakeState> {
        let mut state = self.state.borrow_mut();
        assert!(
            !state.running,
            "a debuggee request while a resumption is pending (Wasmtime ends the run)"
        );
        state.requests += 1;
        state
    }
}

fn missing(what: &str) -> HostError {
    HostError(format!("no such {what}"))
}

impl Host for FakeHost {
    type Module = u32;
    type Instance = u32;
    /// Index into the stack, innermost 0.
    type Frame = usize;
    type Pending = FakePending;

    fn modules(&self) -> Vec<u32> {
        (0..self.request().modules.len() as u32).collect()
    }

    fn module_id(&self, module: &u32) -> u64 {
        u64::from(*module)
    }

    fn bytecode(&self, module: &u32) -> Vec<u8> {
        self.request()
            .modules
            .get(*module as usize)
            .cloned()
            .unwrap_or_default()
    }

    fn add_breakpoint(&self, module: &u32, pc: u32) -> Result<(), HostError> {
        let mut state = self.request();
        state.planted.insert((*module, pc));
        state.edits.push(Edit::Add(*module, pc));
        Ok(())
    }

    fn remove_breakpoint(&self, module: &u32, pc: u32) -> Result<(), HostError> {
        let mut state = self.request();
        state.planted.remove(&(*module, pc));
        state.edits.push(Edit::Remove(*module, pc));
        Ok(())
    }

    fn instances(&self) -> Vec<u32> {
        (0..self.request().modules.len() as u32).collect()
    }

    fn instance_id(&self, instance: &u32) -> u64 {
        u64::from(*instance)
    }

    fn instance_module_id(&self, instance: &u32) -> u64 {
        self.request();
        u64::from(*instance)
    }

    fn global(&self, _instance: &u32, index: u32) -> Option<Value> {
        self.request().globals.get(index as usize).cloned()
    }

    fn memory_size(&self, instance: &u32) -> Option<(u64, u64)> {
        let state = self.request();
        let memory = state.memories.get(*instance as usize)?;
        Some((memory.len() as u64, 65536))
    }

    fn read_memory(&self, instance: &u32, offset: u64, len: u64) -> Result<Vec<u8>, HostError> {
        let state = self.request();
        let memory = state
            .memories
            .get(*instance as usize)
            .ok_or(missing("memory"))?;
        let start = usize::try_from(offset).map_err(|_| missing("address"))?;
        let end = start
            .checked_add(usize::try_from(len).map_err(|_| missing("address"))?)
            .ok_or(missing("address"))?;
        memory
            .get(start..end)
            .map(<[u8]>::to_vec)
            .ok_or(missing("address"))
    }

    fn write_memory(&self, instance: &u32, offset: u64, data: &[u8]) -> Result<(), HostError> {
        let mut state = self.request();
        let memory = state
            .memories
            .get_mut(*instance as usize)
            .ok_or(missing("memory"))?;
        let start = usize::try_from(offset).map_err(|_| missing("address"))?;
        let end = start.checked_add(data.len()).ok_or(missing("address"))?;
        memory
            .get_mut(start..end)
            .ok_or(missing("address"))?
            .copy_from_slice(data);
        Ok(())
    }

    fn exit_frames(&self) -> Vec<usize> {
        if self.request().stack.is_empty() {
            Vec::new()
        } else {
            vec![0]
        }
    }

    fn parent_frame(&self, frame: &usize) -> Option<usize> {
        let mut state = self.request();
        state.parent_requests += 1;
        (frame + 1 < state.stack.len()).then_some(frame + 1)
    }

    fn frame_instance(&self, frame: &usize) -> Option<u32> {
        self.request().stack.get(*frame).map(|f| f.module)
    }

    fn frame_pc(&self, frame: &usize) -> Option<u32> {
        self.request().stack.get(*frame).map(|f| f.pc)
    }

    fn locals(&self, frame: &usize) -> Option<Vec<Value>> {
        let mut state = self.request();
        state.locals_requests += 1;
        state.stack.get(*frame).map(|f| f.locals.clone())
    }

    fn operand_stack(&self, frame: &usize) -> Option<Vec<Value>> {
        self.request().stack.get(*frame).map(|f| f.operands.clone())
    }

    fn resume(&self, mode: ResumeMode) -> FakePending {
        let mut state = self.request();
        state.resumptions.push(mode);
        state.running = true;
        FakePending
    }

    fn ready(_pending: &mut FakePending) -> impl Future<Output = ()> {
        std::future::ready(())
    }

    fn finish(&self, _pending: FakePending) -> Result<HostEvent, HostError> {
        let mut state = self.state.borrow_mut();
        state.running = false;
        state.requests += 1;
        match state.script.pop_front() {
            Some((event, stack)) => {
                state.stack = stack;
                Ok(event)
            }
            None => {
                state.stack.clear();
                Ok(HostEvent::Complete)
            }
        }
    }

    fn interrupt(&self) {
        // Allowed while running: it is how a running program is stopped.
        self.state.borrow_mut().requests += 1;
    }
}
