//! `Z0`/`z0`: user breakpoints, handed to the core (`crate::debugger`), which ties a breakpoint on
//! a return address to its activation and plants it when the program resumes.

use super::GdbTarget;
use crate::host::Host;
use gdbstub::target::TargetResult;
use gdbstub::target::ext::breakpoints::{
    Breakpoints, HwWatchpointOps, SwBreakpoint, SwBreakpointOps,
};

impl<H: Host> Breakpoints for GdbTarget<'_, H> {
    fn support_sw_breakpoint(&mut self) -> Option<SwBreakpointOps<'_, Self>> {
        Some(self)
    }

    fn support_hw_watchpoint(&mut self) -> Option<HwWatchpointOps<'_, Self>> {
        Some(self)
    }
}

impl<H: Host> SwBreakpoint for GdbTarget<'_, H> {
    fn add_sw_breakpoint(&mut self, addr: u64, _kind: usize) -> TargetResult<bool, Self> {
        match self.core.add_breakpoint(addr) {
            Ok(()) => Ok(true),
            Err(why) => self.refuse(why),
        }
    }

    fn remove_sw_breakpoint(&mut self, addr: u64, _kind: usize) -> TargetResult<bool, Self> {
        match self.core.remove_breakpoint(addr) {
            Ok(()) => Ok(true),
            Err(why) => self.refuse(why),
        }
    }
}
