//! `qMemoryRegionInfo:ADDR`, which gdbstub 0.7 does not implement. LLDB's expression evaluator
//! walks the address space region by region to find room for its results; from the memory map
//! alone it finds the first region and then fails on the gap after it (an assertion in
//! `IRMemoryMap::FindSpace`), so even `watchpoint set expression -- 0x1234` could not run.
//! Answering every address, gaps included, lets such simple expressions evaluate.

use super::GdbTarget;
use crate::addr::{Location, Region, code_addr, describe_region};
use crate::host::Host;
use crate::rsp::frame;

impl<H: Host> GdbTarget<'_, H> {
    fn regions(&self) -> Vec<Region> {
        let mut regions = Vec::new();
        for (index, module) in self.core.debuggee.modules.iter().enumerate() {
            let index = index as u32;
            if let Ok(size) = self.core.debuggee.memory_size(index)
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

    /// The framed reply to `qMemoryRegionInfo:<addr>`.
    pub fn memory_region_reply(&self, addr: u64) -> Vec<u8> {
        frame(&describe_region(&self.regions(), addr))
    }
}
