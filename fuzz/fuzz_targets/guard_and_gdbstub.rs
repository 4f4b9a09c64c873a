//! Fuzz target: the path socket bytes take in the component, packet guard then gdbstub 0.7's state
//! machine, with a stand-in target that supports the same protocol extensions as the real one
//! (`src/gdb/`, which only builds for wasm32). A panic anywhere on this path would abort the
//! whole Wasmtime process; gdbstub promises to be panic-free, and this checks that promise for
//! what a hostile client can send, including how the session rebuilds gdbstub after a packet it
//! rejects.
#![no_main]

use gdbstub::arch::lldb::{Encoding, Format, Generic, Register};
use gdbstub::common::{Pid, Signal, Tid};
use gdbstub::conn::Connection;
use gdbstub::stub::state_machine::GdbStubStateMachine;
use gdbstub::stub::{GdbStub, MultiThreadStopReason};
use gdbstub::target::ext::base::BaseOps;
use gdbstub::target::ext::base::multithread::{
    MultiThreadBase, MultiThreadResume, MultiThreadResumeOps, MultiThreadSingleStep, MultiThreadSingleStepOps,
};
use gdbstub::target::ext::base::single_register_access::{SingleRegisterAccess, SingleRegisterAccessOps};
use gdbstub::target::ext::breakpoints::{Breakpoints, BreakpointsOps, SwBreakpoint, SwBreakpointOps};
use gdbstub::target::ext::host_info::{HostInfo, HostInfoOps, HostInfoResponse};
use gdbstub::target::ext::libraries::{Libraries, LibrariesOps};
use gdbstub::target::ext::lldb_register_info_override::{
    Callback, CallbackToken, LldbRegisterInfoOverride, LldbRegisterInfoOverrideOps,
};
use gdbstub::target::ext::memory_map::{MemoryMap, MemoryMapOps};
use gdbstub::target::ext::monitor_cmd::{ConsoleOutput, MonitorCmd, MonitorCmdOps};
use gdbstub::target::ext::process_info::{ProcessInfo, ProcessInfoOps, ProcessInfoResponse};
use gdbstub::target::ext::wasm::{Wasm, WasmOps};
use gdbstub::target::{Target, TargetError, TargetResult};
use gdbstub_arch::wasm::reg::WasmRegisters;
use gdbstub_arch::wasm::reg::id::WasmRegId;
use libfuzzer_sys::fuzz_target;
use wasm_gdbstub::addr::{Location, clamp_read, exact_range};
use wasm_gdbstub::monitor_text;
use wasm_gdbstub::packet_guard::{Action, Guard};

const THREAD: Tid = match Tid::new(1) {
    Some(t) => t,
    None => unreachable!(),
};
/// Smaller than the component's 1 MiB so oversized packets are cheap to produce.
const BUFFER: usize = 4096;

#[derive(Default)]
struct Wire(Vec<u8>);

