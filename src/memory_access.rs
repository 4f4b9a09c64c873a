//! Which Wasm instructions touch linear memory, how many bytes, and where their address operands
//! sit on the operand stack: what a watchpoint needs to decide, at a breakpoint on the
//! instruction, whether it is about to read or write a watched range. Also which operators carry
//! a memory immediate at all, for judging why one trapped ([`crate::traps`]).

use wasmparser::{MemArg, MemArgTarget, Operator};

use crate::wasm_module::{BytecodeError, ModuleInfo};

/// How an instruction accesses memory.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Shape {
    /// `[addr] -> value`: reads `size` bytes at addr + offset.
    Load { size: u32 },
    /// `[addr, value...]`: writes `size` bytes at addr + offset; `values` operands follow addr.
    Store { size: u32, values: u32 },
    /// `[addr, value...]`: reads and writes `size` bytes (atomic read-modify-write).
    ReadModifyWrite { size: u32, values: u32 },
    /// `memory.copy [dst, src, n]`: reads src..src+n, writes dst..dst+n.
    Copy,
    /// `memory.fill [dst, value, n]`: writes dst..dst+n.
    Fill,
    /// `memory.init [dst, src, n]`: writes dst..dst+n (the source is a data segment).
    Init,
}

/// Half-open byte ranges `(start, end)`.
pub type Ranges = Vec<(u64, u64)>;

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Access {
    pub memory: u32,
    pub offset: u64,
    pub shape: Shape,
}

impl Access {
    pub fn writes(&self) -> bool {
        !matches!(self.shape, Shape::Load { .. })
    }

    pub fn reads(&self) -> bool {
        matches!(
            self.shape,
            Shape::Load { .. } | Shape::ReadModifyWrite { .. } | Shape::Copy
        )
    }

    /// The byte ranges read and written, given the operand stack (bottom first, as u64 values)
    /// just before the instruction runs. `None` if the stack is too shallow to tell.
    pub fn ranges(&self, stack: &[u64]) -> Option<(Ranges, Ranges)> {
        let from_top = |i: usize| {
            stack
                .len()
                .checked_sub(i + 1)
                .and_then(|at| stack.get(at))
                .copied()
        };
        let span = |start: u64, len: u64| (start, start.saturating_add(len));
        Some(match self.shape {
            Shape::Load { size } => {
                let addr = from_top(0)?.saturating_add(self.offset);
                (vec![span(addr, u64::from(size))], vec![])
            }
            Shape::Store { size, values } => {
                let addr = from_top(values as usize)?.saturating_add(self.offset);
                (vec![], vec![span(addr, u64::from(size))])
            }
            Shape::ReadModifyWrite { size, values } => {
                let addr = from_top(values as usize)?.saturating_add(self.offset);
                (
                    vec![span(addr, u64::from(size))],
                    vec![span(addr, u64::from(size))],
                )
            }
            Shape::Copy => {
                let (dst, src, n) = (from_top(2)?, from_top(1)?, from_top(0)?);
                (vec![span(src, n)], vec![span(dst, n)])
            }
            Shape::Fill | Shape::Init => {
                let (dst, n) = (from_top(2)?, from_top(0)?);
                (vec![], vec![span(dst, n)])
            }
        })
    }
}

impl ModuleInfo {
    /// Every instruction of a defined function that reads or writes linear memory.
    pub fn memory_accesses(
        &self,
        bytes: &[u8],
        func_index: u32,
    ) -> Result<Vec<(u32, Access)>, BytecodeError> {
        let mut ops = self.operators(bytes, func_index)?;
        let mut accesses = Vec::new();
        while let Some(decoded) = ops.read()? {
            if let Some(access) = classify(&decoded.op) {
                accesses.push((decoded.offset, access));
            }
        }
        Ok(accesses)
    }

    /// The memory access of the instruction at `pc`, if it makes one.
    pub fn memory_access_at(&self, bytes: &[u8], pc: u32) -> Option<Access> {
        let (_, _, decoded) = self.decode(bytes, pc).ok()?;
        classify(&decoded.op)
    }
}

