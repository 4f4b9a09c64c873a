//! Line steps the stub runs itself: LLDB's `next` and `step` carried out in one resumption, so
//! that LLDB never disassembles Wasm code to step (LLDB 22's disassembler overflows a 16-byte
//! buffer on any longer instruction, such as the `br_table` of a dense `switch`; see
//! `lldb/wasm_gdbstub.py`) and does not pay a round trip per instruction.
//!
//! The LLDB integration arms a kind with `QWasmLineStep:over|into` around LLDB's own step command
//! (run with fast stepping off, so LLDB asks for single steps). While armed, a single step that
//! starts on a source line runs until the program reaches what would end LLDB's range step: the
//! start of another line in the same activation, a return from it, or, for `step`, the entry of a
//! function with line information. LLDB's thread plan then sees one completed step there and
//! decides what it shows exactly as it would after its own stepping.
//!
//! The line's exits are found by following the control flow of the instructions that belong to
//! the line (`crate::control_flow`), and each exit gets a temporary breakpoint tied to its
//! activation, as a single step does (`crate::stepping`). A `br_table` is resolved when the
//! program reaches it, from the index on its operand stack, so a `switch` of hundreds of cases
//! plants one breakpoint, not hundreds.

use std::collections::{BTreeSet, HashSet};

use wasmparser::Operator;

use crate::addr::Site;
use crate::breakpoints::StepTarget;
use crate::control_flow::StepTargets;
use crate::debuggee::Debuggee;
use crate::host::{Host, Value};
use crate::wasm_module::ModuleInfo;

/// Which LLDB step a line step stands in for.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum LineStepKind {
    /// `next`: calls run to their return.
    Over,
    /// `step`: also ends on entering a called function that has line information.
    Into,
}

/// A line step under way.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineStep {
    pub kind: LineStepKind,
    /// The stack depth of the activation being stepped.
    depth: usize,
    /// The source line being stepped: file and line number.
    file: String,
    line: u32,
}

/// What [`LineStep::explore`] is for.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Exploring {
    /// The breakpoints of a step from the current stop.
    Plan,
    /// Everything LLDB's own stepping may go through.
    Region,
}

/// Where execution can leave a line: the pc, and the activation it is in then.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Exit {
    SameFrame,
    /// A called function's entry (`step`).
    Callee,
    /// The caller's return address.
    Caller,
}

struct Explored {
    exits: Vec<(u32, Exit)>,
    followed: HashSet<u32>,
}

/// A bound on the instructions one line can span; a line of straight code has a few dozen.
const MAX_LINE_INSTRUCTIONS: usize = 200_000;

impl LineStep {
    /// A line step from the innermost frame, or `None` where its pc lies on no source line (the
    /// step is then one instruction, as LLDB steps code without line information).
    pub fn start<H: Host>(kind: LineStepKind, debuggee: &Debuggee<H>) -> Option<LineStep> {
        let stack = debuggee.frame_sites();
        let top = *stack.first()?;
        Some(LineStep {
            kind,
            depth: stack.len(),
            ..LineStep::of_line(debuggee, top)?
        })
    }

    /// A `next` of the line at `at` (which need not be where the program is).
    pub fn of_line<H: Host>(debuggee: &Debuggee<H>, at: Site) -> Option<LineStep> {
        let module = debuggee.module(at.module)?;
        let info = module.info.as_ref()?;
        let body = info.func_body_range(info.func_containing(at.pc)?)?;
        let (file, line) = module.line_table().line_containing(at.pc, body.start)?;
        Some(LineStep {
            kind: LineStepKind::Over,
            depth: 0,
            file: file.to_string(),
            line,
        })
    }

