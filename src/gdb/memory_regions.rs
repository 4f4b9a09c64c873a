//! `qMemoryRegionInfo:ADDR`, which gdbstub 0.7 does not implement. LLDB's expression evaluator
//! walks the address space region by region to find room for its results; from the memory map
//! alone it finds the first region and then fails on the gap after it (an assertion in
//! `IRMemoryMap::FindSpace`), so even `watchpoint set expression -- 0x1234` could not run.
//! Answering every address, gaps included, lets such simple expressions evaluate.

use super::GdbTarget;
use crate::addr::{Location, code_addr};
use crate::packet_guard::frame;

/// One region of the synthetic address space: start, length, permissions.
type Region = (u64, u64, &'static str);

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
        Some(frame(&describe(&self.regions(), addr)))
    }
}

/// The region containing `addr`, or the unmapped gap from `addr` to the next region.
fn describe(regions: &[Region], addr: u64) -> String {
    if let Some((start, len, perms)) = regions.iter().find(|(s, l, _)| addr >= *s && addr - s < *l)
    {
        return format!("start:{start:x};size:{len:x};permissions:{perms};");
    }
    let next = regions
        .iter()
        .map(|(s, _, _)| *s)
        .filter(|s| *s > addr)
        .min();
    let size = next.unwrap_or(u64::MAX).saturating_sub(addr).max(1);
    // No permissions: LLDB takes the range as unmapped.
    format!("start:{addr:x};size:{size:x};")
}

#[cfg(test)]
mod tests {
    use super::describe;

    #[test]
    fn regions_and_gaps() {
        let regions = [(0x0, 0x20000, "rw"), (0x4000_0000_0000_0000, 0x100, "rx")];
        assert_eq!(
            describe(&regions, 0x10),
            "start:0;size:20000;permissions:rw;"
        );
        assert_eq!(
            describe(&regions, 0x20000),
            "start:20000;size:3ffffffffffe0000;"
        );
        assert_eq!(
            describe(&regions, 0x4000_0000_0000_00ff),
            "start:4000000000000000;size:100;permissions:rx;"
        );
        assert!(describe(&regions, u64::MAX).starts_with("start:ffffffffffffffff;size:1;"));
    }
}
