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
use crate::breakpoints::{Breakpoints, Site};
use crate::debuggee::Debuggee;
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

pub use resume::ResumeRequest;

/// The only thread: a Wasmtime store runs one thread of Wasm.
pub const THREAD: Tid = match Tid::new(1) {
    Some(tid) => tid,
    None => unreachable!(),
};

/// A failure that ends the session (never one caused by packet contents).
#[derive(Debug)]
pub struct Fatal(pub String);

impl std::fmt::Display for Fatal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

pub struct GdbTarget<'d> {
    pub debuggee: Debuggee<'d>,
    pub breakpoints: Breakpoints,
    pub watchpoints: crate::watchpoints::Watchpoints,
    /// The memory access of each instruction that carries a watch breakpoint.
    watch_accesses:
        std::collections::HashMap<crate::breakpoints::Site, crate::memory_access::Access>,
    /// What the last resume packet asked for; the session loop acts on it.
    pub resume_request: Option<ResumeRequest>,
    pub verbose: u8,
}

impl<'d> GdbTarget<'d> {
    pub fn new(debuggee: Debuggee<'d>, verbose: u8) -> Self {
        GdbTarget {
            debuggee,
            breakpoints: Breakpoints::default(),
            watchpoints: Default::default(),
            watch_accesses: Default::default(),
            resume_request: None,
            verbose,
        }
    }

    /// The address LLDB is shown for a frame at `pc` of `module`: where a user breakpoint LLDB
    /// planted stands for this pc, that breakpoint's address, so LLDB recognises its hit;
    /// otherwise [`Debuggee::shown_pc`].
    pub fn frame_addr(&self, module: u32, pc: u32) -> u64 {
        let site = Site { module, pc };
        if self.breakpoints.has_user(site) {
            return addr::code_addr(module, pc);
        }
        if let Some(user) = self.breakpoints.user_alias_of(site) {
            return addr::code_addr(module, user.pc);
        }
        addr::code_addr(module, self.debuggee.shown_pc(module, pc))
    }

    /// The innermost frame's pc as LLDB is shown it (see [`GdbTarget::frame_addr`]).
    pub fn reported_pc(&self) -> u64 {
        match self.debuggee.stack.first() {
            Some(f) => self.frame_addr(f.module, f.pc),
            None => self
                .debuggee
                .entry_site()
                .map_or(0, |s| self.frame_addr(s.module, s.pc)),
        }
    }

    /// The protocol PC of the innermost frame; before any guest code has run, where the program
    /// will begin.
    pub fn current_pc(&self) -> u64 {
        match self.debuggee.stack.first() {
            Some(f) => addr::code_addr(f.module, f.pc),
            None => self
                .debuggee
                .entry_site()
                .map_or(0, |s| addr::code_addr(s.module, s.pc)),
        }
    }

    /// Applies pending breakpoint changes to Wasmtime. A site Wasmtime refuses is dropped from the
    /// planted set so a later sync retries it; the refusal is returned for the caller's reply.
    ///
    /// While the debuggee runs nothing is applied (Wasmtime ends the whole run if its debuggee
    /// interface is used while a resumption is pending): the wanted set is kept and applied by
    /// the next call, which `Execution` makes before every resumption.
    pub fn sync_breakpoints(&mut self) -> bool {
        if self.debuggee.is_resumed() {
            return true;
        }
        let edits = self.breakpoints.sync();
        let mut ok = true;
        for site in edits.remove {
            let _ = self.debuggee.remove_breakpoint(site.module, site.pc);
        }
        for site in edits.add {
            if self.debuggee.add_breakpoint(site.module, site.pc).is_err() {
                self.breakpoints.planting_failed(site);
                ok = false;
            }
        }
        ok
    }

    pub fn log(&self, level: u8, message: impl FnOnce() -> String) {
        if self.verbose >= level {
            eprintln!("[wasm-gdbstub] {}", message());
        }
    }
}

impl Target for GdbTarget<'_> {
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

impl MultiThreadBase for GdbTarget<'_> {
    fn read_registers(&mut self, regs: &mut WasmRegisters, _tid: Tid) -> TargetResult<(), Self> {
        regs.pc = self.reported_pc();
        Ok(())
    }

    fn write_registers(&mut self, _regs: &WasmRegisters, _tid: Tid) -> TargetResult<(), Self> {
        // Wasmtime cannot move a frame's pc.
        Err(TargetError::NonFatal)
    }

    fn read_addrs(&mut self, start: u64, data: &mut [u8], _tid: Tid) -> TargetResult<usize, Self> {
        match Location::decode(start).ok_or(TargetError::NonFatal)? {
            Location::Code { module, offset } => {
                let module = self.debuggee.module(module).ok_or(TargetError::NonFatal)?;
                let range = addr::clamp_read(offset, data.len(), module.bytes.len())
                    .ok_or(TargetError::NonFatal)?;
                let n = range.len();
                data[..n].copy_from_slice(&module.bytes[range]);
                Ok(n)
            }
            Location::Memory { module, offset } => {
                let bytes = self
                    .debuggee
                    .read_memory(module, u64::from(offset), data.len())
                    .map_err(|_| TargetError::NonFatal)?;
                let n = bytes.len().min(data.len());
                data[..n].copy_from_slice(&bytes[..n]);
                Ok(n)
            }
        }
    }

    fn write_addrs(&mut self, start: u64, data: &[u8], _tid: Tid) -> TargetResult<(), Self> {
        match Location::decode(start).ok_or(TargetError::NonFatal)? {
            // Module bytecode is what LLDB reads symbols from; it is not writable.
            Location::Code { .. } => Err(TargetError::NonFatal),
            Location::Memory { module, offset } => self
                .debuggee
                .write_memory(module, u64::from(offset), data)
                .map_err(|_| TargetError::NonFatal),
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

impl SingleRegisterAccess<Tid> for GdbTarget<'_> {
    fn read_register(
        &mut self,
        _tid: Tid,
        reg: WasmRegId,
        buf: &mut [u8],
    ) -> TargetResult<usize, Self> {
        match reg {
            WasmRegId::Pc => {
                let bytes = self.reported_pc().to_le_bytes();
                let n = bytes.len().min(buf.len());
                buf[..n].copy_from_slice(&bytes[..n]);
                Ok(n)
            }
            _ => Err(TargetError::NonFatal),
        }
    }

    fn write_register(
        &mut self,
        _tid: Tid,
        _reg: WasmRegId,
        _val: &[u8],
    ) -> TargetResult<(), Self> {
        Err(TargetError::NonFatal)
    }
}

impl LldbRegisterInfoOverride for GdbTarget<'_> {
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
