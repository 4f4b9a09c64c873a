//! Where a memory access can land, proved from the code alone, so that a watchpoint needs no
//! breakpoint on an access that cannot reach the watched range (a breakpoint per access costs a
//! stop per execution and a republish of the module's code to plant).
//!
//! Two facts about code LLVM compiles, both read from the function's operators with an abstract
//! operand stack:
//! - an address computed from the shadow stack pointer (`global.get __stack_pointer`, or a local
//!   only ever set to such an address), minus or plus constants, lies in the stack, below the
//!   stack pointer's initial value plus the constants added (the stack grows down). This holds
//!   for a program with one stack, the one the stub serves: a runtime that switches the stack
//!   pointer to memory elsewhere (threads, coroutines with their own stacks) breaks it;
//! - an `i32.const` address, plus constants, is that address.
//!
//! Anything else (a pointer loaded from memory, a parameter, arithmetic with a variable) is
//! unknown, and keeps its breakpoint. When an operator's effect on the stack is not known, the
//! abstract stack is emptied: what it then pops is unknown, which is always safe.

use std::collections::{HashMap, HashSet};

use wasmparser::{
    BlockType, ContType, FrameKind, FuncType, ModuleArity, Operator, RefType, SubType,
};

use crate::memory_access::{Access, Shape, classify};
use crate::wasm_module::{BytecodeError, ModuleInfo};

/// Where an address operand comes from.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Base {
    /// Derived from the stack pointer: at most its initial value plus this many bytes (negative
    /// below it: a frame's slots lie below the stack pointer its prologue read).
    Stack(i64),
    /// This address.
    Const(u64),
    Unknown,
}

/// A local whose every write is a stack address stays one; past this many added bytes it is
/// treated as unknown (a pointer walking up the stack in a loop).
const MAX_STACK_EXCESS: i64 = 1 << 20;

/// Passes after which a local whose bound still grows is taken for unknown.
const MAX_PASSES: usize = 8;

impl Base {
    /// `self + other` in an `i32` (`wide` false) or `i64` addition.
    fn add(self, other: Base, wide: bool) -> Base {
        match (self, other) {
            (Base::Stack(k), Base::Const(c)) | (Base::Const(c), Base::Stack(k)) => {
                stack(k, signed(c, wide))
            }
            (Base::Const(a), Base::Const(b)) => Base::Const(truncate(a.wrapping_add(b), wide)),
            _ => Base::Unknown,
        }
    }

    /// `self - other` in an `i32` or `i64` subtraction. A wrap below zero makes an
    /// out-of-bounds address, which traps before it writes.
    fn sub(self, other: Base, wide: bool) -> Base {
        match (self, other) {
            (Base::Stack(k), Base::Const(c)) => stack(k, signed(c, wide).wrapping_neg()),
            (Base::Const(a), Base::Const(b)) => Base::Const(truncate(a.wrapping_sub(b), wide)),
            _ => Base::Unknown,
        }
    }
}

/// A constant as the signed number an addition adds (`i32.const -16` is -16).
fn signed(c: u64, wide: bool) -> i64 {
    if wide {
        c as i64
    } else {
        i64::from(c as u32 as i32)
    }
}

fn truncate(v: u64, wide: bool) -> u64 {
    if wide { v } else { v & 0xffff_ffff }
}

/// A stack address `added` bytes past one with bound `excess`.
fn stack(excess: i64, added: i64) -> Base {
    match excess.checked_add(added) {
        Some(k) if (-MAX_STACK_EXCESS..=MAX_STACK_EXCESS).contains(&k) => Base::Stack(k),
        _ => Base::Unknown,
    }
}

/// Whether an access from `base` (with the access's own offset and size) may touch
/// `[start, end)`, given the stack pointer's initial value.
pub fn may_touch(base: Base, access: &Access, initial_sp: u64, start: u64, end: u64) -> bool {
    let size = match access.shape {
        Shape::Load { size } | Shape::Store { size, .. } | Shape::ReadModifyWrite { size, .. } => {
            u64::from(size)
        }
        Shape::Copy | Shape::Fill | Shape::Init => return true,
    };
    match base {
        Base::Unknown => true,
        Base::Const(addr) => {
            let from = addr.wrapping_add(access.offset);
            from < end && start < from.saturating_add(size)
        }
        Base::Stack(excess) => {
            let highest = i128::from(initial_sp)
                + i128::from(excess)
                + i128::from(access.offset)
                + i128::from(size);
            i128::from(start) < highest
        }
    }
}

