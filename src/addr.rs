//! The synthetic 64-bit address space LLDB uses for Wasm, and how it maps onto modules and memories.
//!
//! Code ("object") addresses name a module's original bytecode: module index + byte offset, the
//! same offsets Wasmtime uses for PCs. Memory addresses name linear memory 0 of the instance that
//! runs a module: LLDB tags frame-base addresses with the frame's module index, while plain
//! pointers arrive with index 0, so the module that carries the program's debug info is given
//! index 0 and owns the memory those pointers mean.

use gdbstub_arch::wasm::addr::{WasmAddr, WasmAddrType};
use std::ops::Range;

/// A code location, the one type for it everywhere: protocol module index and module-relative
/// byte offset (the offsets Wasmtime uses for pcs).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Site {
    pub module: u32,
    pub pc: u32,
}

impl Site {
    pub fn new(module: u32, pc: u32) -> Self {
        Site { module, pc }
    }

    /// The protocol address of this location.
    pub fn addr(self) -> u64 {
        Location::Code(self).encode()
    }
}

/// A decoded protocol address.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// A place in a module's bytecode.
    Code(Site),
    /// Offset into linear memory 0 of the instance running module `module`.
    Memory { module: u32, offset: u32 },
}

impl Location {
    pub fn decode(raw: u64) -> Option<Location> {
        let addr = WasmAddr::from_raw(raw)?;
        let (module, offset) = (addr.module_index(), addr.offset());
        Some(match addr.addr_type() {
            WasmAddrType::Object => Location::Code(Site { module, pc: offset }),
            WasmAddrType::Memory => Location::Memory { module, offset },
        })
    }

    pub fn encode(self) -> u64 {
        let (kind, module, offset) = match self {
            Location::Code(site) => (WasmAddrType::Object, site.module, site.pc),
            Location::Memory { module, offset } => (WasmAddrType::Memory, module, offset),
        };
        // Module indices are assigned by us and stay far below the 2^30 the encoding allows.
        WasmAddr::new(kind, module, offset).map_or(0, WasmAddr::as_raw)
    }
}

/// The protocol address of a code location.
pub fn code_addr(module: u32, offset: u32) -> u64 {
    Site::new(module, offset).addr()
}

/// What [`module_order`] needs to know about a module to place it.
#[derive(Copy, Clone, Debug, Default)]
pub struct ModuleTraits {
    pub has_dwarf: bool,
    pub has_entry: bool,
    pub size: usize,
}

/// Chooses stable protocol indices for modules, given in the host's order: returns host positions
/// in protocol-index order. The module that carries debug info (then one with an entry point,
/// then the largest) gets index 0, because plain pointers arrive tagged with index 0; the rest
/// keep the host's order.
pub fn module_order(modules: &[ModuleTraits]) -> Vec<usize> {
    let primary = (0..modules.len()).max_by_key(|&i| {
        (
            modules[i].has_dwarf,
            modules[i].has_entry,
            modules[i].size,
            usize::MAX - i,
        )
    });
    let mut order: Vec<usize> = primary.into_iter().collect();
    order.extend((0..modules.len()).filter(|&i| Some(i) != primary));
    order
}

/// The part of `[offset, offset+len)` that lies inside an object of `size` bytes, for reads that
/// may run past the end (LLDB reads module images in fixed-size chunks). `None` when the read
/// starts outside the object.
pub fn clamp_read(offset: u32, len: usize, size: usize) -> Option<Range<usize>> {
    let start = offset as usize;
    if start >= size || len == 0 {
        return if len == 0 && start <= size {
            Some(start..start)
        } else {
            None
        };
    }
    Some(start..start.saturating_add(len).min(size))
}

/// `[offset, offset+len)` if it lies wholly inside an object of `size` bytes: writes and memory
/// reads are all-or-nothing.
pub fn exact_range(offset: u64, len: usize, size: u64) -> Option<Range<u64>> {
    let end = offset.checked_add(len as u64)?;
    (end <= size).then_some(offset..end)
}

/// One region of the address space: start, length, permissions (`r`, `w`, `x`).
pub type Region = (u64, u64, &'static str);

/// A `qMemoryRegionInfo` reply body for `addr`: the region containing it, or the unmapped gap
/// from `addr` to the next region (no permissions: LLDB takes the range as unmapped).
pub fn describe_region(regions: &[Region], addr: u64) -> String {
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
    format!("start:{addr:x};size:{size:x};")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_and_memory_round_trip() {
        let pc = code_addr(3, 0x1234);
        assert_eq!(pc, 0x4000_0003_0000_1234);
        assert_eq!(
            Location::decode(pc),
            Some(Location::Code(Site::new(3, 0x1234)))
        );
        let mem = Location::Memory {
            module: 0,
            offset: 0xffff_fff0,
        };
        assert_eq!(mem.encode(), 0xffff_fff0);
        assert_eq!(Location::decode(0xffff_fff0), Some(mem));
    }

    #[test]
    fn reserved_address_types_are_rejected() {
        assert_eq!(Location::decode(0x8000_0000_0000_0000), None);
        assert_eq!(Location::decode(u64::MAX), None);
    }

    #[test]
    fn debug_info_module_gets_index_zero() {
        let traits = [
            ModuleTraits {
                has_dwarf: false,
                has_entry: true,
                size: 100,
            },
            ModuleTraits {
                has_dwarf: true,
                has_entry: true,
                size: 50,
            },
            ModuleTraits {
                has_dwarf: false,
                has_entry: false,
                size: 900,
            },
        ];
        assert_eq!(module_order(&traits), vec![1, 0, 2]);
        let no_dwarf = [
            ModuleTraits {
                has_dwarf: false,
                has_entry: false,
                size: 900,
            },
            ModuleTraits {
                has_dwarf: false,
                has_entry: true,
                size: 10,
            },
        ];
        assert_eq!(module_order(&no_dwarf), vec![1, 0]);
        assert!(module_order(&[]).is_empty());
    }

    #[test]
    fn regions_and_gaps() {
        let regions = [(0x0, 0x20000, "rw"), (0x4000_0000_0000_0000, 0x100, "rx")];
        assert_eq!(
            describe_region(&regions, 0x10),
            "start:0;size:20000;permissions:rw;"
        );
        assert_eq!(
            describe_region(&regions, 0x20000),
            "start:20000;size:3ffffffffffe0000;"
        );
        assert_eq!(
            describe_region(&regions, 0x4000_0000_0000_00ff),
            "start:4000000000000000;size:100;permissions:rx;"
        );
        assert!(describe_region(&regions, u64::MAX).starts_with("start:ffffffffffffffff;size:1;"));
    }

    #[test]
    fn reads_clamp_at_the_end_and_writes_do_not() {
        assert_eq!(clamp_read(90, 20, 100), Some(90..100));
        assert_eq!(clamp_read(100, 20, 100), None);
        assert_eq!(clamp_read(0, 0, 100), Some(0..0));
        assert_eq!(exact_range(90, 10, 100), Some(90..100));
        assert_eq!(exact_range(90, 11, 100), None);
        assert_eq!(exact_range(u64::MAX, 2, u64::MAX), None);
    }
}