    /// The temporary breakpoints at which the step may end, from the current stop.
    pub fn plan<H: Host>(&self, debuggee: &Debuggee<H>) -> Result<Vec<StepTarget>, String> {
        let stack = debuggee.frame_sites();
        let top = *stack.first().ok_or("there is no frame to step")?;
        let depth = stack.len();
        let explored = self.explore(debuggee, top, Exploring::Plan)?;
        let mut targets: Vec<StepTarget> = explored
            .exits
            .iter()
            .filter_map(|&(pc, exit)| {
                let (site, depth) = match exit {
                    Exit::SameFrame => (Site::new(top.module, pc), depth),
                    Exit::Callee => (Site::new(top.module, pc), depth + 1),
                    Exit::Caller => (*stack.get(1)?, depth - 1),
                };
                Some(StepTarget { site, depth })
            })
            .collect();
        targets.sort_by_key(|t| (t.site, t.depth));
        targets.dedup();
        Ok(targets)
    }

    /// The instructions a step of this line may run in its own activation, from `at` or from
    /// any other place the line starts in its function, as LLDB's own range stepping would go
    /// through them (every `br_table` case followed): with fast stepping LLDB disassembles the
    /// source rows holding them. The same for every pc of the line, so it can be asked once per
    /// line.
    pub fn region<H: Host>(
        &self,
        debuggee: &Debuggee<H>,
        at: Site,
    ) -> Result<BTreeSet<u32>, String> {
        let module = debuggee
            .module(at.module)
            .ok_or_else(|| format!("no module {}", at.module))?;
        let body = module
            .info
            .as_ref()
            .and_then(|info| info.func_body_range(info.func_containing(at.pc)?))
            .ok_or_else(|| format!("{:#x} is in no function", at.pc))?;
        let starts = module
            .line_table()
            .starts_of(&self.file, self.line)
            .into_iter()
            .filter(|pc| body.contains(pc));
        let mut region = BTreeSet::new();
        for from in starts.chain(std::iter::once(at.pc)) {
            if region.contains(&from) {
                continue;
            }
            let explored = self.explore(debuggee, Site::new(at.module, from), Exploring::Region)?;
            region.extend(explored.followed);
        }
        Ok(region)
    }

    /// Follows the control flow from `top` through the instructions of the step's line (and the
    /// code that keeps LLDB stepping: line 0, the middle of other lines) to the exits.
    fn explore<H: Host>(
        &self,
        debuggee: &Debuggee<H>,
        top: Site,
        exploring: Exploring,
    ) -> Result<Explored, String> {
        let module = debuggee
            .module(top.module)
            .ok_or_else(|| format!("no module {}", top.module))?;
        let info = module
            .info
            .as_ref()
            .ok_or_else(|| format!("module {} could not be decoded", top.module))?;
        let bytes = &module.bytes;
        let lines = module.line_table();
        let cannot = |pc: u32, e| format!("cannot tell where the instruction at {pc:#x} goes: {e}");
        let planning = exploring == Exploring::Plan;

        let mut exits = Vec::new();
        let mut followed = HashSet::from([top.pc]);
        let mut queue = vec![top.pc];
        while let Some(pc) = queue.pop() {
            if followed.len() > MAX_LINE_INSTRUCTIONS {
                return Err(format!(
                    "line {} spans more than {MAX_LINE_INSTRUCTIONS} instructions",
                    self.line
                ));
            }
            let taken = if planning && pc == top.pc {
                taken_branch(debuggee, info, bytes, pc)
            } else {
                None
            };
            let successors = match taken {
                Some(taken) => taken,
                None => info.step_targets(bytes, pc).map_err(|e| cannot(pc, e))?,
            };
            if successors.leaves_frame {
                exits.push((pc, Exit::Caller));
            }
            let mut same_frame = successors.same_frame;
            if !successors.callee_entries.is_empty() {
                // A call returns to the instruction after it, in this activation.
                if let Ok(next) = info.next_instruction(bytes, pc) {
                    same_frame.push(next);
                }
                if self.kind == LineStepKind::Into {
                    let with_lines = successors.callee_entries.iter().filter(|&&entry| {
                        info.func_containing(entry)
                            .and_then(|f| info.func_body_range(f))
                            .is_some_and(|body| lines.has_lines_in(body))
                    });
                    exits.extend(with_lines.map(|&entry| (entry, Exit::Callee)));
                }
            }
            for next in same_frame {
                // While planning, a `br_table` is resolved when the program gets there (see the
                // module docs), also one the step started at: the dispatch loops LLVM builds for
                // irreducible control flow come back to the same `br_table` with another index.
                if self.line_ends_at(debuggee, top.module, next)
                    || (planning && is_br_table(info, bytes, next))
                {
                    exits.push((next, Exit::SameFrame));
                } else if followed.insert(next) {
                    queue.push(next);
                }
            }
        }
        Ok(Explored { exits, followed })
    }

