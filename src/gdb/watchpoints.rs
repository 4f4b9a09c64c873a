//! `Z2`/`Z3`/`Z4` (write, read, access watchpoints) on linear memory, handed to the core, which
//! plants a breakpoint on every instruction that may make a matching access and checks each hit
//! against the watched ranges.

use super::GdbTarget;
use crate::addr::Location;
use crate::debugger::Refusal;
use crate::host::Host;
use crate::watchpoints::{WatchKind, Watchpoint};
use gdbstub::target::TargetResult;
use gdbstub::target::ext::breakpoints::{HwWatchpoint, WatchKind as GdbWatchKind};

fn kind(kind: GdbWatchKind) -> WatchKind {
    match kind {
        GdbWatchKind::Write => WatchKind::Write,
        GdbWatchKind::Read => WatchKind::Read,
        GdbWatchKind::ReadWrite => WatchKind::ReadWrite,
    }
}

/// The watchpoint a packet names, or why it names none.
fn watchpoint(addr: u64, len: u64, watch: GdbWatchKind) -> Result<Watchpoint, Refusal> {
    match Location::decode(addr) {
        Some(Location::Memory { module, offset }) if len > 0 => Ok(Watchpoint {
            module,
            start: u64::from(offset),
            len,
            kind: kind(watch),
        }),
        Some(Location::Memory { .. }) => Err(Refusal::new("a watchpoint needs a length")),
        _ => Err(Refusal::new(format!(
            "{addr:#x} is not in linear memory: only memory can be watched"
        ))),
    }
}

impl<H: Host> HwWatchpoint for GdbTarget<'_, H> {
    fn add_hw_watchpoint(
        &mut self,
        addr: u64,
        len: u64,
        watch: GdbWatchKind,
    ) -> TargetResult<bool, Self> {
        match watchpoint(addr, len, watch).and_then(|w| self.core.add_watchpoint(w)) {
            Ok(()) => Ok(true),
            Err(why) => {
                // LLDB shows a refused watchpoint as "Setting one of the watchpoint resources
                // failed", without the reason the reply carries; the console says it.
                log::warn!("watchpoint at {addr:#x} refused: {why}");
                self.refuse(why)
            }
        }
    }

    fn remove_hw_watchpoint(
        &mut self,
        addr: u64,
        len: u64,
        watch: GdbWatchKind,
    ) -> TargetResult<bool, Self> {
        match watchpoint(addr, len, watch) {
            Ok(w) => {
                self.core.remove_watchpoint(&w);
                Ok(true)
            }
            Err(why) => self.refuse(why),
        }
    }
}
