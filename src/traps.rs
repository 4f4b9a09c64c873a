//! Why a Wasm instruction trapped: the likely cause judged from the operator at the trapping pc,
//! and the text and GDB signal a trap is reported with.

use wasmparser::{MemArgTarget, Operator};

use crate::wasm_module::ModuleInfo;

/// The likely cause of a trap, judged from the instruction at the trapping pc.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrapReason {
    Unreachable,
    /// `div_u` / `rem_s` / `rem_u`: only a zero divisor traps.
    IntegerDivideByZero,
    /// `div_s`: a zero divisor or `MIN / -1`.
    IntegerOverflowOrDivideByZero,
    /// Non-saturating float-to-int truncation of NaN or an out-of-range value.
    InvalidConversionToInteger,
    /// Loads, stores, bulk memory, SIMD memory access.
    MemoryOutOfBounds,
    /// Atomic memory access: out of bounds or misaligned.
    AtomicMemoryAccess,
    /// `table.get` / `set` / `copy` / `init` / `fill`.
    TableOutOfBounds,
    /// `call_indirect`: out-of-bounds or null table entry, or signature mismatch.
    IndirectCall,
    /// `call_ref`, struct access, `ref.as_non_null`, ... on a null reference.
    NullReference,
    /// Array access out of bounds (or on a null array).
    ArrayOutOfBounds,
    /// `ref.cast` failed.
    CastFailure,
    /// Anything else, including a stack overflow at a call and pcs that cannot be decoded.
    Unknown,
}

const SIGILL: u8 = 4;
const SIGFPE: u8 = 8;
const SIGSEGV: u8 = 11;

impl TrapReason {
    pub fn description(&self) -> &'static str {
        match self {
            Self::Unreachable => "wasm trap: wasm `unreachable` instruction executed",
            Self::IntegerDivideByZero => "wasm trap: integer divide by zero",
            Self::IntegerOverflowOrDivideByZero => {
                "wasm trap: integer divide by zero or integer overflow"
            }
            Self::InvalidConversionToInteger => {
                "wasm trap: invalid conversion to integer or integer overflow"
            }
            Self::MemoryOutOfBounds => "wasm trap: out of bounds memory access",
            Self::AtomicMemoryAccess => {
                "wasm trap: out of bounds or misaligned atomic memory access"
            }
            Self::TableOutOfBounds => "wasm trap: out of bounds table access",
            Self::IndirectCall => {
                "wasm trap: indirect call to a null or out of bounds table entry, or signature mismatch"
            }
            Self::NullReference => "wasm trap: null reference",
            Self::ArrayOutOfBounds => "wasm trap: out of bounds array access or null array",
            Self::CastFailure => "wasm trap: cast failure",
            Self::Unknown => "wasm trap",
        }
    }

    /// GDB signal number to report the trap with.
    pub fn signal(&self) -> u8 {
        match self {
            Self::Unreachable | Self::Unknown => SIGILL,
            Self::IntegerDivideByZero
            | Self::IntegerOverflowOrDivideByZero
            | Self::InvalidConversionToInteger => SIGFPE,
            Self::MemoryOutOfBounds
            | Self::AtomicMemoryAccess
            | Self::TableOutOfBounds
            | Self::IndirectCall
            | Self::NullReference
            | Self::ArrayOutOfBounds
            | Self::CastFailure => SIGSEGV,
        }
    }
}

impl ModuleInfo {
    /// Why executing the instruction at `pc` trapped; [`TrapReason::Unknown`] if it cannot tell.
    pub fn trap_reason(&self, bytes: &[u8], pc: u32) -> TrapReason {
        match self.decode(bytes, pc) {
            Ok((_, _, decoded)) => trap_reason_of(&decoded.op),
            Err(_) => TrapReason::Unknown,
        }
    }
}