/// The base of every memory access of defined function `func_index`, by pc; `Unknown` for all
/// of them when the module has no stack pointer this can reason about.
pub fn access_bases(
    info: &ModuleInfo,
    bytes: &[u8],
    func_index: u32,
) -> Result<HashMap<u32, Base>, BytecodeError> {
    let params = info.func_arity(func_index).map_or(0, |(p, _)| p);
    let stack_pointer = info.stack_pointer().map(|(global, _)| global);
    // Locals assumed to hold stack addresses, with their excess; a pass that finds a write of
    // anything else (or a larger excess) corrects the assumption, until nothing changes.
    let mut stack_locals: HashMap<u32, i64> = HashMap::new();
    let mut first = true;
    let mut passes = 0;
    loop {
        passes += 1;
        let pass = Pass {
            info,
            params,
            stack_pointer,
            stack_locals: &stack_locals,
            optimistic: first,
        };
        let (writes, bases) = pass.run(bytes, func_index)?;
        let mut next: HashMap<u32, i64> = HashMap::new();
        let mut unknown: HashSet<u32> = HashSet::new();
        for (local, base) in writes {
            match base {
                Base::Stack(k) if !unknown.contains(&local) => {
                    let e = next.entry(local).or_insert(k);
                    *e = (*e).max(k);
                }
                _ => {
                    unknown.insert(local);
                    next.remove(&local);
                }
            }
        }
        if passes > MAX_PASSES {
            // A local whose bound still grows walks the stack in a loop: give up on it.
            next.retain(|local, k| stack_locals.get(local).is_some_and(|before| before >= k));
        }
        if !first && next == stack_locals {
            return Ok(bases);
        }
        stack_locals = next;
        first = false;
    }
}

struct Pass<'a> {
    info: &'a ModuleInfo,
    params: u32,
    stack_pointer: Option<u32>,
    stack_locals: &'a HashMap<u32, i64>,
    /// The first pass takes every written local for a stack address (its writes decide).
    optimistic: bool,
}

impl Pass<'_> {
    fn local(&self, index: u32) -> Base {
        if index < self.params {
            return Base::Unknown;
        }
        match self.stack_locals.get(&index) {
            Some(&k) => Base::Stack(k),
            None if self.optimistic => Base::Stack(0),
            None => Base::Unknown,
        }
    }

    /// The writes of every local, and the base of every memory access.
    #[allow(clippy::type_complexity)]
    fn run(
        &self,
        bytes: &[u8],
        func_index: u32,
    ) -> Result<(Vec<(u32, Base)>, HashMap<u32, Base>), BytecodeError> {
        let mut ops = self.info.operators(bytes, func_index)?;
        let mut stack: Vec<Base> = Vec::new();
        let mut writes = Vec::new();
        let mut bases = HashMap::new();
        let pop = |stack: &mut Vec<Base>| stack.pop().unwrap_or(Base::Unknown);
        while let Some(d) = ops.read()? {
            if let Some(access) = classify(&d.op) {
                let (values, pushes) = match access.shape {
                    Shape::Load { .. } => (0, 1),
                    Shape::Store { values, .. } => (values, 0),
                    Shape::ReadModifyWrite { values, .. } => (values, 1),
                    Shape::Copy | Shape::Fill | Shape::Init => (2, 0),
                };
                for _ in 0..values {
                    pop(&mut stack);
                }
                let base = pop(&mut stack);
                bases.insert(d.offset, base);
                stack.extend(std::iter::repeat_n(Base::Unknown, pushes));
                continue;
            }
            match d.op {
                Operator::LocalGet { local_index } => stack.push(self.local(local_index)),
                Operator::LocalSet { local_index } => writes.push((local_index, pop(&mut stack))),
                Operator::LocalTee { local_index } => {
                    let value = pop(&mut stack);
                    writes.push((local_index, value));
                    stack.push(value);
                }
                Operator::GlobalGet { global_index } => {
                    stack.push(if Some(global_index) == self.stack_pointer {
                        Base::Stack(0)
                    } else {
                        Base::Unknown
                    })
                }
                Operator::I32Const { value } => stack.push(Base::Const(u64::from(value as u32))),
                Operator::I64Const { value } => stack.push(Base::Const(value as u64)),
                Operator::I32Add | Operator::I64Add => {
                    let wide = matches!(d.op, Operator::I64Add);
                    let (b, a) = (pop(&mut stack), pop(&mut stack));
                    stack.push(a.add(b, wide));
                }
                Operator::I32Sub | Operator::I64Sub => {
                    let wide = matches!(d.op, Operator::I64Sub);
                    let (b, a) = (pop(&mut stack), pop(&mut stack));
                    stack.push(a.sub(b, wide));
                }
                Operator::Call { function_index } => match self.info.func_arity(function_index) {
                    Some((params, results)) => self.effect(&mut stack, params, results),
                    None => stack.clear(),
                },
                Operator::CallIndirect { type_index, .. } => {
                    match self.info.type_arity(type_index) {
                        Some((params, results)) => self.effect(&mut stack, params + 1, results),
                        None => stack.clear(),
                    }
                }
                Operator::Block {
                    blockty: BlockType::Empty | BlockType::Type(_),
                }
                | Operator::Loop {
                    blockty: BlockType::Empty | BlockType::Type(_),
                }
                | Operator::Nop => {}
                Operator::If {
                    blockty: BlockType::Empty | BlockType::Type(_),
                }
                | Operator::BrIf { .. } => {
                    pop(&mut stack);
                }
                // Control leaves or joins here: what the stack holds next is not this path's.
                Operator::Block { .. }
                | Operator::Loop { .. }
                | Operator::If { .. }
                | Operator::Else
                | Operator::End
                | Operator::Br { .. }
                | Operator::BrTable { .. }
                | Operator::Return
                | Operator::Unreachable => stack.clear(),
                ref op => match op.operator_arity(&NoModule) {
                    Some((params, results)) => self.effect(&mut stack, params, results),
                    None => stack.clear(),
                },
            }
        }
        Ok((writes, bases))
    }

    fn effect(&self, stack: &mut Vec<Base>, params: u32, results: u32) {
        for _ in 0..params {
            if stack.pop().is_none() {
                break;
            }
        }
        stack.extend(std::iter::repeat_n(Base::Unknown, results as usize));
    }
}

