//! The debugger core: the debuggee view, breakpoints, watchpoints and the run state, behind one
//! struct that speaks to the engine only through [`Host`] and to the protocol layer only through
//! its methods and the [`crate::execution::Outcome`]s they return. It knows nothing of RSP: the
//! `gdb` module translates packets into these calls and the results into replies.

use crate::access_bounds::{Base, access_bases};
use crate::addr::{self, Location, Site};
use crate::breakpoints::{Breakpoints, UserBreakpoint};
use crate::debuggee::{AccessError, Debuggee};
use crate::execution::{End, RunState};
use crate::host::{Host, Value};
use crate::line_step::{LineStep, LineStepKind};
use crate::memory_access::Access;
use crate::stepping;
use crate::watchpoints::{Watchpoint, Watchpoints};
use std::collections::{BTreeMap, HashMap};

/// User breakpoints one client may have planted at once. LLDB plants one per location it
/// resolves; a few thousand covers `breakpoint set -r .` on a large program, and the bound keeps a
/// hostile client from growing the stub's memory without end.
pub const MAX_BREAKPOINTS: usize = 10_000;

/// Watchpoints one client may have set at once (x86-64 hardware gives native LLDB four).
pub const MAX_WATCHPOINTS: usize = 64;

/// How many bytes of Wasm code Wasmtime may republish to plant one set of watch breakpoints.
/// Each planted breakpoint republishes its module's whole compiled code: measured here, 0.2 ms
/// per breakpoint in Lua (320 KB of code) and 2.4 ms in a 2 MB Rust debug build, about 1 ns per
/// byte. This keeps a watchpoint's set-up to about 10 s: a read watchpoint in Lua (29,000 loads and
/// stores) fits; a write watchpoint over the 2 MB build's 89,000 stores (211 s) is refused.
pub const WATCH_SETUP_BUDGET: u64 = 12_000_000_000;

/// The most bytes of one instruction LLDB's disassembler keeps (`Opcode`'s `uint8_t bytes[16]`,
/// lldb/include/lldb/Core/Opcode.h, LLDB 22; an `assert` is its only guard).
pub const LLDB_INSTRUCTION_BYTES: u32 = 16;

/// Why a request was refused; the client gets the text with the error (`Enn;<hex text>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal(pub String);

impl Refusal {
    pub fn new(text: impl Into<String>) -> Self {
        Refusal(text.into())
    }
}