fn at(memarg: &MemArg, shape: Shape) -> Option<Access> {
    // GC array accesses are not linear memory.
    let MemArgTarget::Memory(memory) = memarg.target else {
        return None;
    };
    Some(Access {
        memory,
        offset: memarg.offset,
        shape,
    })
}

/// The memory access `op` performs, if any.
pub fn classify(op: &Operator<'_>) -> Option<Access> {
    use Operator as O;
    let load = |m: &MemArg, size| at(m, Shape::Load { size });
    let store = |m: &MemArg, size| at(m, Shape::Store { size, values: 1 });
    let rmw = |m: &MemArg, size| at(m, Shape::ReadModifyWrite { size, values: 1 });
    let cmpxchg = |m: &MemArg, size| at(m, Shape::ReadModifyWrite { size, values: 2 });
    match op {
        O::I32Load { memarg }
        | O::F32Load { memarg }
        | O::I64Load32S { memarg }
        | O::I64Load32U { memarg } => load(memarg, 4),
        O::I64Load { memarg } | O::F64Load { memarg } => load(memarg, 8),
        O::I32Load8S { memarg }
        | O::I32Load8U { memarg }
        | O::I64Load8S { memarg }
        | O::I64Load8U { memarg } => load(memarg, 1),
        O::I32Load16S { memarg }
        | O::I32Load16U { memarg }
        | O::I64Load16S { memarg }
        | O::I64Load16U { memarg } => load(memarg, 2),
        O::I32Store { memarg } | O::F32Store { memarg } | O::I64Store32 { memarg } => {
            store(memarg, 4)
        }
        O::I64Store { memarg } | O::F64Store { memarg } => store(memarg, 8),
        O::I32Store8 { memarg } | O::I64Store8 { memarg } => store(memarg, 1),
        O::I32Store16 { memarg } | O::I64Store16 { memarg } => store(memarg, 2),
        O::MemoryCopy { dst_mem, .. } => Some(Access {
            memory: *dst_mem,
            offset: 0,
            shape: Shape::Copy,
        }),
        O::MemoryFill { mem } => Some(Access {
            memory: *mem,
            offset: 0,
            shape: Shape::Fill,
        }),
        O::MemoryInit { mem, .. } => Some(Access {
            memory: *mem,
            offset: 0,
            shape: Shape::Init,
        }),
        // SIMD
        O::V128Load { memarg } => load(memarg, 16),
        O::V128Load8x8S { memarg }
        | O::V128Load8x8U { memarg }
        | O::V128Load16x4S { memarg }
        | O::V128Load16x4U { memarg }
        | O::V128Load32x2S { memarg }
        | O::V128Load32x2U { memarg }
        | O::V128Load64Splat { memarg }
        | O::V128Load64Zero { memarg } => load(memarg, 8),
        O::V128Load8Splat { memarg } => load(memarg, 1),
        O::V128Load16Splat { memarg } => load(memarg, 2),
        O::V128Load32Splat { memarg } | O::V128Load32Zero { memarg } => load(memarg, 4),
        O::V128Load8Lane { memarg, .. } => at(memarg, Shape::Load { size: 1 }),
        O::V128Load16Lane { memarg, .. } => at(memarg, Shape::Load { size: 2 }),
        O::V128Load32Lane { memarg, .. } => at(memarg, Shape::Load { size: 4 }),
        O::V128Load64Lane { memarg, .. } => at(memarg, Shape::Load { size: 8 }),
        O::V128Store { memarg } => store(memarg, 16),
        O::V128Store8Lane { memarg, .. } => store(memarg, 1),
        O::V128Store16Lane { memarg, .. } => store(memarg, 2),
        O::V128Store32Lane { memarg, .. } => store(memarg, 4),
        O::V128Store64Lane { memarg, .. } => store(memarg, 8),
        // Atomics
        O::I32AtomicLoad { memarg } | O::I64AtomicLoad32U { memarg } => load(memarg, 4),
        O::I64AtomicLoad { memarg } => load(memarg, 8),
        O::I32AtomicLoad8U { memarg } | O::I64AtomicLoad8U { memarg } => load(memarg, 1),
        O::I32AtomicLoad16U { memarg } | O::I64AtomicLoad16U { memarg } => load(memarg, 2),
        O::I32AtomicStore { memarg } | O::I64AtomicStore32 { memarg } => store(memarg, 4),
        O::I64AtomicStore { memarg } => store(memarg, 8),
        O::I32AtomicStore8 { memarg } | O::I64AtomicStore8 { memarg } => store(memarg, 1),
        O::I32AtomicStore16 { memarg } | O::I64AtomicStore16 { memarg } => store(memarg, 2),
        O::I32AtomicRmwAdd { memarg }
        | O::I32AtomicRmwSub { memarg }
        | O::I32AtomicRmwAnd { memarg }
        | O::I32AtomicRmwOr { memarg }
        | O::I32AtomicRmwXor { memarg }
        | O::I32AtomicRmwXchg { memarg }
        | O::I64AtomicRmw32AddU { memarg }
        | O::I64AtomicRmw32SubU { memarg }
        | O::I64AtomicRmw32AndU { memarg }
        | O::I64AtomicRmw32OrU { memarg }
        | O::I64AtomicRmw32XorU { memarg }
        | O::I64AtomicRmw32XchgU { memarg } => rmw(memarg, 4),
        O::I64AtomicRmwAdd { memarg }
        | O::I64AtomicRmwSub { memarg }
        | O::I64AtomicRmwAnd { memarg }
        | O::I64AtomicRmwOr { memarg }
        | O::I64AtomicRmwXor { memarg }
        | O::I64AtomicRmwXchg { memarg } => rmw(memarg, 8),
        O::I32AtomicRmw8AddU { memarg }
        | O::I32AtomicRmw8SubU { memarg }
        | O::I32AtomicRmw8AndU { memarg }
        | O::I32AtomicRmw8OrU { memarg }
        | O::I32AtomicRmw8XorU { memarg }
        | O::I32AtomicRmw8XchgU { memarg }
        | O::I64AtomicRmw8AddU { memarg }
        | O::I64AtomicRmw8SubU { memarg }
        | O::I64AtomicRmw8AndU { memarg }
        | O::I64AtomicRmw8OrU { memarg }
        | O::I64AtomicRmw8XorU { memarg }
        | O::I64AtomicRmw8XchgU { memarg } => rmw(memarg, 1),
        O::I32AtomicRmw16AddU { memarg }
        | O::I32AtomicRmw16SubU { memarg }
        | O::I32AtomicRmw16AndU { memarg }
        | O::I32AtomicRmw16OrU { memarg }
        | O::I32AtomicRmw16XorU { memarg }
        | O::I32AtomicRmw16XchgU { memarg }
        | O::I64AtomicRmw16AddU { memarg }
        | O::I64AtomicRmw16SubU { memarg }
        | O::I64AtomicRmw16AndU { memarg }
        | O::I64AtomicRmw16OrU { memarg }
        | O::I64AtomicRmw16XorU { memarg }
        | O::I64AtomicRmw16XchgU { memarg } => rmw(memarg, 2),
        O::I32AtomicRmwCmpxchg { memarg } | O::I64AtomicRmw32CmpxchgU { memarg } => {
            cmpxchg(memarg, 4)
        }
        O::I64AtomicRmwCmpxchg { memarg } => cmpxchg(memarg, 8),
        O::I32AtomicRmw8CmpxchgU { memarg } | O::I64AtomicRmw8CmpxchgU { memarg } => {
            cmpxchg(memarg, 1)
        }
        O::I32AtomicRmw16CmpxchgU { memarg } | O::I64AtomicRmw16CmpxchgU { memarg } => {
            cmpxchg(memarg, 2)
        }
        _ => None,
    }
}

