//! The gdbstub `Target`: protocol glue between LLDB's requests and the paused debuggee. Each RSP
//! extension area lives in its own file; this one holds the target state, registers, memory and
//! threads.

mod binary_read;
mod breakpoints;
mod info;
mod libraries;
mod memory_regions;
mod monitor;
mod resume;
mod wasm;
mod watchpoints;

use crate::addr::{self, Location};
use crate::debugger::{Debugger, Refusal};
use crate::execution::ResumeRequest;
use crate::host::Host;
use gdbstub::arch::lldb::{Encoding, Format, Generic, Register};
use gdbstub::common::Tid;
use gdbstub::target::ext::base::BaseOps;
use gdbstub::target::ext::base::multithread::{MultiThreadBase, MultiThreadResumeOps};
use gdbstub::target::ext::base::single_register_access::{
    SingleRegisterAccess, SingleRegisterAccessOps,
};
use gdbstub::target::ext::breakpoints::BreakpointsOps;
use gdbstub::target::ext::host_info::HostInfoOps;
use gdbstub::target::ext::libraries::LibrariesOps;
use gdbstub::target::ext::lldb_register_info_override::{
    Callback, CallbackToken, LldbRegisterInfoOverride, LldbRegisterInfoOverrideOps,
};
use gdbstub::target::ext::memory_map::MemoryMapOps;
use gdbstub::target::ext::monitor_cmd::MonitorCmdOps;
use gdbstub::target::ext::process_info::ProcessInfoOps;
use gdbstub::target::ext::wasm::WasmOps;
use gdbstub::target::{Target, TargetError, TargetResult};
use gdbstub_arch::wasm::reg::WasmRegisters;
use gdbstub_arch::wasm::reg::id::WasmRegId;

/// The only thread: a Wasmtime store runs one thread of Wasm.
pub const THREAD: Tid = match Tid::new(1) {
    Some(tid) => tid,
    None => unreachable!(),
};

/// gdbstub's fatal error type. Never built: nothing a client sends, and nothing the debuggee
/// does, ends a session through gdbstub; sessions end by disconnect, detach, kill or exit.
#[derive(Debug)]
pub enum Fatal {}

impl std::fmt::Display for Fatal {
    fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {}
    }
}

/// Settings of the whole run the protocol layer needs.
#[derive(Clone, Debug, Default)]
pub struct ProtocolOptions {
    /// `--program`: the name the library list gives a single-module program.
    pub program: Option<String>,
}

/// One client's view of the debugger: the core it drives, plus what this client alone has asked
/// for. A new client starts with a fresh one.
pub struct GdbTarget<'c, H: Host> {
    pub core: &'c mut Debugger<H>,
    /// What the last resume packet asked for; the session acts on it.
    pub resume_request: Option<ResumeRequest>,
    /// Why the last request gdbstub answers with an error was refused; the session turns the
    /// error reply into `E.<text>`.
    pub refusal: Option<Refusal>,
    options: ProtocolOptions,
}

impl<'c, H: Host> GdbTarget<'c, H> {
    pub fn new(core: &'c mut Debugger<H>, options: ProtocolOptions) -> Self {
        GdbTarget {
            core,
            resume_request: None,
            refusal: None,
            options,
        }
    }

    /// Records why a request failed and gives gdbstub its error.
    fn refuse<T>(&mut self, why: impl Into<Refusal>) -> TargetResult<T, Self> {
        let why = why.into();
        log::debug!("refused: {why}");
        self.refusal = Some(why);
        Err(TargetError::NonFatal)
    }
}

impl<H: Host> Target for GdbTarget<'_, H> {
    type Arch = gdbstub_arch::wasm::Wasm;
    type Error = Fatal;

    fn base_ops(&mut self) -> BaseOps<'_, Self::Arch, Self::Error> {
        BaseOps::MultiThread(self)
    }

    // Wasm has no instruction to patch: every breakpoint goes through Wasmtime.
    fn guard_rail_implicit_sw_breakpoints(&self) -> bool {
        true
    }

    fn use_lldb_register_info(&self) -> bool {
        true
    }

    fn support_lldb_register_info_override(
        &mut self,
    ) -> Option<LldbRegisterInfoOverrideOps<'_, Self>> {
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

