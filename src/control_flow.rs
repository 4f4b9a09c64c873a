//! Where one Wasm instruction can transfer control, decided once per function.
//!
//! [`FunctionFlow::decode`] walks a function body a single time and keeps every instruction's
//! offset, the structured construct each one runs in, and where each construct's label lands.
//! A step then costs a binary search and the decoding of one operator, whatever the function's
//! size.
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

use wasmparser::{BinaryReader, Catch, Handle, Operator, OperatorsReader};

use crate::bytecode::{BytecodeError, StepTargets};

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
        while let Some(d) = ops.read()? {
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
        Ok(FunctionFlow {
            slots,
            constructs,
            end,
        })
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
}