impl Connection for Wire {
    type Error = std::convert::Infallible;
    fn write(&mut self, byte: u8) -> Result<(), Self::Error> {
        self.0.push(byte);
        Ok(())
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// A stopped program with one module of code, one linear memory, a few locals and globals.
struct Stand {
    code: Vec<u8>,
    memory: Vec<u8>,
    breakpoints: Vec<u64>,
    resume: bool,
}

impl Stand {
    fn read(&self, start: u64, data: &mut [u8]) -> Option<usize> {
        match Location::decode(start)? {
            Location::Code { module: 0, offset } => {
                let range = clamp_read(offset, data.len(), self.code.len())?;
                let n = range.len();
                data[..n].copy_from_slice(&self.code[range]);
                Some(n)
            }
            Location::Memory { module: 0, offset } => {
                let range = exact_range(u64::from(offset), data.len(), self.memory.len() as u64)?;
                data.copy_from_slice(&self.memory[range.start as usize..range.end as usize]);
                Some(data.len())
            }
            _ => None,
        }
    }
}

impl Target for Stand {
    type Arch = gdbstub_arch::wasm::Wasm;
    type Error = ();
    fn base_ops(&mut self) -> BaseOps<'_, Self::Arch, Self::Error> {
        BaseOps::MultiThread(self)
    }
    fn guard_rail_implicit_sw_breakpoints(&self) -> bool {
        true
    }
    fn use_lldb_register_info(&self) -> bool {
        true
    }
    fn support_lldb_register_info_override(&mut self) -> Option<LldbRegisterInfoOverrideOps<'_, Self>> {
        Some(self)
    }
    fn support_breakpoints(&mut self) -> Option<BreakpointsOps<'_, Self>> {
        Some(self)
    }
    fn support_wasm(&mut self) -> Option<WasmOps<'_, Self>> {
        Some(self)
    }
    fn support_libraries(&mut self) -> Option<LibrariesOps<'_, Self>> {
        Some(self)
    }
    fn support_memory_map(&mut self) -> Option<MemoryMapOps<'_, Self>> {
        Some(self)
    }
    fn support_host_info(&mut self) -> Option<HostInfoOps<'_, Self>> {
        Some(self)
    }
    fn support_process_info(&mut self) -> Option<ProcessInfoOps<'_, Self>> {
        Some(self)
    }
    fn support_monitor_cmd(&mut self) -> Option<MonitorCmdOps<'_, Self>> {
        Some(self)
    }
}

impl MultiThreadBase for Stand {
    fn read_registers(&mut self, regs: &mut WasmRegisters, _tid: Tid) -> TargetResult<(), Self> {
        regs.pc = 0x4000_0000_0000_0010;
        Ok(())
    }
    fn write_registers(&mut self, _regs: &WasmRegisters, _tid: Tid) -> TargetResult<(), Self> {
        Err(TargetError::NonFatal)
    }
    fn read_addrs(&mut self, start: u64, data: &mut [u8], _tid: Tid) -> TargetResult<usize, Self> {
        self.read(start, data).ok_or(TargetError::NonFatal)
    }
    fn write_addrs(&mut self, start: u64, data: &[u8], _tid: Tid) -> TargetResult<(), Self> {
        match Location::decode(start).ok_or(TargetError::NonFatal)? {
            Location::Memory { module: 0, offset } => {
                let range = exact_range(u64::from(offset), data.len(), self.memory.len() as u64)
                    .ok_or(TargetError::NonFatal)?;
                self.memory[range.start as usize..range.end as usize].copy_from_slice(data);
                Ok(())
            }
            _ => Err(TargetError::NonFatal),
        }
    }
    fn list_active_threads(&mut self, thread_is_active: &mut dyn FnMut(Tid)) -> Result<(), Self::Error> {
        thread_is_active(THREAD);
        Ok(())
    }
    fn support_single_register_access(&mut self) -> Option<SingleRegisterAccessOps<'_, Tid, Self>> {
        Some(self)
    }
    fn support_resume(&mut self) -> Option<MultiThreadResumeOps<'_, Self>> {
        Some(self)
    }
}

impl SingleRegisterAccess<Tid> for Stand {
    fn read_register(&mut self, _tid: Tid, reg: WasmRegId, buf: &mut [u8]) -> TargetResult<usize, Self> {
        match reg {
            WasmRegId::Pc => {
                let bytes = 0x4000_0000_0000_0010u64.to_le_bytes();
                let n = bytes.len().min(buf.len());
                buf[..n].copy_from_slice(&bytes[..n]);
                Ok(n)
            }
            _ => Err(TargetError::NonFatal),
        }
    }
    fn write_register(&mut self, _tid: Tid, _reg: WasmRegId, _val: &[u8]) -> TargetResult<(), Self> {
        Err(TargetError::NonFatal)
    }
}