impl<H: Host> MultiThreadBase for GdbTarget<'_, H> {
    fn read_registers(&mut self, regs: &mut WasmRegisters, _tid: Tid) -> TargetResult<(), Self> {
        regs.pc = self.core.reported_pc();
        Ok(())
    }

    fn write_registers(&mut self, _regs: &WasmRegisters, _tid: Tid) -> TargetResult<(), Self> {
        self.refuse(Refusal::new("wasmtime cannot change a frame's pc"))
    }

    fn read_addrs(&mut self, start: u64, data: &mut [u8], _tid: Tid) -> TargetResult<usize, Self> {
        match Location::decode(start) {
            Some(Location::Code(site)) => {
                let Some(module) = self.core.debuggee.module(site.module) else {
                    return self.refuse(Refusal::new(format!("no module {}", site.module)));
                };
                let Some(range) = addr::clamp_read(site.pc, data.len(), module.bytes.len()) else {
                    return self.refuse(Refusal::new(format!(
                        "{start:#x} is past the end of {}",
                        module.name
                    )));
                };
                let n = range.len();
                data[..n].copy_from_slice(&module.bytes[range]);
                Ok(n)
            }
            Some(Location::Memory { module, offset }) => {
                match self.core.read_memory(module, u64::from(offset), data.len()) {
                    Ok(bytes) => {
                        let n = bytes.len().min(data.len());
                        data[..n].copy_from_slice(&bytes[..n]);
                        Ok(n)
                    }
                    Err(why) => self.refuse(why),
                }
            }
            None => self.refuse(Refusal::new(format!("{start:#x} is not a Wasm address"))),
        }
    }

    fn write_addrs(&mut self, start: u64, data: &[u8], _tid: Tid) -> TargetResult<(), Self> {
        match Location::decode(start) {
            Some(Location::Code(_)) => self.refuse(Refusal::new("module bytecode is read-only")),
            Some(Location::Memory { module, offset }) => {
                match self.core.write_memory(module, u64::from(offset), data) {
                    Ok(()) => Ok(()),
                    Err(why) => self.refuse(why),
                }
            }
            None => self.refuse(Refusal::new(format!("{start:#x} is not a Wasm address"))),
        }
    }

    fn list_active_threads(
        &mut self,
        thread_is_active: &mut dyn FnMut(Tid),
    ) -> Result<(), Self::Error> {
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

impl<H: Host> SingleRegisterAccess<Tid> for GdbTarget<'_, H> {
    fn read_register(
        &mut self,
        _tid: Tid,
        reg: WasmRegId,
        buf: &mut [u8],
    ) -> TargetResult<usize, Self> {
        match reg {
            WasmRegId::Pc => {
                let bytes = self.core.reported_pc().to_le_bytes();
                let n = bytes.len().min(buf.len());
                buf[..n].copy_from_slice(&bytes[..n]);
                Ok(n)
            }
            _ => self.refuse(Refusal::new("no such register")),
        }
    }

    fn write_register(
        &mut self,
        _tid: Tid,
        _reg: WasmRegId,
        _val: &[u8],
    ) -> TargetResult<(), Self> {
        self.refuse(Refusal::new("wasmtime cannot change a frame's pc"))
    }
}

impl<H: Host> LldbRegisterInfoOverride for GdbTarget<'_, H> {
    fn lldb_register_info<'a>(
        &mut self,
        reg_id: usize,
        reg_info: Callback<'a>,
    ) -> Result<CallbackToken<'a>, Self::Error> {
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

/// Copies the window `[offset, offset+length)` of a generated document into `buf` (qXfer reads).
fn copy_window(doc: &[u8], offset: u64, length: usize, buf: &mut [u8]) -> usize {
    let Ok(start) = usize::try_from(offset) else {
        return 0;
    };
    let Some(rest) = doc.get(start..) else {
        return 0;
    };
    let n = rest.len().min(length).min(buf.len());
    buf[..n].copy_from_slice(&rest[..n]);
    n
}