/// Arity questions about the module are not answered: the operators they matter for (calls,
/// blocks with types, GC and exception operators) are handled before, or empty the stack.
struct NoModule;

impl ModuleArity for NoModule {
    fn sub_type_at(&self, _type_idx: u32) -> Option<&SubType> {
        None
    }
    fn tag_type_arity(&self, _at: u32) -> Option<(u32, u32)> {
        None
    }
    fn type_index_of_function(&self, _function_idx: u32) -> Option<u32> {
        None
    }
    fn func_type_of_cont_type(&self, _c: &ContType) -> Option<&FuncType> {
        None
    }
    fn sub_type_of_ref_type(&self, _rt: &RefType) -> Option<&SubType> {
        None
    }
    fn control_stack_height(&self) -> u32 {
        0
    }
    fn label_block(&self, _depth: u32) -> Option<(BlockType, FrameKind)> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bases of the accesses of the module's first function, in code order.
    fn bases_of(wat: &str) -> Vec<Base> {
        let wasm = wat::parse_str(wat).unwrap();
        let info = ModuleInfo::parse(&wasm).unwrap();
        let bases = access_bases(&info, &wasm, info.num_imported_funcs()).unwrap();
        let mut pcs: Vec<u32> = bases.keys().copied().collect();
        pcs.sort_unstable();
        pcs.iter().map(|pc| bases[pc]).collect()
    }

    #[test]
    fn stack_constant_and_unknown_addresses() {
        // As clang -O0 writes a function: a frame below the stack pointer, a local kept in
        // it, a global at a constant address, a store through a parameter, a pointer walked
        // in a loop.
        let bases = bases_of(
            r#"(module
                 (memory 1)
                 (global $__stack_pointer (mut i32) (i32.const 65536))
                 (func (param $p i32) (local $fp i32) (local $q i32)
                   global.get $__stack_pointer
                   i32.const 32
                   i32.sub
                   local.tee $fp
                   global.set $__stack_pointer
                   local.get $fp
                   i32.const 7
                   i32.store offset=12
                   i32.const 0
                   i32.const 5
                   i32.store offset=70000
                   local.get $p
                   i32.const 1
                   i32.store
                   local.get $fp
                   local.set $q
                   loop
                     local.get $q
                     i32.const 0
                     i32.store
                     local.get $q
                     i32.const 4
                     i32.add
                     local.set $q
                     br 0
                   end))"#,
        );
        assert_eq!(
            bases,
            [
                Base::Stack(-32),
                Base::Const(0),
                Base::Unknown,
                Base::Unknown
            ]
        );
    }

    #[test]
    fn a_stack_store_cannot_touch_memory_above_the_stack() {
        let store = Access {
            memory: 0,
            offset: 12,
            shape: Shape::Store { size: 4, values: 1 },
        };
        assert!(!may_touch(Base::Stack(0), &store, 65536, 70000, 70004));
        assert!(may_touch(Base::Stack(0), &store, 65536, 65540, 65544));
        // A frame slot 16 bytes below the stack pointer, at offset 12: the global right above
        // the stack is out of its reach, one byte lower is not.
        assert!(!may_touch(Base::Stack(-16), &store, 65536, 65536, 65540));
        assert!(may_touch(Base::Stack(-16), &store, 65536, 65535, 65540));
        assert!(may_touch(Base::Stack(0), &store, 65536, 100, 104));
        assert!(!may_touch(Base::Const(0), &store, 65536, 100, 104));
        assert!(may_touch(Base::Const(88), &store, 65536, 100, 104));
        assert!(may_touch(Base::Unknown, &store, 65536, 70000, 70004));
    }
}
