//! Where one Wasm instruction can transfer control, decided once per function.
//!
//! [`FunctionFlow::decode`] walks a function body a single time and keeps every instruction's
//! offset, the structured construct each one runs in, and where each construct's label lands.
//! A step then costs a binary search and the decoding of one operator, whatever the function's
//! size. The module-wide queries ([`ModuleInfo::step_targets`], instruction order, which
//! instructions Wasmtime can stop at) find the function and ask its flow, which [`ModuleInfo`]
//! keeps.
//!
//! The landing rules follow where Wasmtime can stop, not the Wasm text: its compiler (crate
//! `wasmtime-internal-cranelift` 48, `before_translate_operator`) puts one breakpoint patch point
//! before each *reachable* operator, inside the block of generated code being translated at that
//! moment. So:
//! - a branch to a `block`, `if` or `try_table` label lands on the operator *after* that
//!   construct's `end`: the `end`'s own patch point lies on the fall-through path only;
//! - `if` taken false lands on the first operator after its `else`, or, without an `else`, after
//!   its `end`; reaching `else` (or a legacy `catch`) from the clause before it continues after
//!   the `end`;
//! - a branch to a `loop` label lands on the first operator inside the loop;
//! - a branch to the function's own label, `return`, and the function's final `end` leave the
//!   frame (a branch to the function label never meets the final `end`'s patch point).

use std::collections::HashMap;

use wasmparser::{BinaryReader, Catch, Handle, Operator, OperatorsReader};

use crate::wasm_module::{BytecodeError, ModuleInfo};

/// Coarse control-flow class of an instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstrKind {
    /// Falls through to the next instruction (or traps).
    Plain,
    /// `block`, `loop`, `if`, `try_table`, legacy `try`.
    BlockStart,
    /// `else`, legacy `catch` / `catch_all`: the end of the clause before them.
    Else,
    /// `end` (or legacy `delegate`) of a construct inside the function.
    End,
    /// The `end` that closes the function body.
    FunctionEnd,
    /// `br`, `br_if`, `br_table`, `br_on_*`.
    Branch,
    Return,
    /// `call`, `call_indirect`, `call_ref`.
    Call,
    /// `return_call`, `return_call_indirect`, `return_call_ref`.
    TailCall,
    /// `throw`, `throw_ref`, legacy `rethrow`.
    Throw,
    Unreachable,
}

/// Where execution can be after executing exactly one instruction: the places a debugger must
/// plant temporary breakpoints to emulate a single step.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StepTargets {
    /// Pcs in the same function activation; sorted, unique.
    pub same_frame: Vec<u32>,
    /// Entry pcs of defined functions the instruction may call (one activation deeper); sorted,
    /// unique.
    pub callee_entries: Vec<u32>,
    /// Execution may continue in the caller (or, for exceptions, further out).
    pub leaves_frame: bool,
}

impl InstrKind {
    /// The class of `op`, which runs with `stack_depth` constructs open (the function body
    /// counts as one, so the function's final `end` runs at depth 1).
    pub fn of(op: &Operator<'_>, stack_depth: usize) -> InstrKind {
        match op {
            Operator::Unreachable => InstrKind::Unreachable,
            Operator::Block { .. }
            | Operator::Loop { .. }
            | Operator::If { .. }
            | Operator::TryTable { .. }
            | Operator::Try { .. } => InstrKind::BlockStart,
            Operator::Else | Operator::Catch { .. } | Operator::CatchAll => InstrKind::Else,
            Operator::End if stack_depth == 1 => InstrKind::FunctionEnd,
            Operator::End | Operator::Delegate { .. } => InstrKind::End,
            Operator::Br { .. }
            | Operator::BrIf { .. }
            | Operator::BrTable { .. }
            | Operator::BrOnNull { .. }
            | Operator::BrOnNonNull { .. }
            | Operator::BrOnCast { .. }
            | Operator::BrOnCastFail { .. }
            | Operator::BrOnCastDescEq { .. }
            | Operator::BrOnCastDescEqFail { .. } => InstrKind::Branch,
            Operator::Return => InstrKind::Return,
            Operator::Call { .. } | Operator::CallIndirect { .. } | Operator::CallRef { .. } => {
                InstrKind::Call
            }
            Operator::ReturnCall { .. }
            | Operator::ReturnCallIndirect { .. }
            | Operator::ReturnCallRef { .. } => InstrKind::TailCall,
            Operator::Throw { .. } | Operator::ThrowRef | Operator::Rethrow { .. } => {
                InstrKind::Throw
            }
            _ => InstrKind::Plain,
        }
    }
}

/// Resolves the functions a call can enter, which the module (not the function) knows.
pub trait Callees {
    /// Entry pc of a defined function, `None` for an import.
    fn entry(&self, func_index: u32) -> Option<u32>;
    /// Entry pcs of the defined functions an indirect call through `type_index` may reach.
    fn indirect(&self, type_index: u32) -> Vec<u32>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ConstructKind {
    Function,
    Block,
    Loop,
    If,
    TryTable,
    LegacyTry,
}

/// One structured construct of the function (the function body itself is the first).
#[derive(Debug, Clone)]
struct Construct {
    kind: ConstructKind,
    /// The construct it is nested in; `None` for the function body.
    parent: Option<u32>,
    /// First instruction inside the construct.
    body_start: u32,
    /// First instruction after this `if`'s `else`.
    else_next: Option<u32>,
    /// The instruction after the `end` (or legacy `delegate`) that closes the construct.
    end_next: Option<u32>,
    catches: Vec<Catch>,
    /// Whether the instruction that opened the construct can run.
    head_reachable: bool,
    /// Whether some instruction that can run branches to the construct's label.
    label_reached: bool,
    /// Whether the clause before an `else` (or a legacy `catch`) can run to its end.
    clause_reaches_end: bool,
}

/// One instruction of the function.
#[derive(Debug, Clone, Copy)]
struct Slot {
    offset: u32,
    /// The innermost construct while the instruction runs (for an `end`, the one it closes).
    innermost: u32,
    /// How many constructs began before this instruction: the index of the one it opens, if any.
    opened: u32,
    /// Whether Wasmtime can stop before this instruction: it has a breakpoint patch point only if
    /// its compiler finds the instruction reachable.
    has_stop: bool,
    /// A `block` or `loop`: it only opens a label and computes nothing.
    label_only: bool,
}

/// A function body's control structure; see the module docs.
#[derive(Debug, Clone)]
pub struct FunctionFlow {
    slots: Vec<Slot>,
    constructs: Vec<Construct>,
    /// One past the final `end`.
    end: u32,
    /// Locals that keep one value for the rest of an activation from some pc on (see
    /// [`FunctionFlow::local_settled_at`]), with that pc.
    settled_locals: HashMap<u32, u32>,
}

/// An operator with its position.
pub struct Decoded<'a> {
    pub offset: u32,
    pub next: u32,
    pub op: Operator<'a>,
}