impl MultiThreadResume for Stand {
    fn resume(&mut self) -> Result<(), Self::Error> {
        self.resume = true;
        Ok(())
    }
    fn clear_resume_actions(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
    fn set_resume_action_continue(&mut self, _tid: Tid, _signal: Option<Signal>) -> Result<(), Self::Error> {
        Ok(())
    }
    fn support_single_step(&mut self) -> Option<MultiThreadSingleStepOps<'_, Self>> {
        Some(self)
    }
}

impl MultiThreadSingleStep for Stand {
    fn set_resume_action_step(&mut self, _tid: Tid, _signal: Option<Signal>) -> Result<(), Self::Error> {
        Ok(())
    }
}

impl Breakpoints for Stand {
    fn support_sw_breakpoint(&mut self) -> Option<SwBreakpointOps<'_, Self>> {
        Some(self)
    }
}

impl SwBreakpoint for Stand {
    fn add_sw_breakpoint(&mut self, addr: u64, _kind: usize) -> TargetResult<bool, Self> {
        match Location::decode(addr) {
            Some(Location::Code { module: 0, offset }) if (offset as usize) < self.code.len() => {
                if self.breakpoints.len() < 64 {
                    self.breakpoints.push(addr);
                }
                Ok(true)
            }
            _ => Err(TargetError::NonFatal),
        }
    }
    fn remove_sw_breakpoint(&mut self, addr: u64, _kind: usize) -> TargetResult<bool, Self> {
        self.breakpoints.retain(|&a| a != addr);
        Ok(true)
    }
}

impl Wasm for Stand {
    fn wasm_call_stack(&self, _tid: Tid, next_pc: &mut dyn FnMut(u64)) -> Result<(), Self::Error> {
        next_pc(0x4000_0000_0000_0010);
        next_pc(0x4000_0000_0000_0020);
        Ok(())
    }
    fn read_wasm_local(&self, _tid: Tid, frame: usize, local: usize, buf: &mut [u8]) -> Result<usize, Self::Error> {
        Ok(put(frame < 2 && local < 3, buf))
    }
    fn read_wasm_stack(&self, _tid: Tid, frame: usize, index: usize, buf: &mut [u8]) -> Result<usize, Self::Error> {
        Ok(put(frame < 2 && index.checked_add(1).is_some_and(|i| i <= 2), buf))
    }
    fn read_wasm_global(&self, _tid: Tid, frame: usize, global: usize, buf: &mut [u8]) -> Result<usize, Self::Error> {
        Ok(put(frame < 2 && global < 2, buf))
    }
}

fn put(exists: bool, buf: &mut [u8]) -> usize {
    match (exists, buf.get_mut(..4)) {
        (true, Some(dst)) => {
            dst.copy_from_slice(&7u32.to_le_bytes());
            4
        }
        _ => 0,
    }
}

fn copy_window(doc: &[u8], offset: u64, length: usize, buf: &mut [u8]) -> usize {
    let Ok(start) = usize::try_from(offset) else { return 0 };
    let Some(rest) = doc.get(start..) else { return 0 };
    let n = rest.len().min(length).min(buf.len());
    buf[..n].copy_from_slice(&rest[..n]);
    n
}

impl Libraries for Stand {
    fn get_libraries(&self, offset: u64, length: usize, buf: &mut [u8]) -> TargetResult<usize, Self> {
        let doc = b"<library-list><library name=\"m.wasm\"><section address=\"0x4000000000000000\"/></library></library-list>";
        Ok(copy_window(doc, offset, length, buf))
    }
}

impl MemoryMap for Stand {
    fn memory_map_xml(&self, offset: u64, length: usize, buf: &mut [u8]) -> TargetResult<usize, Self> {
        Ok(copy_window(b"<memory-map><memory type=\"ram\" start=\"0x0\" length=\"0x100\"/></memory-map>", offset, length, buf))
    }
}

