//! `qMemoryRegionInfo:ADDR`, which gdbstub 0.7 does not implement. LLDB's expression evaluator
//! walks the address space region by region to find room for its results; from the memory map
//! alone it finds the first region and then fails on the gap after it (an assertion in
//! `IRMemoryMap::FindSpace`), so even `watchpoint set expression -- 0x1234` could not run.
//! Answering every address, gaps included, lets such simple expressions evaluate.

use super::GdbTarget;
use crate::addr::{Location, Region, code_addr, describe_region};
use crate::packet_guard::frame;

impl GdbTarget<'_> {
    fn regions(&self) -> Vec<Region> {
        let mut regions = Vec::new();
        for (index, module) in self.debuggee.modules.iter().enumerate() {
            let index = index as u32;
            if let Ok(size) = self.debuggee.memory_size(index)
                && size > 0
            {
                regions.push((
                    Location::Memory {
                        module: index,
                        offset: 0,
                    }
                    .encode(),
                    size,
                    "rw",
                ));
            }
            if !module.bytes.is_empty() {
                regions.push((code_addr(index, 0), module.bytes.len() as u64, "rx"));
            }
        }
        regions.sort_unstable();
        regions
    }

    /// The framed reply to `qMemoryRegionInfo:<hex addr>` (`body` without `$`/`#`), or `None`
    /// if `body` is another packet.
    pub fn memory_region_reply(&self, body: &[u8]) -> Option<Vec<u8>> {
        let arg = body.strip_prefix(b"qMemoryRegionInfo:")?;
        let Some(addr) = std::str::from_utf8(arg)
            .ok()
            .and_then(|a| u64::from_str_radix(a, 16).ok())
        else {
            return Some(frame("E.malformed qMemoryRegionInfo"));
        };
        Some(frame(&describe_region(&self.regions(), addr)))
    }
}