/// The trap `op` can raise, from the operator alone.
fn trap_reason_of(op: &Operator<'_>) -> TrapReason {
    use Operator as O;
    match op {
        O::Unreachable => TrapReason::Unreachable,
        O::I32DivS | O::I64DivS => TrapReason::IntegerOverflowOrDivideByZero,
        O::I32DivU | O::I64DivU | O::I32RemS | O::I32RemU | O::I64RemS | O::I64RemU => {
            TrapReason::IntegerDivideByZero
        }
        O::I32TruncF32S
        | O::I32TruncF32U
        | O::I32TruncF64S
        | O::I32TruncF64U
        | O::I64TruncF32S
        | O::I64TruncF32U
        | O::I64TruncF64S
        | O::I64TruncF64U => TrapReason::InvalidConversionToInteger,
        O::MemoryCopy { .. } | O::MemoryFill { .. } | O::MemoryInit { .. } => {
            TrapReason::MemoryOutOfBounds
        }
        O::TableGet { .. }
        | O::TableSet { .. }
        | O::TableCopy { .. }
        | O::TableInit { .. }
        | O::TableFill { .. }
        | O::TableAtomicGet { .. }
        | O::TableAtomicSet { .. }
        | O::TableAtomicRmwXchg { .. }
        | O::TableAtomicRmwCmpxchg { .. } => TrapReason::TableOutOfBounds,
        O::CallIndirect { .. } | O::ReturnCallIndirect { .. } => TrapReason::IndirectCall,
        O::CallRef { .. }
        | O::ReturnCallRef { .. }
        | O::RefAsNonNull
        | O::ArrayLen
        | O::I31GetS
        | O::I31GetU
        | O::ThrowRef
        | O::RefGetDesc { .. } => TrapReason::NullReference,
        O::RefCastNonNull { .. }
        | O::RefCastNullable { .. }
        | O::RefCastDescEqNonNull { .. }
        | O::RefCastDescEqNullable { .. } => TrapReason::CastFailure,
        _ => match crate::memory_access::memarg_of(op).map(|memarg| memarg.target) {
            Some(MemArgTarget::Memory(_)) if is_atomic_memory_access(op) => {
                TrapReason::AtomicMemoryAccess
            }
            Some(MemArgTarget::Memory(_)) => TrapReason::MemoryOutOfBounds,
            Some(MemArgTarget::Array(_)) => TrapReason::ArrayOutOfBounds,
            None if is_struct_field_access(op) => TrapReason::NullReference,
            None if is_array_access(op) => TrapReason::ArrayOutOfBounds,
            None => TrapReason::Unknown,
        },
    }
}

/// The threads proposal's linear-memory atomics, which trap on a misaligned address as well as
/// an out-of-bounds one.
fn is_atomic_memory_access(op: &Operator<'_>) -> bool {
    use Operator as O;
    matches!(
        op,
        O::MemoryAtomicNotify { .. }
            | O::MemoryAtomicWait32 { .. }
            | O::MemoryAtomicWait64 { .. }
            | O::I32AtomicLoad { .. }
            | O::I64AtomicLoad { .. }
            | O::I32AtomicLoad8U { .. }
            | O::I32AtomicLoad16U { .. }
            | O::I64AtomicLoad8U { .. }
            | O::I64AtomicLoad16U { .. }
            | O::I64AtomicLoad32U { .. }
            | O::I32AtomicStore { .. }
            | O::I64AtomicStore { .. }
            | O::I32AtomicStore8 { .. }
            | O::I32AtomicStore16 { .. }
            | O::I64AtomicStore8 { .. }
            | O::I64AtomicStore16 { .. }
            | O::I64AtomicStore32 { .. }
            | O::I32AtomicRmwAdd { .. }
            | O::I64AtomicRmwAdd { .. }
            | O::I32AtomicRmw8AddU { .. }
            | O::I32AtomicRmw16AddU { .. }
            | O::I64AtomicRmw8AddU { .. }
            | O::I64AtomicRmw16AddU { .. }
            | O::I64AtomicRmw32AddU { .. }
            | O::I32AtomicRmwSub { .. }
            | O::I64AtomicRmwSub { .. }
            | O::I32AtomicRmw8SubU { .. }
            | O::I32AtomicRmw16SubU { .. }
            | O::I64AtomicRmw8SubU { .. }
            | O::I64AtomicRmw16SubU { .. }
            | O::I64AtomicRmw32SubU { .. }
            | O::I32AtomicRmwAnd { .. }
            | O::I64AtomicRmwAnd { .. }
            | O::I32AtomicRmw8AndU { .. }
            | O::I32AtomicRmw16AndU { .. }
            | O::I64AtomicRmw8AndU { .. }
            | O::I64AtomicRmw16AndU { .. }
            | O::I64AtomicRmw32AndU { .. }
            | O::I32AtomicRmwOr { .. }
            | O::I64AtomicRmwOr { .. }
            | O::I32AtomicRmw8OrU { .. }
            | O::I32AtomicRmw16OrU { .. }
            | O::I64AtomicRmw8OrU { .. }
            | O::I64AtomicRmw16OrU { .. }
            | O::I64AtomicRmw32OrU { .. }
            | O::I32AtomicRmwXor { .. }
            | O::I64AtomicRmwXor { .. }
            | O::I32AtomicRmw8XorU { .. }
            | O::I32AtomicRmw16XorU { .. }
            | O::I64AtomicRmw8XorU { .. }
            | O::I64AtomicRmw16XorU { .. }
            | O::I64AtomicRmw32XorU { .. }
            | O::I32AtomicRmwXchg { .. }
            | O::I64AtomicRmwXchg { .. }
            | O::I32AtomicRmw8XchgU { .. }
            | O::I32AtomicRmw16XchgU { .. }
            | O::I64AtomicRmw8XchgU { .. }
            | O::I64AtomicRmw16XchgU { .. }
            | O::I64AtomicRmw32XchgU { .. }
            | O::I32AtomicRmwCmpxchg { .. }
            | O::I64AtomicRmwCmpxchg { .. }
            | O::I32AtomicRmw8CmpxchgU { .. }
            | O::I32AtomicRmw16CmpxchgU { .. }
            | O::I64AtomicRmw8CmpxchgU { .. }
            | O::I64AtomicRmw16CmpxchgU { .. }
            | O::I64AtomicRmw32CmpxchgU { .. }
    )
}

