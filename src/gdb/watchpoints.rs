//! `Z2`/`Z3`/`Z4` (write, read, access watchpoints) on linear memory. While any is set, every
//! instruction of the watched module that may make a matching access carries a breakpoint; the
//! execution layer checks each hit against the watched ranges.

use super::GdbTarget;
use crate::addr::Location;
use crate::breakpoints::Site;
use crate::watchpoints::{WatchKind, Watchpoint};
use gdbstub::target::ext::breakpoints::{HwWatchpoint, WatchKind as GdbWatchKind};
use gdbstub::target::{TargetError, TargetResult};
use std::collections::BTreeSet;

fn kind(kind: GdbWatchKind) -> WatchKind {
    match kind {
        GdbWatchKind::Write => WatchKind::Write,
        GdbWatchKind::Read => WatchKind::Read,
        GdbWatchKind::ReadWrite => WatchKind::ReadWrite,
    }
}

impl GdbTarget<'_> {
    fn watchpoint(addr: u64, len: u64, watch: GdbWatchKind) -> Option<Watchpoint> {
        match Location::decode(addr)? {
            Location::Memory { module, offset } if len > 0 => Some(Watchpoint {
                module,
                start: u64::from(offset),
                len,
                kind: kind(watch),
            }),
            _ => None,
        }
    }

    /// Recomputes which instructions need a breakpoint for the current watchpoints.
    fn refresh_watch_sites(&mut self) {
        let mut sites = BTreeSet::new();
        self.watch_accesses.clear();
        for module in self.watchpoints.modules() {
            let Some(m) = self.debuggee.module(module) else {
                continue;
            };
            let Some(info) = m.info.as_ref() else {
                continue;
            };
            for func in info.num_imported_funcs()..info.num_funcs() {
                let Ok(accesses) = info.memory_accesses(&m.bytes, func) else {
                    continue;
                };
                for (pc, access) in accesses {
                    if self.watchpoints.wants(module, &access) {
                        sites.insert(Site { module, pc });
                        self.watch_accesses.insert(Site { module, pc }, access);
                    }
                }
            }
        }
        self.breakpoints.set_watch_sites(sites);
        self.sync_breakpoints();
    }

    /// The watchpoint the instruction at `site`, about to run in the innermost frame, triggers.
    pub fn watch_hit(&self, site: Site) -> Option<Watchpoint> {
        // Decoded once when the watch sites were chosen: a watched loop hits this on every access.
        let access = *self.watch_accesses.get(&site)?;
        let stack: Vec<u64> = self
            .debuggee
            .operand_stack(0)?
            .iter()
            .map(|v| match v.get_type() {
                crate::host::WasmType::WasmI32 => u64::from(v.unwrap_i32()),
                crate::host::WasmType::WasmI64 => v.unwrap_i64(),
                _ => 0,
            })
            .collect();
        self.watchpoints.hit(site.module, &access, &stack)
    }
}

impl HwWatchpoint for GdbTarget<'_> {
    fn add_hw_watchpoint(
        &mut self,
        addr: u64,
        len: u64,
        watch: GdbWatchKind,
    ) -> TargetResult<bool, Self> {
        let Some(w) = Self::watchpoint(addr, len, watch) else {
            return Err(TargetError::NonFatal);
        };
        self.watchpoints.add(w);
        self.refresh_watch_sites();
        Ok(true)
    }

    fn remove_hw_watchpoint(
        &mut self,
        addr: u64,
        len: u64,
        watch: GdbWatchKind,
    ) -> TargetResult<bool, Self> {
        let Some(w) = Self::watchpoint(addr, len, watch) else {
            return Err(TargetError::NonFatal);
        };
        self.watchpoints.remove(&w);
        self.refresh_watch_sites();
        Ok(true)
    }
}