impl From<AccessError> for Refusal {
    fn from(e: AccessError) -> Self {
        Refusal(e.to_string())
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// How the core was asked to behave for the whole run.
#[derive(Copy, Clone, Debug, Default)]
pub struct CoreOptions {
    /// Steps use Wasmtime's single-step mode (`--host-step`), the reference for tests.
    pub host_step: bool,
}

/// The breakpoints a set of watchpoints needs.
#[derive(Default)]
struct WatchPlan {
    /// Each instruction to stop at, with the access it makes.
    sites: BTreeMap<Site, Access>,
    /// Sum over those breakpoints of their module's code size: what Wasmtime republishes.
    republished_bytes: u64,
}

pub struct Debugger<H: Host> {
    pub debuggee: Debuggee<H>,
    pub breakpoints: Breakpoints,
    pub watchpoints: Watchpoints,
    /// Every instruction of a module that touches its linear memory, decoded the first time a
    /// watchpoint is set in that module (a 16 MB module has a few hundred thousand).
    memory_accesses: HashMap<u32, Vec<(u32, Access, Base)>>,
    /// The memory access of each instruction that carries a watch breakpoint.
    watch_accesses: HashMap<Site, Access>,
    pub(crate) run: RunState<H::Pending>,
    /// How the program will end once resumed: the status it passed to `exit` (which surfaces as
    /// a trap), or the trap it was resumed from.
    pub(crate) exit: Option<End>,
    pub(crate) options: CoreOptions,
    /// The line step the client armed (`QWasmLineStep`): single steps from a source line run
    /// to the line's end (see `crate::line_step`).
    line_step_armed: Option<LineStepKind>,
    /// The line step under way, until the stop that ends it.
    pub(crate) line_step: Option<LineStep>,
    /// A step's stop shown at its real pc, until the program resumes: see
    /// `Debugger::a_step_is_shown_to_move`.
    pub(crate) shown_exactly: Option<Site>,
}

impl<H: Host> Debugger<H> {
    pub fn new(host: H, options: CoreOptions) -> Self {
        Debugger {
            debuggee: Debuggee::new(host),
            breakpoints: Breakpoints::default(),
            watchpoints: Watchpoints::default(),
            memory_accesses: HashMap::new(),
            watch_accesses: HashMap::new(),
            run: RunState::default(),
            exit: None,
            options,
            line_step_armed: None,
            line_step: None,
            shown_exactly: None,
        }
    }

    /// Drops everything a client asked for (breakpoints, watchpoints): it left. The host's
    /// breakpoints go at the next resumption.
    pub fn forget_client(&mut self) {
        self.breakpoints.clear_all();
        self.watchpoints.clear();
        self.watch_accesses.clear();
        self.line_step_armed = None;
    }

    /// Arms (or with `None` disarms) line steps: what the client's next single steps mean.
    pub fn arm_line_step(&mut self, kind: Option<LineStepKind>) {
        self.line_step_armed = kind;
    }

    pub(crate) fn line_step_armed(&self) -> Option<LineStepKind> {
        self.line_step_armed
    }

    /// Why LLDB's own fast stepping (`target.use-fast-stepping`) cannot step the source line at
    /// code address `addr` safely, or `None` if it can. That stepping disassembles the source rows
    /// holding the code the step can run in its activation ([`LineStep::region`]; without line
    /// information there, the whole function) and runs from branch to branch, so it fails on:
    /// - an instruction longer than [`LLDB_INSTRUCTION_BYTES`] (LLDB 22 overflows its buffer);
    /// - a control transfer LLDB does not take for a branch: a `br_table` (seen in its step log:
    ///   it runs on to the next `br_if` and loses the step), and, not to trust it further than
    ///   seen, `if`, `else`, `try_table` and the throws.
    pub fn fast_stepping_hazard_at(&self, addr: u64) -> Result<Option<String>, Refusal> {
        let site = self.code_site(addr)?;
        let (module, info) = self.analysed_module(site)?;
        let func = info
            .func_containing(site.pc)
            .ok_or_else(|| Refusal::new(format!("{addr:#x} is in no function")))?;
        let body = info.func_body_range(func).unwrap_or(site.pc..site.pc + 1);
        let refused =
            |e: crate::wasm_module::BytecodeError| Refusal::new(format!("{addr:#x}: {e}"));
        let region = LineStep::of_line(&self.debuggee, site)
            .and_then(|line| line.region(&self.debuggee, site).ok());
        let lines = module.line_table();
        // The rows holding the region, merged, in order.
        let mut rows: Vec<std::ops::Range<u32>> = Vec::new();
        let around = |pc: u32| lines.row_around(pc, body.clone());
        let unmerged: Vec<std::ops::Range<u32>> = match &region {
            Some(region) => region.iter().map(|&pc| around(pc)).collect(),
            None => vec![body.clone()],
        };
        for row in unmerged {
            match rows.last_mut() {
                Some(last) if row.start <= last.end => last.end = last.end.max(row.end),
                _ => rows.push(row),
            }
        }
        let in_rows = |pc: u32| {
            let after = rows.partition_point(|row| row.start <= pc);
            after > 0 && rows[after - 1].contains(&pc)
        };
        let mut boundaries = info
            .instruction_boundaries(&module.bytes, func)
            .map_err(refused)?;
        boundaries.push(body.end);
        for w in boundaries.windows(2) {
            let (pc, len) = (w[0], w[1] - w[0]);
            if !in_rows(pc) {
                continue;
            }
            let Ok((_, _, decoded)) = info.decode(&module.bytes, pc) else {
                continue;
            };
            let unseen_branch = matches!(
                decoded.op,
                wasmparser::Operator::BrTable { .. }
                    | wasmparser::Operator::If { .. }
                    | wasmparser::Operator::Else
                    | wasmparser::Operator::TryTable { .. }
                    | wasmparser::Operator::Throw { .. }
                    | wasmparser::Operator::ThrowRef
            );
            if len > LLDB_INSTRUCTION_BYTES {
                return Ok(Some(format!(
                    "the {len}-byte instruction at {pc:#x} is longer than the \
                     {LLDB_INSTRUCTION_BYTES} bytes LLDB's disassembler keeps"
                )));
            }
            if unseen_branch {
                return Ok(Some(format!(
                    "LLDB's fast stepping does not take the control transfer at {pc:#x} for a \
                     branch"
                )));
            }
        }
        Ok(None)
    }

    /// The module of `site` with its analysis, or why a request about it is refused.
    fn analysed_module(
        &self,
        site: Site,
    ) -> Result<
        (
            &crate::debuggee::Module<H::Module>,
            &crate::wasm_module::ModuleInfo,
        ),
        Refusal,
    > {
        let module = self
            .debuggee
            .module(site.module)
            .ok_or_else(|| Refusal::new(format!("no module {}", site.module)))?;
        let info = module
            .info
            .as_ref()
            .ok_or_else(|| Refusal::new(format!("module {} could not be decoded", site.module)))?;
        Ok((module, info))
    }

    /// The code address of the function a C function pointer's value, `index`, stands for in the
    /// module of code address `within`: a Wasm function pointer is a slot of the module's table
    /// 0, filled by its element segments when it is instantiated. The address is the function's
    /// start as its DWARF gives it (`low_pc`, where its opening line starts).
    pub fn indirect_function_at(&self, within: u64, index: u32) -> Result<u64, Refusal> {
        let site = self.code_site(within)?;
        let (module, info) = self.analysed_module(site)?;
        let func = info.table_function(index).ok_or_else(|| {
            Refusal::new(format!(
                "slot {index} of {}'s table holds no function",
                module.name
            ))
        })?;
        let body = info.func_body_range(func).ok_or_else(|| {
            Refusal::new(format!(
                "slot {index} of {}'s table is an imported function",
                module.name
            ))
        })?;
        Ok(addr::code_addr(site.module, body.start))
    }

    /// The address LLDB is shown for a frame at `site`: where a user breakpoint LLDB planted
    /// stands for this pc, that breakpoint's address, so LLDB recognises its hit; otherwise
    /// [`Debuggee::shown_pc`].
    pub fn frame_addr(&self, site: Site) -> u64 {
        if self.breakpoints.has_user(site) || self.shown_exactly == Some(site) {
            return site.addr();
        }
        if let Some(user) = self.breakpoints.user_alias_of(site) {
            return user.addr();
        }
        addr::code_addr(site.module, self.debuggee.shown_pc(site.module, site.pc))
    }

    /// Where the innermost frame is; before any guest code has run, where the program will begin.
    pub fn current_site(&self) -> Option<Site> {
        match self.debuggee.stack.first() {
            Some(f) => Some(f.site),
            None => self.debuggee.entry_site(),
        }
    }

    /// The innermost frame's pc as LLDB is shown it (see [`Debugger::frame_addr`]).
    pub fn reported_pc(&self) -> u64 {
        self.current_site().map_or(0, |s| self.frame_addr(s))
    }

    /// The real protocol pc of the innermost frame (see [`Debugger::current_site`]).
    pub fn current_pc(&self) -> u64 {
        self.current_site().map_or(0, Site::addr)
    }

    /// Each frame's shown address, innermost first; before the program starts, where it will.
    pub fn call_stack(&self) -> Vec<u64> {
        if self.debuggee.stack.is_empty() {
            return self
                .current_site()
                .map(|s| self.frame_addr(s))
                .into_iter()
                .collect();
        }
        self.debuggee
            .stack
            .iter()
            .map(|f| self.frame_addr(f.site))
            .collect()
    }

    pub fn local(&self, frame: usize, index: usize) -> Option<Value> {
        self.debuggee.local(frame, index)
    }

    /// Slot `index` of a frame's operand stack, counted from the top.
    pub fn stack_value(&self, frame: usize, index: usize) -> Option<Value> {
        let stack = self.debuggee.operand_stack(frame)?;
        // `index` comes from the packet: `index + 1` could overflow.
        let slot = stack.len().checked_sub(index.checked_add(1)?)?;
        stack.get(slot).cloned()
    }

    pub fn global(&self, frame: usize, index: u32) -> Option<Value> {
        self.debuggee.global(frame, index)
    }

    /// The code location at a protocol address, if it is inside a module's bytecode.
    pub fn code_site(&self, addr: u64) -> Result<Site, Refusal> {
        match Location::decode(addr) {
            Some(Location::Code(site)) => {
                let m = self
                    .debuggee
                    .module(site.module)
                    .ok_or_else(|| Refusal::new(format!("no module {}", site.module)))?;
                if (site.pc as usize) < m.bytes.len() {
                    Ok(site)
                } else {
                    Err(Refusal::new(format!(
                        "{addr:#x} is past the end of {} ({} bytes)",
                        m.name,
                        m.bytes.len()
                    )))
                }
            }
            _ => Err(Refusal::new(format!("{addr:#x} is not a code address"))),
        }
    }

    /// Adds a user breakpoint (LLDB's `Z0`). It is planted in Wasmtime when the program next
    /// resumes, together with every other change since the last stop, so a breakpoint LLDB removes
    /// and re-adds around a step costs no host edit.
    pub fn add_breakpoint(&mut self, addr: u64) -> Result<(), Refusal> {
        let site = self.code_site(addr)?;
        let module = self.debuggee.module(site.module);
        if let Some(info) = module.and_then(|m| m.info.as_ref())
            && info.func_containing(site.pc).is_none()
        {
            return Err(Refusal::new(format!(
                "{addr:#x} is not inside a function body"
            )));
        }
        if !self.breakpoints.has_user(site) && self.breakpoints.user_count() >= MAX_BREAKPOINTS {
            return Err(Refusal::new(format!(
                "too many breakpoints (at most {MAX_BREAKPOINTS})"
            )));
        }
        let only_at_depth = stepping::return_address_depth(&self.debuggee.frame_sites(), site);
        let aliases = module
            .and_then(|m| Some(m.info.as_ref()?.loop_landings_from(&m.bytes, site.pc)))
            .unwrap_or_default();
        log::debug!("Z0 {site:?} only_at_depth={only_at_depth:?} aliases={aliases:?}");
        self.breakpoints.add_user(
            site,
            UserBreakpoint {
                only_at_depth,
                aliases,
            },
        );
        Ok(())
    }

    pub fn remove_breakpoint(&mut self, addr: u64) -> Result<(), Refusal> {
        let site = self.code_site(addr)?;
        log::debug!("z0 {site:?}");
        self.breakpoints.remove_user(site);
        Ok(())
    }

    /// Adds a watchpoint on linear memory (`Z2`/`Z3`/`Z4`), unless planting its breakpoints
    /// would cost more than [`WATCH_SETUP_BUDGET`].
    pub fn add_watchpoint(&mut self, watch: Watchpoint) -> Result<(), Refusal> {
        if self.watchpoints.list().len() >= MAX_WATCHPOINTS {
            return Err(Refusal::new(format!(
                "too many watchpoints (at most {MAX_WATCHPOINTS})"
            )));
        }
        if self.debuggee.module(watch.module).is_none() {
            return Err(Refusal::new(format!("no module {}", watch.module)));
        }
        let mut wanted = self.watchpoints.clone();
        wanted.add(watch);
        let plan = self.plan_watch_sites(&wanted);
        if plan.republished_bytes > WATCH_SETUP_BUDGET {
            let sites = plan.sites.len();
            let affordable = u64::try_from(sites).unwrap_or(u64::MAX) * WATCH_SETUP_BUDGET
                / plan.republished_bytes;
            return Err(Refusal::new(format!(
                "this watchpoint needs breakpoints on {sites} memory accesses, and Wasmtime \
                 republishes the module's code for each (about 1 ms per MB of code): at most \
                 {affordable} fit the stub's bound of about 10 s of set-up"
            )));
        }
        self.watchpoints = wanted;
        self.use_watch_sites(plan);
        Ok(())
    }

    pub fn remove_watchpoint(&mut self, watch: &Watchpoint) {
        let mut wanted = self.watchpoints.clone();
        wanted.remove(watch);
        let plan = self.plan_watch_sites(&wanted);
        self.watchpoints = wanted;
        self.use_watch_sites(plan);
    }

    /// Which instructions need a breakpoint for `watchpoints`, and what planting them costs.
    fn plan_watch_sites(&mut self, watchpoints: &Watchpoints) -> WatchPlan {
        let mut plan = WatchPlan::default();
        for module in watchpoints.modules() {
            let Some(m) = self.debuggee.module(module) else {
                continue;
            };
            let Some(info) = m.info.as_ref() else {
                continue;
            };
            let accesses = self.memory_accesses.entry(module).or_insert_with(|| {
                (info.num_imported_funcs()..info.num_funcs())
                    .filter_map(|func| {
                        let accesses = info.memory_accesses(&m.bytes, func).ok()?;
                        let bases = access_bases(info, &m.bytes, func).unwrap_or_default();
                        Some(accesses.into_iter().map(move |(pc, access)| {
                            (pc, access, bases.get(&pc).copied().unwrap_or(Base::Unknown))
                        }))
                    })
                    .flatten()
                    .collect()
            });
            let initial_sp = info.stack_pointer().map(|(_, initial)| initial);
            let mut count: u64 = 0;
            for &(pc, access, base) in accesses.iter() {
                if watchpoints.wants(module, &access, base, initial_sp) {
                    plan.sites.insert(Site::new(module, pc), access);
                    count += 1;
                }
            }
            plan.republished_bytes = plan
                .republished_bytes
                .saturating_add(count.saturating_mul(u64::from(info.code_size())));
        }
        plan
    }

    fn use_watch_sites(&mut self, plan: WatchPlan) {
        self.breakpoints
            .set_watch_sites(plan.sites.keys().copied().collect());
        self.watch_accesses = plan.sites.into_iter().collect();
    }

    /// The watchpoint the instruction at `site`, about to run in the innermost frame, triggers.
    pub(crate) fn watch_hit(&self, site: Site) -> Option<Watchpoint> {
        // Decoded once when the watch sites were chosen: a watched loop hits this on every access.
        let access = *self.watch_accesses.get(&site)?;
        let stack: Vec<u64> = self
            .debuggee
            .operand_stack(0)?
            .iter()
            .map(Value::as_address)
            .collect();
        self.watchpoints.hit(site.module, &access, &stack)
    }

    /// Applies the net breakpoint changes since the last resumption to the host. Called only just
    /// before the program resumes: the host takes no request while it runs, and applying edits
    /// once per resumption means a breakpoint removed and re-added in between costs nothing. A
    /// site the host refuses is logged and left out, to be retried at the next resumption.
    pub(crate) fn apply_breakpoint_edits(&mut self) {
        let edits = self.breakpoints.sync();
        for site in edits.remove {
            if let Err(e) = self.debuggee.remove_breakpoint(site) {
                log::warn!("removing the breakpoint at {site:?}: {e}");
            }
        }
        for site in edits.add {
            if let Err(e) = self.debuggee.add_breakpoint(site) {
                log::warn!("planting a breakpoint at {site:?}: {e}");
                self.breakpoints.planting_failed(site);
            }
        }
    }

    pub fn read_memory(&self, module: u32, offset: u64, len: usize) -> Result<Vec<u8>, Refusal> {
        self.ensure_paused()?;
        Ok(self.debuggee.read_memory(module, offset, len)?)
    }

    pub fn write_memory(&self, module: u32, offset: u64, data: &[u8]) -> Result<(), Refusal> {
        self.ensure_paused()?;
        Ok(self.debuggee.write_memory(module, offset, data)?)
    }

    fn ensure_paused(&self) -> Result<(), Refusal> {
        if self.is_running() {
            Err(AccessError::Running.into())
        } else {
            Ok(())
        }
    }
}
