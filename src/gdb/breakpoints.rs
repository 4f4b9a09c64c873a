//! `Z0`/`z0`: user breakpoints. A new breakpoint on a return address of the current stack is tied
//! to that frame's activation (see `crate::breakpoints::UserBreakpoint`).

use super::GdbTarget;
use crate::addr::Location;
use crate::breakpoints::{Site, UserBreakpoint};
use crate::stepping;
use gdbstub::target::ext::breakpoints::{
    Breakpoints, HwWatchpointOps, SwBreakpoint, SwBreakpointOps,
};
use gdbstub::target::{TargetError, TargetResult};

impl Breakpoints for GdbTarget<'_> {
    fn support_sw_breakpoint(&mut self) -> Option<SwBreakpointOps<'_, Self>> {
        Some(self)
    }

    fn support_hw_watchpoint(&mut self) -> Option<HwWatchpointOps<'_, Self>> {
        Some(self)
    }
}

impl GdbTarget<'_> {
    fn code_site(&self, addr: u64) -> Option<Site> {
        match Location::decode(addr)? {
            Location::Code { module, offset } => {
                let m = self.debuggee.module(module)?;
                ((offset as usize) < m.bytes.len()).then_some(Site { module, pc: offset })
            }
            Location::Memory { .. } => None,
        }
    }
}

impl SwBreakpoint for GdbTarget<'_> {
    fn add_sw_breakpoint(&mut self, addr: u64, _kind: usize) -> TargetResult<bool, Self> {
        let Some(site) = self.code_site(addr) else {
            return Err(TargetError::NonFatal);
        };
        let only_at_depth = stepping::return_address_depth(&self.debuggee.frame_sites(), site);
        let aliases = self
            .debuggee
            .module(site.module)
            .and_then(|m| Some(m.info.as_ref()?.loop_landings_from(&m.bytes, site.pc)))
            .unwrap_or_default();
        self.breakpoints.add_user(
            site,
            UserBreakpoint {
                only_at_depth,
                aliases,
            },
        );
        self.log(1, || format!("Z0 {site:?} only_at_depth={only_at_depth:?}"));
        if self.sync_breakpoints() {
            Ok(true)
        } else {
            self.breakpoints.remove_user(site);
            self.sync_breakpoints();
            Err(TargetError::NonFatal)
        }
    }

    fn remove_sw_breakpoint(&mut self, addr: u64, _kind: usize) -> TargetResult<bool, Self> {
        let Some(site) = self.code_site(addr) else {
            return Err(TargetError::NonFatal);
        };
        self.breakpoints.remove_user(site);
        self.sync_breakpoints();
        Ok(true)
    }
}