fn malformed(offset: u32, message: &str) -> BytecodeError {
    BytecodeError::Malformed {
        offset: u64::from(offset),
        message: message.to_string(),
    }
}

fn to_u32(offset: u64) -> Result<u32, BytecodeError> {
    u32::try_from(offset).map_err(|_| BytecodeError::TooLarge)
}

/// Reads a function body's operators in order, stopping after the final `end` (trailing bytes,
/// which a validator would reject, are ignored).
pub struct Operators<'a> {
    reader: OperatorsReader<'a>,
    /// Constructs still open; the reading ends when the function's own closes.
    open: usize,
}

impl<'a> Operators<'a> {
    /// `code` holds the body's instructions, the first of them at module offset `entry`.
    pub fn new(code: &'a [u8], entry: u32) -> Self {
        Operators {
            reader: OperatorsReader::new(BinaryReader::new(code, u64::from(entry))),
            open: 1,
        }
    }

    pub fn read(&mut self) -> Result<Option<Decoded<'a>>, BytecodeError> {
        if self.open == 0 {
            return Ok(None);
        }
        let offset = to_u32(self.reader.original_position())?;
        if self.reader.eof() {
            return Err(malformed(
                offset,
                "function body ends before its final `end`",
            ));
        }
        let op = self.reader.read()?;
        let next = to_u32(self.reader.original_position())?;
        match op {
            Operator::Block { .. }
            | Operator::Loop { .. }
            | Operator::If { .. }
            | Operator::Try { .. }
            | Operator::TryTable { .. } => self.open += 1,
            Operator::End | Operator::Delegate { .. } => self.open -= 1,
            _ => {}
        }
        Ok(Some(Decoded { offset, next, op }))
    }
}

/// Decodes the single operator at `pc` of `code` (which starts at module offset `entry`).
pub fn decode_at(code: &[u8], entry: u32, pc: u32) -> Result<Decoded<'_>, BytecodeError> {
    let from = pc
        .checked_sub(entry)
        .and_then(|d| usize::try_from(d).ok())
        .filter(|&d| d < code.len())
        .ok_or(BytecodeError::NotInstructionBoundary(pc))?;
    let mut reader = BinaryReader::new(&code[from..], u64::from(pc));
    // wasmparser checks that these four close the construct they belong to, which a reader
    // started mid-body cannot know; the walk in `FunctionFlow::decode` has checked it.
    let op = match code[from] {
        0x05 | 0x07 | 0x18 | 0x19 => match reader.read_u8()? {
            0x05 => Operator::Else,
            0x07 => Operator::Catch {
                tag_index: reader.read_var_u32()?,
            },
            0x18 => Operator::Delegate {
                relative_depth: reader.read_var_u32()?,
            },
            _ => Operator::CatchAll,
        },
        _ => {
            let mut ops = OperatorsReader::new(reader);
            let op = ops.read()?;
            reader = ops.get_binary_reader();
            op
        }
    };
    let next = to_u32(reader.original_position())?;
    Ok(Decoded {
        offset: pc,
        next,
        op,
    })
}

impl FunctionFlow {
    /// Walks the body once. `code` holds its instructions, the first at module offset `entry`.
    pub fn decode(code: &[u8], entry: u32) -> Result<FunctionFlow, BytecodeError> {
        let mut constructs = vec![Construct {
            kind: ConstructKind::Function,
            parent: None,
            body_start: entry,
            else_next: None,
            end_next: None,
            catches: Vec::new(),
            head_reachable: true,
            label_reached: false,
            clause_reaches_end: false,
        }];
        // Reachability as Wasmtime's compiler tracks it (its `translate_unreachable_operator`):
        // code after an unconditional transfer is dead until the end of its construct, and what
        // follows an `end` runs if the construct falls through or its label is branched to.
        let mut reachable = true;
        let mut open: Vec<u32> = vec![0];
        let mut slots = Vec::new();
        let mut ops = Operators::new(code, entry);
        let mut end = entry;
        // Writes of each local: how many, and where the first one ends; and whether the code so
        // far runs straight, once per activation, from the function's entry.
        let mut writes: HashMap<u32, (u32, u32)> = HashMap::new();
        let mut straight = true;
        while let Some(d) = ops.read()? {
            if let Operator::LocalSet { local_index } | Operator::LocalTee { local_index } = d.op {
                let seen = writes.entry(local_index).or_insert((0, u32::MAX));
                seen.0 += 1;
                if straight && seen.0 == 1 {
                    seen.1 = d.next;
                }
            }
            straight &= InstrKind::of(&d.op, open.len()) == InstrKind::Plain;
            let innermost = *open
                .last()
                .ok_or_else(|| malformed(d.offset, "code after the final `end`"))?;
            let opened = u32::try_from(constructs.len()).map_err(|_| BytecodeError::TooLarge)?;
            slots.push(Slot {
                offset: d.offset,
                innermost,
                opened,
                has_stop: reachable,
                label_only: matches!(d.op, Operator::Block { .. } | Operator::Loop { .. }),
            });
            end = d.next;
            let kind = match &d.op {
                Operator::Block { .. } => Some(ConstructKind::Block),
                Operator::Loop { .. } => Some(ConstructKind::Loop),
                Operator::If { .. } => Some(ConstructKind::If),
                Operator::Try { .. } => Some(ConstructKind::LegacyTry),
                Operator::TryTable { .. } => Some(ConstructKind::TryTable),
                _ => None,
            };
            if let Some(kind) = kind {
                let catches = match &d.op {
                    Operator::TryTable { try_table } => try_table.catches.clone(),
                    _ => Vec::new(),
                };
                if reachable {
                    // An exception caught here lands on the catch's label, outside the try_table.
                    for catch in &catches {
                        let (Catch::One { label, .. }
                        | Catch::OneRef { label, .. }
                        | Catch::All { label }
                        | Catch::AllRef { label }) = *catch;
                        mark_label(&mut constructs, &open, label, d.offset)?;
                    }
                }
                constructs.push(Construct {
                    kind,
                    parent: Some(innermost),
                    body_start: d.next,
                    else_next: None,
                    end_next: None,
                    catches,
                    head_reachable: reachable,
                    label_reached: false,
                    clause_reaches_end: false,
                });
                open.push(opened);
                continue;
            }
            match &d.op {
                Operator::Else | Operator::Catch { .. } | Operator::CatchAll => {
                    let construct = &mut constructs[innermost as usize];
                    let expected = match d.op {
                        Operator::Else => ConstructKind::If,
                        _ => ConstructKind::LegacyTry,
                    };
                    if construct.kind != expected {
                        return Err(malformed(d.offset, "else or catch outside its construct"));
                    }
                    if matches!(d.op, Operator::Else) {
                        construct.else_next = Some(d.next);
                    }
                    construct.clause_reaches_end |= reachable;
                    reachable = construct.head_reachable;
                }
                Operator::End | Operator::Delegate { .. } => {
                    open.pop();
                    let construct = &mut constructs[innermost as usize];
                    construct.end_next = Some(d.next);
                    reachable = match construct.kind {
                        ConstructKind::Loop => reachable,
                        // Without an `else`, a false condition goes straight past the `end`.
                        ConstructKind::If if construct.else_next.is_none() => {
                            reachable || construct.label_reached || construct.head_reachable
                        }
                        _ => reachable || construct.label_reached || construct.clause_reaches_end,
                    };
                }
                Operator::Br { relative_depth } => {
                    if reachable {
                        mark_label(&mut constructs, &open, *relative_depth, d.offset)?;
                    }
                    reachable = false;
                }
                op if let Some(depth) = conditional_branch(op)
                    && reachable =>
                {
                    mark_label(&mut constructs, &open, depth, d.offset)?;
                }
                Operator::BrTable { targets } => {
                    if reachable {
                        for depth in targets.targets() {
                            mark_label(&mut constructs, &open, depth?, d.offset)?;
                        }
                        mark_label(&mut constructs, &open, targets.default(), d.offset)?;
                    }
                    reachable = false;
                }
                Operator::Resume { resume_table, .. }
                | Operator::ResumeThrow { resume_table, .. }
                | Operator::ResumeThrowRef { resume_table, .. }
                    if reachable =>
                {
                    for handle in &resume_table.handlers {
                        if let Handle::OnLabel { label, .. } = handle {
                            mark_label(&mut constructs, &open, *label, d.offset)?;
                        }
                    }
                }
                Operator::Unreachable
                | Operator::Return
                | Operator::ReturnCall { .. }
                | Operator::ReturnCallIndirect { .. }
                | Operator::ReturnCallRef { .. }
                | Operator::Throw { .. }
                | Operator::ThrowRef
                | Operator::Rethrow { .. } => reachable = false,
                _ => {}
            }
        }
        let settled_locals = writes
            .into_iter()
            .filter(|&(_, (count, after))| count == 1 && after != u32::MAX)
            .map(|(local, (_, after))| (local, after))
            .collect();
        Ok(FunctionFlow {
            slots,
            constructs,
            end,
            settled_locals,
        })
    }