// Generated from wasmparser's operator list: every operator with a memory immediate names it
// `memarg`, so no operator of any proposal is missed, including the ones `classify` leaves out
// (`memory.atomic.wait`/`notify`, accesses to GC arrays).
macro_rules! define_memarg {
    ($( @$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*) )*) => {
        /// The memory immediate (offset, alignment, target memory or array) of `op`, if it has one.
        pub fn memarg_of<'a>(op: &'a Operator<'_>) -> Option<&'a MemArg> {
            match op {
                $( Operator::$op { .. } => memarg_field!(op, $op, $($($arg)*)?), )*
                _ => None,
            }
        }
    };
}

/// Finds the field called `memarg` among an operator's immediates.
macro_rules! memarg_field {
    ($op:ident, $variant:ident, memarg $($rest:ident)*) => {
        match $op {
            Operator::$variant { memarg, .. } => Some(memarg),
            _ => None,
        }
    };
    ($op:ident, $variant:ident, $other:ident $($rest:ident)*) => {
        memarg_field!($op, $variant, $($rest)*)
    };
    ($op:ident, $variant:ident,) => {
        None
    };
}

wasmparser::for_each_operator!(define_memarg);

#[cfg(test)]
mod tests {
    use super::*;

    fn memarg(offset: u64) -> MemArg {
        MemArg {
            align: 2,
            max_align: 2,
            offset,
            target: MemArgTarget::Memory(0),
            ordering: None,
        }
    }