    /// Whether the stop the step's breakpoints just made ends the step; if not, the step goes on
    /// from there with a new [`LineStep::plan`]. A call that returns into the middle of its
    /// caller's line ends the step there, as natively, unless all that is left of that line is
    /// dropping the call's unused result: natively the return address is then already the next
    /// line, so the step goes on to it, stepping the caller's line from here.
    pub fn ends_here<H: Host>(&mut self, debuggee: &Debuggee<H>) -> bool {
        let stack = debuggee.frame_sites();
        let Some(top) = stack.first() else {
            return true;
        };
        if stack.len() + 1 == self.depth
            && only_drops_before_a_line(debuggee, *top)
            && let Some(caller_line) = LineStep::start(LineStepKind::Over, debuggee)
        {
            *self = caller_line;
            return false;
        }
        if stack.len() != self.depth {
            return true;
        }
        self.line_ends_at(debuggee, top.module, top.pc)
    }

    /// Whether the stepped activation reaching `pc` ends the step: another line starts there, as
    /// LLDB is shown it (see `Debuggee::shown_pc`). The same line starting again, code of line 0
    /// and the middle of a line keep LLDB stepping, so they keep this step going.
    fn line_ends_at<H: Host>(&self, debuggee: &Debuggee<H>, module: u32, pc: u32) -> bool {
        let Some(m) = debuggee.module(module) else {
            return true;
        };
        let lines = m.line_table();
        [pc, debuggee.shown_pc(module, pc)].into_iter().any(|at| {
            lines
                .line_start(at)
                .is_some_and(|(file, line)| (file, line) != (self.file.as_str(), self.line))
        })
    }
}

fn is_br_table(info: &ModuleInfo, bytes: &[u8], pc: u32) -> bool {
    matches!(info.br_table_landing(bytes, pc, 0), Ok(Some(_)))
}

/// Where the `br_table` at `pc`, the instruction about to run, goes: its index is on top of the
/// operand stack. `None` for another instruction, or if the stack cannot be read.
fn taken_branch<H: Host>(
    debuggee: &Debuggee<H>,
    info: &ModuleInfo,
    bytes: &[u8],
    pc: u32,
) -> Option<StepTargets> {
    if !is_br_table(info, bytes, pc) {
        return None;
    }
    let operands = debuggee.operand_stack(0)?;
    let Some(&Value::I32(index)) = operands.last() else {
        return None;
    };
    info.br_table_landing(bytes, pc, index).ok().flatten()
}

/// Whether the code at `at` is only `drop`s up to the start of a source line.
fn only_drops_before_a_line<H: Host>(debuggee: &Debuggee<H>, at: Site) -> bool {
    let Some(module) = debuggee.module(at.module) else {
        return false;
    };
    let Some(info) = module.info.as_ref() else {
        return false;
    };
    let lines = module.line_table();
    let mut pc = at.pc;
    let mut dropped = 0;
    loop {
        if lines.line_start(pc).is_some() {
            return dropped > 0;
        }
        match info.decode(&module.bytes, pc) {
            Ok((_, _, decoded)) if matches!(decoded.op, Operator::Drop) => {
                dropped += 1;
                pc = decoded.next;
            }
            _ => return false,
        }
    }
}