/// Reads and writes of a struct field (plain or atomic), which trap only on a null reference;
/// allocating a struct does not trap this way.
fn is_struct_field_access(op: &Operator<'_>) -> bool {
    use Operator as O;
    matches!(
        op,
        O::StructGet { .. }
            | O::StructGetS { .. }
            | O::StructGetU { .. }
            | O::StructSet { .. }
            | O::StructAtomicGet { .. }
            | O::StructAtomicGetS { .. }
            | O::StructAtomicGetU { .. }
            | O::StructAtomicSet { .. }
            | O::StructAtomicRmwAdd { .. }
            | O::StructAtomicRmwSub { .. }
            | O::StructAtomicRmwAnd { .. }
            | O::StructAtomicRmwOr { .. }
            | O::StructAtomicRmwXor { .. }
            | O::StructAtomicRmwXchg { .. }
            | O::StructAtomicRmwCmpxchg { .. }
    )
}

/// Array instructions that index into an array or a segment (element access, bulk operations,
/// allocation from a data or element segment): out of bounds, or a null array. `array.len` is
/// matched earlier (it can only meet a null array); `array.new`, `array.new_default` and
/// `array.new_fixed` read no array.
fn is_array_access(op: &Operator<'_>) -> bool {
    use Operator as O;
    matches!(
        op,
        O::ArrayNewData { .. }
            | O::ArrayNewElem { .. }
            | O::ArrayGet { .. }
            | O::ArrayGetS { .. }
            | O::ArrayGetU { .. }
            | O::ArraySet { .. }
            | O::ArrayFill { .. }
            | O::ArrayCopy { .. }
            | O::ArrayInitData { .. }
            | O::ArrayInitElem { .. }
            | O::ArrayAtomicGet { .. }
            | O::ArrayAtomicGetS { .. }
            | O::ArrayAtomicGetU { .. }
            | O::ArrayAtomicSet { .. }
            | O::ArrayAtomicRmwAdd { .. }
            | O::ArrayAtomicRmwSub { .. }
            | O::ArrayAtomicRmwAnd { .. }
            | O::ArrayAtomicRmwOr { .. }
            | O::ArrayAtomicRmwXor { .. }
            | O::ArrayAtomicRmwXchg { .. }
            | O::ArrayAtomicRmwCmpxchg { .. }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wasm_module::testing::{build, code_ops, nth};

    #[test]
    fn trap_reasons() {
        let (bytes, info) = build(
            "(module (memory 1)
               (type $v (func))
               (table 1 funcref)
               (func (param i32 f32)
                 unreachable
                 local.get 0 local.get 0 i32.div_s drop
                 local.get 0 local.get 0 i32.div_u drop
                 local.get 0 i32.load drop
                 local.get 1 i32.trunc_f32_s drop
                 local.get 0 call_indirect (type $v)
                 local.get 0 local.get 0 i32.atomic.rmw.add drop
                 call 0))",
        );
        let ops = code_ops(&bytes);
        let at =
            |pred: &dyn Fn(&Operator<'_>) -> bool| info.trap_reason(&bytes, nth(&ops, 0, 0, pred));
        assert_eq!(
            at(&|op| matches!(op, Operator::Unreachable)),
            TrapReason::Unreachable
        );
        assert_eq!(
            at(&|op| matches!(op, Operator::I32DivS)),
            TrapReason::IntegerOverflowOrDivideByZero
        );
        assert_eq!(
            at(&|op| matches!(op, Operator::I32DivU)),
            TrapReason::IntegerDivideByZero
        );
        assert_eq!(
            at(&|op| matches!(op, Operator::I32Load { .. })),
            TrapReason::MemoryOutOfBounds
        );
        assert_eq!(
            at(&|op| matches!(op, Operator::I32TruncF32S)),
            TrapReason::InvalidConversionToInteger
        );
        assert_eq!(
            at(&|op| matches!(op, Operator::CallIndirect { .. })),
            TrapReason::IndirectCall
        );
        assert_eq!(
            at(&|op| matches!(op, Operator::I32AtomicRmwAdd { .. })),
            TrapReason::AtomicMemoryAccess
        );
        assert_eq!(
            at(&|op| matches!(op, Operator::Call { .. })),
            TrapReason::Unknown
        );
        let load = nth(&ops, 0, 0, |op| matches!(op, Operator::I32Load { .. }));
        assert_eq!(info.trap_reason(&bytes, load + 1), TrapReason::Unknown);
        assert_eq!(info.trap_reason(&bytes, 0), TrapReason::Unknown);

        assert_eq!(TrapReason::Unreachable.signal(), 4);
        assert_eq!(TrapReason::IntegerDivideByZero.signal(), 8);
        assert_eq!(TrapReason::MemoryOutOfBounds.signal(), 11);
        assert_eq!(
            TrapReason::IntegerDivideByZero.description(),
            "wasm trap: integer divide by zero"
        );
    }

    #[test]
    fn memory_gc_and_atomic_accesses_are_told_apart_by_operator() {
        use wasmparser::{MemArg, Ordering};
        let memarg = |target| MemArg {
            align: 2,
            max_align: 2,
            offset: 0,
            target,
            ordering: None,
        };
        let mem = memarg(MemArgTarget::Memory(0));
        let seq = Ordering::SeqCst;
        let cases = [
            (
                Operator::I32AtomicLoad { memarg: mem },
                TrapReason::AtomicMemoryAccess,
            ),
            (
                Operator::I64AtomicRmw32CmpxchgU { memarg: mem },
                TrapReason::AtomicMemoryAccess,
            ),
            (
                Operator::MemoryAtomicNotify { memarg: mem },
                TrapReason::AtomicMemoryAccess,
            ),
            (
                Operator::MemoryAtomicWait64 { memarg: mem },
                TrapReason::AtomicMemoryAccess,
            ),
            (Operator::AtomicFence { ordering: seq }, TrapReason::Unknown),
            (
                Operator::I64Load8S { memarg: mem },
                TrapReason::MemoryOutOfBounds,
            ),
            (
                Operator::V128Load8Lane {
                    memarg: mem,
                    lane: 3,
                },
                TrapReason::MemoryOutOfBounds,
            ),
            (
                Operator::V128Store { memarg: mem },
                TrapReason::MemoryOutOfBounds,
            ),
            (
                Operator::I32Load {
                    memarg: memarg(MemArgTarget::Array(1)),
                },
                TrapReason::ArrayOutOfBounds,
            ),
            (
                Operator::StructGet {
                    struct_type_index: 0,
                    field_index: 0,
                },
                TrapReason::NullReference,
            ),
            (
                Operator::StructAtomicRmwAdd {
                    ordering: seq,
                    struct_type_index: 0,
                    field_index: 0,
                },
                TrapReason::NullReference,
            ),
            (
                Operator::StructNew {
                    struct_type_index: 0,
                },
                TrapReason::Unknown,
            ),
            (
                Operator::StructNewDefaultDesc {
                    struct_type_index: 0,
                },
                TrapReason::Unknown,
            ),
            (
                Operator::ArrayGetU {
                    array_type_index: 0,
                },
                TrapReason::ArrayOutOfBounds,
            ),
            (
                Operator::ArrayNewData {
                    array_type_index: 0,
                    array_data_index: 0,
                },
                TrapReason::ArrayOutOfBounds,
            ),
            (
                Operator::ArrayAtomicSet {
                    ordering: seq,
                    array_type_index: 0,
                },
                TrapReason::ArrayOutOfBounds,
            ),
            (
                Operator::ArrayNewFixed {
                    array_type_index: 0,
                    array_size: 2,
                },
                TrapReason::Unknown,
            ),
            (Operator::ArrayLen, TrapReason::NullReference),
            (Operator::I32Add, TrapReason::Unknown),
        ];
        for (op, reason) in cases {
            assert_eq!(trap_reason_of(&op), reason, "{op:?}");
        }
    }
}