    #[test]
    fn store_address_sits_under_the_value() {
        let access = classify(&Operator::I32Store { memarg: memarg(8) }).unwrap();
        assert!(access.writes() && !access.reads());
        // stack: [.., addr=100, value=7]
        let (reads, writes) = access.ranges(&[1, 100, 7]).unwrap();
        assert!(reads.is_empty());
        assert_eq!(writes, vec![(108, 112)]);
    }

    #[test]
    fn load_address_is_on_top() {
        let access = classify(&Operator::I64Load8U { memarg: memarg(0) }).unwrap();
        assert_eq!(access.ranges(&[64]).unwrap(), (vec![(64, 65)], vec![]));
        assert!(access.ranges(&[]).is_none());
    }

    #[test]
    fn bulk_operations() {
        let copy = classify(&Operator::MemoryCopy {
            dst_mem: 0,
            src_mem: 0,
        })
        .unwrap();
        assert_eq!(
            copy.ranges(&[10, 20, 4]).unwrap(),
            (vec![(20, 24)], vec![(10, 14)])
        );
        let fill = classify(&Operator::MemoryFill { mem: 0 }).unwrap();
        assert_eq!(fill.ranges(&[10, 0, 4]).unwrap(), (vec![], vec![(10, 14)]));
    }

    #[test]
    fn atomics_read_and_write() {
        let cas = classify(&Operator::I32AtomicRmwCmpxchg { memarg: memarg(0) }).unwrap();
        assert!(cas.reads() && cas.writes());
        assert_eq!(
            cas.ranges(&[40, 1, 2]).unwrap(),
            (vec![(40, 44)], vec![(40, 44)])
        );
    }

    #[test]
    fn other_instructions_touch_nothing() {
        assert_eq!(classify(&Operator::I32Add), None);
        assert_eq!(classify(&Operator::Call { function_index: 0 }), None);
    }

    #[test]
    fn every_memory_immediate_is_found() {
        let with_offset = |op: &Operator<'_>| memarg_of(op).map(|m| m.offset);
        assert_eq!(
            with_offset(&Operator::I32Load { memarg: memarg(4) }),
            Some(4)
        );
        assert_eq!(
            with_offset(&Operator::MemoryAtomicWait32 { memarg: memarg(8) }),
            Some(8)
        );
        assert_eq!(
            with_offset(&Operator::V128Store16Lane {
                memarg: memarg(12),
                lane: 1
            }),
            Some(12)
        );
        // Bulk operations name memories, but have no memory immediate.
        assert_eq!(with_offset(&Operator::MemoryFill { mem: 0 }), None);
        assert_eq!(with_offset(&Operator::I32Add), None);
    }
}