impl HostInfo for Stand {
    fn host_info(&self, write_item: &mut dyn FnMut(&HostInfoResponse<'_>)) -> Result<(), Self::Error> {
        write_item(&HostInfoResponse::Triple("wasm32-unknown-unknown-wasm"));
        Ok(())
    }
}

impl ProcessInfo for Stand {
    fn process_info(&self, write_item: &mut dyn FnMut(&ProcessInfoResponse<'_>)) -> Result<(), Self::Error> {
        if let Some(pid) = Pid::new(1) {
            write_item(&ProcessInfoResponse::Pid(pid));
        }
        Ok(())
    }
}

impl MonitorCmd for Stand {
    fn handle_monitor_cmd(&mut self, cmd: &[u8], mut out: ConsoleOutput<'_>) -> Result<(), Self::Error> {
        let text = match monitor_text::parse(cmd) {
            Ok(command) => format!("{command:?}\n"),
            Err(usage) => usage,
        };
        gdbstub::output!(out, "{text}");
        Ok(())
    }
}

impl LldbRegisterInfoOverride for Stand {
    fn lldb_register_info<'a>(&mut self, reg_id: usize, reg_info: Callback<'a>) -> Result<CallbackToken<'a>, Self::Error> {
        Ok(match reg_id {
            0 => reg_info.write(Register {
                name: "pc",
                alt_name: Some("pc"),
                bitsize: 64,
                offset: 0,
                encoding: Encoding::Uint,
                format: Format::Hex,
                set: "General Purpose Registers",
                gcc: Some(16),
                dwarf: Some(16),
                generic: Some(Generic::Pc),
                container_regs: None,
                invalidate_regs: None,
            }),
            _ => reg_info.done(),
        })
    }
}

type Machine<'a> = GdbStubStateMachine<'a, Stand, Wire>;

fn fresh<'a>(stand: &mut Stand) -> Machine<'a> {
    let stub = GdbStub::builder(Wire::default()).packet_buffer_size(BUFFER).build().expect("builder");
    stub.run_state_machine(stand).expect("state machine")
}

/// One byte into gdbstub, as `session::feed` does it; `None` when gdbstub gave up on the packet.
fn step<'a>(machine: Machine<'a>, stand: &mut Stand, byte: u8) -> Option<Machine<'a>> {
    let mut machine = match machine {
        GdbStubStateMachine::CtrlCInterrupt(inner) => {
            inner.interrupt_handled(stand, None::<MultiThreadStopReason<u64>>).ok()?
        }
        other => other,
    };
    machine = match machine {
        GdbStubStateMachine::Idle(inner) => inner.incoming_data(stand, byte).ok()?,
        GdbStubStateMachine::Running(inner) => inner.incoming_data(stand, byte).ok()?,
        other => other,
    };
    // The program "runs" until the next breakpoint at once: report a stop whenever resumed.
    if let GdbStubStateMachine::Running(inner) = machine {
        if std::mem::take(&mut stand.resume) {
            machine = inner.report_stop(stand, MultiThreadStopReason::SwBreak(THREAD)).ok()?;
        } else {
            machine = GdbStubStateMachine::Running(inner);
        }
    }
    Some(machine)
}

fuzz_target!(|data: &[u8]| {
    let Some((&split, rest)) = data.split_first() else { return };
    let mut stand = Stand { code: (0..=255u8).collect(), memory: vec![0; 256], breakpoints: Vec::new(), resume: false };
    let mut guard = Guard::new(BUFFER, (BUFFER / 2) as u64);
    let mut machine = Some(fresh(&mut stand));
    // Socket reads of varying size, as the component gets them.
    for chunk in rest.chunks(usize::from(split % 64) + 1) {
        for action in guard.push(chunk) {
            let Action::Pass(bytes) = action else { continue };
            for byte in bytes {
                let Some(m) = machine.take() else { break };
                machine = match m {
                    GdbStubStateMachine::Disconnected(_) => None,
                    m => Some(step(m, &mut stand, byte).unwrap_or_else(|| fresh(&mut stand))),
                };
            }
        }
        if machine.is_none() {
            // Detached or killed: the next client gets a fresh stub.
            machine = Some(fresh(&mut stand));
        }
    }
});