    /// Whether local `index` can no longer change in an activation that has reached `pc`: its
    /// only write is in the code that runs straight from the function's entry (a prologue's
    /// frame pointer, say), and `pc` lies past it. A value read there holds until the activation
    /// ends, so it need not be read again at the next stop of the same activation.
    pub fn local_settled_at(&self, index: u32, pc: u32) -> bool {
        self.settled_locals
            .get(&index)
            .is_some_and(|&after| pc >= after)
    }

    /// Offsets of every instruction, final `end` included.
    pub fn offsets(&self) -> impl ExactSizeIterator<Item = u32> + '_ {
        self.slots.iter().map(|s| s.offset)
    }

    /// One past the final `end`.
    pub fn end(&self) -> u32 {
        self.end
    }

    /// The position of the instruction starting at `pc`.
    pub fn index_of(&self, pc: u32) -> Result<usize, BytecodeError> {
        self.slots
            .binary_search_by_key(&pc, |s| s.offset)
            .map_err(|_| BytecodeError::NotInstructionBoundary(pc))
    }

    /// Whether Wasmtime can stop before the instruction at `pc` (see [`Slot::has_stop`]).
    pub fn has_stop(&self, pc: u32) -> bool {
        self.index_of(pc).is_ok_and(|i| self.slots[i].has_stop)
    }

    /// The instructions before the one at `pc` that Wasmtime cannot stop at, nearest first: a
    /// breakpoint asked at one of them slips forward to `pc` (if `pc` has a stop).
    pub fn stopless_before(&self, pc: u32) -> impl Iterator<Item = u32> + '_ {
        let at = self.index_of(pc).unwrap_or(0);
        self.slots[..at]
            .iter()
            .rev()
            .take_while(|s| !s.has_stop)
            .map(|s| s.offset)
    }

    /// The `block`s and `loop`s just before the instruction at `pc`, nearest first. They compute
    /// nothing, so execution at `pc` is still at the start of whatever statement they begin: a
    /// branch back to a loop lands after its `loop`, while the statement's line starts at it.
    pub fn labels_before(&self, pc: u32) -> impl Iterator<Item = u32> + '_ {
        let at = self.index_of(pc).unwrap_or(0);
        self.slots[..at]
            .iter()
            .rev()
            .take_while(|s| s.label_only)
            .map(|s| s.offset)
    }

    /// Where branches back to the loops opened by the `block`s and `loop`s starting at `pc` land:
    /// the instruction after each such `loop`. Wasmtime's stop on a `loop` lies on the path that
    /// falls into it, so a breakpoint on a line that starts with a loop must also be planted
    /// where its back edges land to stop on every iteration, as natively.
    pub fn loop_landings_from(&self, pc: u32) -> Vec<u32> {
        let Ok(at) = self.index_of(pc) else {
            return Vec::new();
        };
        let mut landings = Vec::new();
        for (i, slot) in self.slots.iter().enumerate().skip(at) {
            if !slot.label_only {
                break;
            }
            let is_loop = self
                .constructs
                .get(slot.opened as usize)
                .is_some_and(|c| c.kind == ConstructKind::Loop);
            if let (true, Some(next)) = (is_loop, self.slots.get(i + 1)) {
                landings.push(next.offset);
            }
        }
        landings
    }

    /// The offset of the instruction before the one at `pc`, in code order.
    pub fn previous(&self, pc: u32) -> Option<u32> {
        let at = self.index_of(pc).ok()?;
        Some(self.slots.get(at.checked_sub(1)?)?.offset)
    }

    /// How many constructs (the function body included) enclose the instruction at `pc`; an `end`
    /// counts the construct it closes.
    pub fn nesting_at(&self, pc: u32) -> Result<usize, BytecodeError> {
        let slot = self.slots[self.index_of(pc)?];
        Ok(self.open_at(slot).len())
    }

    /// Constructs open while `slot` runs, outermost (the function body) first.
    fn open_at(&self, slot: Slot) -> Vec<u32> {
        let mut open = Vec::new();
        let mut at = Some(slot.innermost);
        while let Some(i) = at {
            open.push(i);
            at = self.constructs.get(i as usize).and_then(|c| c.parent);
        }
        open.reverse();
        open
    }

    /// Where the instruction `decoded` (decoded at one of this function's offsets) can transfer
    /// control; see the module docs for the landing rules.
    ///
    /// Exceptions are best effort: `throw`/`throw_ref` (and calls that may run an import) add the
    /// catch labels of every enclosing `try_table` in this function, innermost first, stopping at
    /// one with a `catch_all`; without such a catch-all a `throw` also leaves the frame. Legacy
    /// `try`/`catch` handlers are not modelled: a throw there only leaves the frame. Stack
    /// switching is modelled as falling through (plus `resume`'s handler labels).
    pub fn successors(
        &self,
        decoded: &Decoded<'_>,
        callees: &impl Callees,
    ) -> Result<StepTargets, BytecodeError> {
        let pc = decoded.offset;
        let slot = self.slots[self.index_of(pc)?];
        let open = self.open_at(slot);
        let next = decoded.next;
        let label = |depth: u32| self.label_dest(&open, depth, pc);
        let mut out = Targets::default();
        match &decoded.op {
            Operator::Unreachable => {}
            Operator::Return => out.leaves = true,
            Operator::If { .. } => {
                out.same.push(next);
                let construct = self
                    .constructs
                    .get(slot.opened as usize)
                    .ok_or_else(|| malformed(pc, "unmatched if"))?;
                let otherwise = construct
                    .else_next
                    .or(construct.end_next)
                    .ok_or_else(|| malformed(pc, "unmatched if"))?;
                out.same.push(otherwise);
            }
            Operator::Else | Operator::Catch { .. } | Operator::CatchAll => {
                let after_end = self
                    .constructs
                    .get(slot.innermost as usize)
                    .and_then(|c| c.end_next)
                    .ok_or_else(|| malformed(pc, "unmatched else"))?;
                out.same.push(after_end);
            }
            Operator::End | Operator::Delegate { .. } if open.len() == 1 => out.leaves = true,
            Operator::Br { relative_depth } => out.add(label(*relative_depth)?),
            op if let Some(depth) = conditional_branch(op) => {
                out.same.push(next);
                out.add(label(depth)?);
            }
            Operator::BrTable { targets } => {
                for depth in targets.targets() {
                    out.add(label(depth?)?);
                }
                out.add(label(targets.default())?);
            }
            Operator::Call { function_index } => match callees.entry(*function_index) {
                Some(entry) => out.callees.push(entry),
                None => {
                    out.same.push(next);
                    self.add_handlers(&mut out, &open, pc)?;
                }
            },
            Operator::CallIndirect { type_index, .. } | Operator::CallRef { type_index } => {
                out.callees.extend(callees.indirect(*type_index));
                out.same.push(next);
                self.add_handlers(&mut out, &open, pc)?;
            }
            Operator::ReturnCall { function_index } => match callees.entry(*function_index) {
                Some(entry) => out.callees.push(entry),
                None => out.leaves = true,
            },
            Operator::ReturnCallIndirect { type_index, .. }
            | Operator::ReturnCallRef { type_index } => {
                out.callees.extend(callees.indirect(*type_index));
                out.leaves = true;
            }
            Operator::Throw { .. } | Operator::ThrowRef | Operator::Rethrow { .. } => {
                let caught_all = self.add_handlers(&mut out, &open, pc)?;
                out.leaves = !caught_all;
            }
            Operator::Resume { resume_table, .. }
            | Operator::ResumeThrow { resume_table, .. }
            | Operator::ResumeThrowRef { resume_table, .. } => {
                out.same.push(next);
                for handle in &resume_table.handlers {
                    if let Handle::OnLabel { label: depth, .. } = handle {
                        out.add(label(*depth)?);
                    }
                }
            }
            _ => out.same.push(next),
        }
        out.same.sort_unstable();
        out.same.dedup();
        out.callees.sort_unstable();
        out.callees.dedup();
        Ok(StepTargets {
            same_frame: out.same,
            callee_entries: out.callees,
            leaves_frame: out.leaves,
        })
    }

    /// Where the `br_table` `decoded` goes when its operand is `index` (an index past its targets
    /// takes the default); `None` if `decoded` is no `br_table`. A line step resolves the one
    /// branch the program is about to take instead of planting every case of a large `switch`.
    pub fn br_table_landing(
        &self,
        decoded: &Decoded<'_>,
        index: u32,
    ) -> Result<Option<StepTargets>, BytecodeError> {
        let Operator::BrTable { targets } = &decoded.op else {
            return Ok(None);
        };
        let pc = decoded.offset;
        let depth = match targets.targets().nth(index as usize) {
            Some(depth) => depth?,
            None => targets.default(),
        };
        let open = self.open_at(self.slots[self.index_of(pc)?]);
        let mut out = Targets::default();
        out.add(self.label_dest(&open, depth, pc)?);
        Ok(Some(StepTargets {
            same_frame: out.same,
            callee_entries: Vec::new(),
            leaves_frame: out.leaves,
        }))
    }

    /// Where a branch to label `depth` (relative to the constructs `open`) lands.
    fn label_dest(&self, open: &[u32], depth: u32, pc: u32) -> Result<Dest, BytecodeError> {
        let construct = usize::try_from(depth)
            .ok()
            .and_then(|depth| open.len().checked_sub(depth)?.checked_sub(1))
            .and_then(|position| open.get(position))
            .and_then(|&c| self.constructs.get(c as usize))
            .ok_or_else(|| malformed(pc, "branch depth out of range"))?;
        match construct.kind {
            ConstructKind::Function => Ok(Dest::LeavesFrame),
            ConstructKind::Loop => Ok(Dest::Pc(construct.body_start)),
            _ => construct
                .end_next
                .map(Dest::Pc)
                .ok_or_else(|| malformed(pc, "unterminated block")),
        }
    }

    /// Adds the catch labels an exception raised at `pc` may reach; returns whether some
    /// `catch_all` is certain to stop it within this function.
    fn add_handlers(
        &self,
        out: &mut Targets,
        open: &[u32],
        pc: u32,
    ) -> Result<bool, BytecodeError> {
        for (position, &c) in open.iter().enumerate().rev() {
            let Some(construct) = self.constructs.get(c as usize) else {
                continue;
            };
            if construct.kind != ConstructKind::TryTable {
                continue;
            }
            // Catch labels are resolved outside the try_table's own label.
            let outer = open.get(..position).unwrap_or_default();
            let mut caught_all = false;
            for catch in &construct.catches {
                let label = match *catch {
                    Catch::One { label, .. } | Catch::OneRef { label, .. } => label,
                    Catch::All { label } | Catch::AllRef { label } => {
                        caught_all = true;
                        label
                    }
                };
                out.add(self.label_dest(outer, label, pc)?);
            }
            if caught_all {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// The control-flow queries of a whole module: each finds the function containing the pc and
/// asks its [`FunctionFlow`], which [`ModuleInfo`] keeps once decoded.
impl ModuleInfo {
    /// Offset of the instruction after the one at `pc`, in code order (not control flow).
    pub fn next_instruction(&self, bytes: &[u8], pc: u32) -> Result<u32, BytecodeError> {
        let (_, flow, decoded) = self.decode(bytes, pc)?;
        if matches!(decoded.op, Operator::End) && flow.nesting_at(pc)? == 1 {
            return Err(BytecodeError::NoNextInstruction(pc));
        }
        Ok(decoded.next)
    }

    /// The instruction before the one at `pc` in code order, if `pc` starts an instruction that
    /// is not its function's first.
    pub fn previous_instruction(&self, bytes: &[u8], pc: u32) -> Option<u32> {
        let func_index = self.func_containing(pc)?;
        self.flow(bytes, func_index).ok()?.previous(pc)
    }

    /// The instructions just before `pc` that Wasmtime has no stop for (dead code), nearest first:
    /// a breakpoint planted at one of them is reported at `pc`.
    pub fn stopless_before(&self, bytes: &[u8], pc: u32) -> Vec<u32> {
        let Some(func_index) = self.func_containing(pc) else {
            return Vec::new();
        };
        match self.flow(bytes, func_index) {
            Ok(flow) => flow.stopless_before(pc).collect(),
            Err(_) => Vec::new(),
        }
    }

    /// The `block`s and `loop`s just before `pc`, nearest first (see
    /// [`FunctionFlow::labels_before`]).
    pub fn labels_before(&self, bytes: &[u8], pc: u32) -> Vec<u32> {
        self.func_containing(pc)
            .and_then(|func_index| self.flow(bytes, func_index).ok())
            .map(|flow| flow.labels_before(pc).collect())
            .unwrap_or_default()
    }

    /// Where back edges land into the loops a line starting at `pc` opens (see
    /// [`FunctionFlow::loop_landings_from`]).
    pub fn loop_landings_from(&self, bytes: &[u8], pc: u32) -> Vec<u32> {
        self.func_containing(pc)
            .and_then(|func_index| self.flow(bytes, func_index).ok())
            .map(|flow| flow.loop_landings_from(pc))
            .unwrap_or_default()
    }

    /// Whether Wasmtime can stop before the instruction at `pc`: it has no stop in dead code.
    pub fn has_stop(&self, bytes: &[u8], pc: u32) -> bool {
        self.func_containing(pc)
            .and_then(|func_index| self.flow(bytes, func_index).ok())
            .is_some_and(|flow| flow.has_stop(pc))
    }

    /// Offsets of every instruction of a defined function, final `end` included.
    pub fn instruction_boundaries(
        &self,
        bytes: &[u8],
        func_index: u32,
    ) -> Result<Vec<u32>, BytecodeError> {
        Ok(self.flow(bytes, func_index)?.offsets().collect())
    }

    /// Whether the instruction at `pc` runs no other code and cannot leave its activation: no
    /// call of any kind (a host import may call back into Wasm), return, throw or continuation
    /// switch. The next stop after it is then in the same activation, under the same callers.
    pub fn stays_in_activation(&self, bytes: &[u8], pc: u32) -> bool {
        let Ok((_, flow, decoded)) = self.decode(bytes, pc) else {
            return false;
        };
        let transfers_elsewhere = matches!(
            decoded.op,
            Operator::Call { .. }
                | Operator::CallIndirect { .. }
                | Operator::CallRef { .. }
                | Operator::ReturnCall { .. }
                | Operator::ReturnCallIndirect { .. }
                | Operator::ReturnCallRef { .. }
                | Operator::Throw { .. }
                | Operator::ThrowRef
                | Operator::Rethrow { .. }
                | Operator::Delegate { .. }
                | Operator::Resume { .. }
                | Operator::ResumeThrow { .. }
                | Operator::ResumeThrowRef { .. }
                | Operator::Suspend { .. }
                | Operator::Switch { .. }
                | Operator::Unreachable
        );
        !transfers_elsewhere
            && flow
                .successors(&decoded, self)
                .is_ok_and(|t| !t.leaves_frame && t.callee_entries.is_empty())
    }

    /// Whether local `index` of the activation at `pc` keeps its value from here on (see
    /// [`FunctionFlow::local_settled_at`]).
    pub fn local_settled_at(&self, bytes: &[u8], pc: u32, index: u32) -> bool {
        self.func_containing(pc)
            .and_then(|func_index| self.flow(bytes, func_index).ok())
            .is_some_and(|flow| flow.local_settled_at(index, pc))
    }

    /// Where the `br_table` at `pc` goes for operand `index` (see
    /// [`FunctionFlow::br_table_landing`]); `None` if the instruction there is no `br_table`.
    pub fn br_table_landing(
        &self,
        bytes: &[u8],
        pc: u32,
        index: u32,
    ) -> Result<Option<StepTargets>, BytecodeError> {
        let (_, flow, decoded) = self.decode(bytes, pc)?;
        flow.br_table_landing(&decoded, index)
    }

    /// Where one instruction at `pc` can transfer control (the module docs give the landing
    /// rules). The function's control structure is decoded once, on its first query.
    pub fn step_targets(&self, bytes: &[u8], pc: u32) -> Result<StepTargets, BytecodeError> {
        let (_, flow, decoded) = self.decode(bytes, pc)?;
        flow.successors(&decoded, self)
    }
}

/// The label of a branch that may also fall through (`br_if`, `br_on_*`).
fn conditional_branch(op: &Operator<'_>) -> Option<u32> {
    match op {
        Operator::BrIf { relative_depth }
        | Operator::BrOnNull { relative_depth }
        | Operator::BrOnNonNull { relative_depth }
        | Operator::BrOnCast { relative_depth, .. }
        | Operator::BrOnCastFail { relative_depth, .. }
        | Operator::BrOnCastDescEq { relative_depth, .. }
        | Operator::BrOnCastDescEqFail { relative_depth, .. } => Some(*relative_depth),
        _ => None,
    }
}

/// Records that a reachable branch targets label `depth` of the constructs `open`.
fn mark_label(
    constructs: &mut [Construct],
    open: &[u32],
    depth: u32,
    pc: u32,
) -> Result<(), BytecodeError> {
    let construct = usize::try_from(depth)
        .ok()
        .and_then(|depth| open.len().checked_sub(depth)?.checked_sub(1))
        .and_then(|position| open.get(position))
        .and_then(|&c| constructs.get_mut(c as usize))
        .ok_or_else(|| malformed(pc, "branch depth out of range"))?;
    construct.label_reached = true;
    Ok(())
}

enum Dest {
    Pc(u32),
    LeavesFrame,
}

#[derive(Default)]
struct Targets {
    same: Vec<u32>,
    callees: Vec<u32>,
    leaves: bool,
}

impl Targets {
    fn add(&mut self, dest: Dest) {
        match dest {
            Dest::Pc(pc) => self.same.push(pc),
            Dest::LeavesFrame => self.leaves = true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmparser::{Parser, Payload};

    /// The first function body of `wat`: its bytes (from the first instruction) and module offset.
    fn first_body(wasm: &[u8]) -> (&[u8], u32) {
        for payload in Parser::new(0).parse_all(wasm) {
            if let Payload::CodeSectionEntry(body) = payload.unwrap() {
                let entry = body.get_operators_reader().unwrap().original_position();
                let end = body.range().end;
                return (&wasm[entry as usize..end as usize], entry as u32);
            }
        }
        panic!("no function body");
    }

    /// The control structure of the first function of `wat`, and its instructions' offsets.
    fn flow_of(wat: &str) -> (FunctionFlow, Vec<u32>) {
        let wasm = wat::parse_str(wat).unwrap();
        let (code, entry) = first_body(&wasm);
        let flow = FunctionFlow::decode(code, entry).unwrap();
        let all = flow.offsets().collect();
        (flow, all)
    }

    #[test]
    fn a_local_written_once_in_the_prologue_is_settled_after_the_write() {
        // Local 1 is a frame pointer set once before any control flow; local 2 is written in the
        // prologue and again in a loop; local 3 only inside the loop; local 0 (a parameter) is
        // never written, and is not cached either: nothing says it was read after its last write.
        let (flow, all) = flow_of(
            r#"(module (global $sp (mut i32) (i32.const 1024))
                 (func (param i32) (local i32 i32 i32)
                   global.get $sp
                   i32.const 16
                   i32.sub
                   local.set 1
                   i32.const 0
                   local.set 2
                   loop
                     local.get 2
                     local.set 3
                     i32.const 1
                     local.set 2
                   end))"#,
        );
        let write_of_1 = all[3];
        let after = all[4];
        assert!(!flow.local_settled_at(1, write_of_1));
        assert!(flow.local_settled_at(1, after));
        assert!(flow.local_settled_at(1, *all.last().unwrap()));
        for local in [0, 2, 3] {
            assert!(
                !flow.local_settled_at(local, *all.last().unwrap()),
                "local {local}"
            );
        }
    }

    fn ops(code: &[u8], entry: u32) -> Vec<(u32, String)> {
        let mut reader = Operators::new(code, entry);
        let mut out = Vec::new();
        while let Some(d) = reader.read().unwrap() {
            out.push((d.offset, format!("{:?}", d.op)));
        }
        out
    }

    #[test]
    fn each_instruction_decodes_alone_as_in_sequence() {
        let wasm = wat::parse_str(
            "(module (func (param i32) (result i32)
                block (result i32)
                  local.get 0
                  if (result i32)
                    i32.const 1
                  else
                    loop (result i32)
                      i32.const 2
                    end
                  end
                end))",
        )
        .unwrap();
        let (code, entry) = first_body(&wasm);
        let flow = FunctionFlow::decode(code, entry).unwrap();
        let sequence = ops(code, entry);
        assert_eq!(
            flow.offsets().collect::<Vec<_>>(),
            sequence.iter().map(|(o, _)| *o).collect::<Vec<_>>()
        );
        for (offset, text) in &sequence {
            let alone = decode_at(code, entry, *offset).unwrap();
            assert_eq!(&format!("{:?}", alone.op), text, "at {offset:#x}");
        }
        assert_eq!(flow.end(), entry + code.len() as u32);
    }

    #[test]
    fn dead_code_has_no_stop_and_what_a_branch_reaches_has_one() {
        let (flow, all) = flow_of(
            "(module (func (param i32)
                block
                  br 0
                  nop
                end
                nop
                local.get 0
                if
                  unreachable
                end
                nop))",
        );
        // block, br, nop (dead), end (dead: only reached by the branch, which skips it), nop,
        // local.get, if, unreachable, end (dead: the then-arm cannot fall into it), nop, end.
        let stops: Vec<bool> = all.iter().map(|&pc| flow.has_stop(pc)).collect();
        assert_eq!(
            stops,
            [
                true, true, false, false, true, true, true, true, false, true, true
            ]
        );
        assert_eq!(
            flow.stopless_before(all[4]).collect::<Vec<_>>(),
            [all[3], all[2]]
        );
        assert_eq!(flow.stopless_before(all[9]).collect::<Vec<_>>(), [all[8]]);
        assert_eq!(flow.stopless_before(all[5]).count(), 0);
    }

    #[test]
    fn a_loop_is_only_left_by_falling_out_of_it() {
        let (flow, all) = flow_of(
            "(module (func
                loop
                  br 0
                end
                nop))",
        );
        let stops: Vec<bool> = all.iter().map(|&pc| flow.has_stop(pc)).collect();
        // loop, br, end, nop, final end: nothing after the endless loop runs.
        assert_eq!(stops, [true, true, false, false, false]);
    }

    #[test]
    fn a_line_opening_loops_is_also_reached_where_their_back_edges_land() {
        let (flow, all) = flow_of(
            "(module (func (param i32)
                nop
                block
                  loop
                    local.get 0
                    br_if 0
                  end
                end))",
        );
        let (nop, block, loop_, body) = (all[0], all[1], all[2], all[3]);
        // A line starting at the `block` (or the `loop`) is entered again at the loop's body.
        assert_eq!(flow.loop_landings_from(block), [body]);
        assert_eq!(flow.loop_landings_from(loop_), [body]);
        assert!(flow.loop_landings_from(nop).is_empty());
        assert!(flow.loop_landings_from(body).is_empty());
        // From the body, the label-only instructions before it, nearest first.
        assert_eq!(flow.labels_before(body).collect::<Vec<_>>(), [loop_, block]);
        assert_eq!(flow.labels_before(block).count(), 0);
    }

    /// Steps through whole modules, callees included.
    mod module_steps {
        use super::super::*;
        use crate::wasm_module::testing::{CALLS, after, build, code_ops, nth};

        fn same(pcs: &[u32]) -> StepTargets {
            let mut same_frame = pcs.to_vec();
            same_frame.sort_unstable();
            same_frame.dedup();
            StepTargets {
                same_frame,
                callee_entries: vec![],
                leaves_frame: false,
            }
        }

        const LEAVES: StepTargets = StepTargets {
            same_frame: vec![],
            callee_entries: vec![],
            leaves_frame: true,
        };

        #[test]
        fn fallthrough() {
            let (bytes, info) = build("(module (func i32.const 1 drop nop))");
            let ops = code_ops(&bytes);
            let c = nth(&ops, 0, 0, |op| matches!(op, Operator::I32Const { .. }));
            let d = nth(&ops, 0, 0, |op| matches!(op, Operator::Drop));
            assert_eq!(info.step_targets(&bytes, c).unwrap(), same(&[d]));
            assert_eq!(info.next_instruction(&bytes, c).unwrap(), d);
        }

        #[test]
        fn br_if_taken_and_not_taken() {
            let (bytes, info) = build(
                "(module (func (param i32)
                    block
                      local.get 0
                      br_if 0
                      nop
                    end
                    nop))",
            );
            let ops = code_ops(&bytes);
            let br_if = nth(&ops, 0, 0, |op| matches!(op, Operator::BrIf { .. }));
            let nop = nth(&ops, 0, 0, |op| matches!(op, Operator::Nop));
            let end = nth(&ops, 0, 0, |op| matches!(op, Operator::End));
            // Taken, the branch lands after the block's `end`: Wasmtime has no stop on an `end`
            // reached by a branch.
            assert_eq!(
                info.step_targets(&bytes, br_if).unwrap(),
                same(&[nop, after(&ops, 0, end)])
            );
            // The block's end, reached by falling through, just falls through.
            assert_eq!(
                info.step_targets(&bytes, end).unwrap(),
                same(&[after(&ops, 0, end)])
            );
        }

        #[test]
        fn br_if_to_function_label_leaves() {
            let (bytes, info) = build("(module (func (param i32) local.get 0 br_if 0 nop))");
            let ops = code_ops(&bytes);
            let br_if = nth(&ops, 0, 0, |op| matches!(op, Operator::BrIf { .. }));
            let nop = nth(&ops, 0, 0, |op| matches!(op, Operator::Nop));
            let t = info.step_targets(&bytes, br_if).unwrap();
            assert_eq!(t.same_frame, vec![nop]);
            assert!(t.leaves_frame);
        }

        #[test]
        fn br_table_targets() {
            let (bytes, info) = build(
                "(module (func (param i32)
                    block
                      block
                        block
                          local.get 0
                          br_table 0 1 0 2 3
                        end
                        nop
                      end
                      nop
                    end
                    nop))",
            );
            let ops = code_ops(&bytes);
            let table = nth(&ops, 0, 0, |op| matches!(op, Operator::BrTable { .. }));
            let ends: Vec<u32> = (0..3)
                .map(|n| nth(&ops, 0, n, |op| matches!(op, Operator::End)))
                .collect();
            let after_ends: Vec<u32> = ends.iter().map(|&end| after(&ops, 0, end)).collect();
            let t = info.step_targets(&bytes, table).unwrap();
            assert_eq!(t.same_frame, after_ends);
            assert!(t.callee_entries.is_empty());
            // Depth 3 is the function label.
            assert!(t.leaves_frame);
        }

        #[test]
        fn if_with_else() {
            let (bytes, info) = build(
                "(module (func (param i32) (result i32)
                    local.get 0
                    if (result i32)
                      i32.const 1
                    else
                      i32.const 2
                    end))",
            );
            let ops = code_ops(&bytes);
            let if_ = nth(&ops, 0, 0, |op| matches!(op, Operator::If { .. }));
            let one = nth(&ops, 0, 0, |op| {
                matches!(op, Operator::I32Const { value: 1 })
            });
            let else_ = nth(&ops, 0, 0, |op| matches!(op, Operator::Else));
            let two = nth(&ops, 0, 0, |op| {
                matches!(op, Operator::I32Const { value: 2 })
            });
            let end = nth(&ops, 0, 0, |op| matches!(op, Operator::End));
            assert_eq!(two, after(&ops, 0, else_));
            assert_eq!(info.step_targets(&bytes, if_).unwrap(), same(&[one, two]));
            // The then-arm meets `else`, which continues after the `end`, not on it.
            let after_end = after(&ops, 0, end);
            assert_eq!(
                info.step_targets(&bytes, else_).unwrap(),
                same(&[after_end])
            );
            assert_eq!(info.step_targets(&bytes, two).unwrap(), same(&[end]));
        }

        #[test]
        fn if_without_else_taken_false_goes_after_end() {
            let (bytes, info) = build(
                "(module (func (param i32)
                    local.get 0
                    if
                      nop
                    end
                    nop))",
            );
            let ops = code_ops(&bytes);
            let if_ = nth(&ops, 0, 0, |op| matches!(op, Operator::If { .. }));
            let then = nth(&ops, 0, 0, |op| matches!(op, Operator::Nop));
            let end = nth(&ops, 0, 0, |op| matches!(op, Operator::End));
            assert_eq!(
                info.step_targets(&bytes, if_).unwrap(),
                same(&[then, after(&ops, 0, end)])
            );
        }

        #[test]
        fn multi_value_block_and_nesting() {
            let (bytes, info) = build(
                "(module
                   (type $pair (func (param i32) (result i32 i32)))
                   (func (param i32) (result i32 i32)
                     local.get 0
                     block (type $pair)
                       loop (type $pair)
                         local.get 0
                         br_if 1
                         i32.const 7
                       end
                     end))",
            );
            let ops = code_ops(&bytes);
            let br_if = nth(&ops, 0, 0, |op| matches!(op, Operator::BrIf { .. }));
            let seven = nth(&ops, 0, 0, |op| {
                matches!(op, Operator::I32Const { value: 7 })
            });
            // The block's `end` is the function's last instruction but one: the branch lands on the
            // final `end`.
            let block_end = nth(&ops, 0, 1, |op| matches!(op, Operator::End));
            assert_eq!(
                info.step_targets(&bytes, br_if).unwrap(),
                same(&[seven, after(&ops, 0, block_end)])
            );
        }

        #[test]
        fn loop_back_edge() {
            let (bytes, info) = build(
                "(module (func (param i32)
                    loop
                      local.get 0
                      br_if 0
                    end))",
            );
            let ops = code_ops(&bytes);
            let loop_ = nth(&ops, 0, 0, |op| matches!(op, Operator::Loop { .. }));
            let first_inside = after(&ops, 0, loop_);
            let br_if = nth(&ops, 0, 0, |op| matches!(op, Operator::BrIf { .. }));
            let loop_end = nth(&ops, 0, 0, |op| matches!(op, Operator::End));
            assert_eq!(
                info.step_targets(&bytes, br_if).unwrap(),
                same(&[first_inside, loop_end])
            );
            assert_eq!(
                info.step_targets(&bytes, loop_).unwrap(),
                same(&[first_inside])
            );
        }

        #[test]
        fn return_final_end_and_br_to_function() {
            let (bytes, info) = build(
                "(module
                   (func return)
                   (func nop)
                   (func br 0))",
            );
            let ops = code_ops(&bytes);
            let ret = nth(&ops, 0, 0, |op| matches!(op, Operator::Return));
            assert_eq!(info.step_targets(&bytes, ret).unwrap(), LEAVES);
            let final_end = nth(&ops, 1, 0, |op| matches!(op, Operator::End));
            assert_eq!(info.step_targets(&bytes, final_end).unwrap(), LEAVES);
            assert_eq!(
                info.next_instruction(&bytes, final_end),
                Err(BytecodeError::NoNextInstruction(final_end))
            );
            assert_eq!(
                info.instruction_at(&bytes, final_end).unwrap().kind,
                InstrKind::FunctionEnd
            );
            let br = nth(&ops, 2, 0, |op| matches!(op, Operator::Br { .. }));
            assert_eq!(info.step_targets(&bytes, br).unwrap(), LEAVES);
        }

        #[test]
        fn unreachable_has_no_targets() {
            let (bytes, info) = build("(module (func unreachable))");
            let ops = code_ops(&bytes);
            let u = nth(&ops, 0, 0, |op| matches!(op, Operator::Unreachable));
            assert_eq!(
                info.step_targets(&bytes, u).unwrap(),
                StepTargets::default()
            );
        }

        #[test]
        fn calls_to_defined_and_imported_functions() {
            let (bytes, info) = build(CALLS);
            let ops = code_ops(&bytes);
            assert_eq!(info.num_imported_funcs(), 1);
            assert_eq!(info.num_funcs(), 5);
            // fact is function 1 (defined 0); its entry is after its locals declarations.
            let fact_entry = ops[0][0].0;
            assert_eq!(info.func_entry(1), Some(fact_entry));
            assert_eq!(info.func_entry(0), None);
            let body = info.func_body_range(1).unwrap();
            assert!(body.start < fact_entry && fact_entry < body.end);

            let call_fact = nth(&ops, 1, 0, |op| matches!(op, Operator::Call { .. }));
            assert_eq!(
                info.step_targets(&bytes, call_fact).unwrap(),
                StepTargets {
                    same_frame: vec![],
                    callee_entries: vec![fact_entry],
                    leaves_frame: false
                }
            );
            let call_ext = nth(&ops, 0, 0, |op| {
                matches!(op, Operator::Call { function_index: 0 })
            });
            assert_eq!(
                info.step_targets(&bytes, call_ext).unwrap(),
                same(&[after(&ops, 0, call_ext)])
            );

            let tail_defined = nth(&ops, 2, 0, |op| matches!(op, Operator::ReturnCall { .. }));
            assert_eq!(
                info.step_targets(&bytes, tail_defined).unwrap(),
                StepTargets {
                    same_frame: vec![],
                    callee_entries: vec![fact_entry],
                    leaves_frame: false
                }
            );
            let tail_import = nth(&ops, 3, 0, |op| matches!(op, Operator::ReturnCall { .. }));
            assert_eq!(info.step_targets(&bytes, tail_import).unwrap(), LEAVES);
            assert_eq!(
                info.instruction_at(&bytes, tail_import).unwrap().kind,
                InstrKind::TailCall
            );
        }

        #[test]
        fn call_indirect_candidates() {
            let (bytes, info) = build(
                r#"(module
                     (type $t (func (param i32) (result i32)))
                     (type $t2 (func (param i32) (result i32)))
                     (type $other (func (result i32)))
                     (import "env" "imp" (func $imp (type $t)))
                     (table 4 funcref)
                     (elem (i32.const 0) func $in_elem $other_sig $same_sig_other_index $imp)
                     (func $in_elem (type $t) local.get 0)
                     (func $not_referenced (type $t) local.get 0)
                     (func $other_sig (type $other) i32.const 0)
                     (func $same_sig_other_index (type $t2) local.get 0)
                     (func $exported (export "e") (type $t) local.get 0)
                     (func $caller (param i32) (result i32)
                       local.get 0
                       i32.const 1
                       call_indirect (type $t)))"#,
            );
            let ops = code_ops(&bytes);
            let ci = nth(&ops, 5, 0, |op| matches!(op, Operator::CallIndirect { .. }));
            let t = info.step_targets(&bytes, ci).unwrap();
            let mut expected = vec![
                info.func_entry(1).unwrap(),
                info.func_entry(4).unwrap(),
                info.func_entry(5).unwrap(),
            ];
            expected.sort_unstable();
            assert_eq!(t.callee_entries, expected);
            assert_eq!(t.same_frame, vec![after(&ops, 5, ci)]);
            assert!(!t.leaves_frame);
        }

        #[test]
        fn call_indirect_without_elements_considers_every_function_of_the_type() {
            let (bytes, info) = build(
                "(module
                   (type $t (func))
                   (table 1 funcref)
                   (func $a (type $t))
                   (func $b (param i32))
                   (func $c (type $t)
                     i32.const 0
                     call_indirect (type $t))
                   (func $d (type $t)
                     i32.const 0
                     return_call_indirect (type $t)))",
            );
            let ops = code_ops(&bytes);
            let ci = nth(&ops, 2, 0, |op| matches!(op, Operator::CallIndirect { .. }));
            let entries = vec![
                info.func_entry(0).unwrap(),
                info.func_entry(2).unwrap(),
                info.func_entry(3).unwrap(),
            ];
            let t = info.step_targets(&bytes, ci).unwrap();
            assert_eq!(t.callee_entries, entries);
            let rci = nth(&ops, 3, 0, |op| {
                matches!(op, Operator::ReturnCallIndirect { .. })
            });
            assert_eq!(
                info.step_targets(&bytes, rci).unwrap(),
                StepTargets {
                    same_frame: vec![],
                    callee_entries: entries,
                    leaves_frame: true
                }
            );
        }

        #[test]
        fn exceptions_reach_try_table_catches() {
            let (bytes, info) = build(
                "(module
                   (tag $e)
                   (func
                     block $all
                       try_table (catch_all $all)
                         throw $e
                       end
                     end)
                   (func
                     block $one
                       try_table (catch $e $one)
                         throw $e
                       end
                     end))",
            );
            let ops = code_ops(&bytes);
            let throw0 = nth(&ops, 0, 0, |op| matches!(op, Operator::Throw { .. }));
            let outer_end0 = nth(&ops, 0, 1, |op| matches!(op, Operator::End));
            assert_eq!(
                info.step_targets(&bytes, throw0).unwrap(),
                same(&[after(&ops, 0, outer_end0)])
            );
            let throw1 = nth(&ops, 1, 0, |op| matches!(op, Operator::Throw { .. }));
            let outer_end1 = nth(&ops, 1, 1, |op| matches!(op, Operator::End));
            assert_eq!(
                info.step_targets(&bytes, throw1).unwrap(),
                StepTargets {
                    same_frame: vec![after(&ops, 1, outer_end1)],
                    callee_entries: vec![],
                    leaves_frame: true
                }
            );
            let try_table = nth(&ops, 1, 0, |op| matches!(op, Operator::TryTable { .. }));
            assert_eq!(
                info.step_targets(&bytes, try_table).unwrap(),
                same(&[throw1])
            );
        }
    }
}
