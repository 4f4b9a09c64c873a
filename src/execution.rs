//! Running the debuggee between stops: starts a resumption (a step is a continue with temporary
//! breakpoints planted, see `crate::stepping`) and decides what each host event means: a stop to
//! report, a silent resume, or the end of the program. The run state is one enum, so a state
//! such as "running and finished" cannot be expressed.

use crate::addr::Site;
use crate::breakpoints::{Hit, StepTarget};
use crate::debugger::Debugger;
use crate::host::{Host, HostEvent, ResumeMode, Value};
use crate::line_step::LineStep;
use crate::stepping;
use crate::traps::TrapReason;
use crate::watchpoints::Watchpoint;

/// Why the debuggee stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stop {
    /// A user breakpoint.
    Breakpoint,
    /// A completed step.
    StepDone,
    Trap(TrapReason),
    /// Ctrl-C / `process interrupt`.
    Interrupted,
    /// An access to watched memory has just run.
    Watch(Watchpoint),
    /// A Wasm exception was thrown.
    Exception,
    /// A step was asked where the stub cannot tell which instruction runs next; the program was
    /// not resumed (running it free would lose control of it). Carries why.
    StepRefused(String),
}

/// How the program ended.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum End {
    /// Exited normally with this status (0 unless it called `exit` with another).
    Status(u8),
    /// Ended by the trap it stopped at, with the trap's signal.
    Trapped(u8),
}

#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Stopped(Stop),
    /// The program finished.
    Exited(End),
    /// Nothing to report; the debuggee runs on.
    Running,
}

/// What a client asked the program to do.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ResumeRequest {
    Continue,
    Step,
}

/// Where the program is between the debugger's requests.
pub enum RunState<P> {
    Paused {
        /// The signal of the trap it stopped at: resuming from a trap ends the program.
        trap: Option<u8>,
        /// The stop was shown to the client at another address than the real pc (see
        /// `Debuggee::shown_pc`).
        shown_elsewhere: bool,
    },
    Running {
        pending: P,
        /// A host single step (`--host-step`): its end is reported as a breakpoint event.
        host_step: bool,
        interrupt_requested: bool,
        /// A watched access being stepped over, to be reported once it has happened.
        watch_step: Option<Watchpoint>,
        /// Where and at what stack depth the program resumed, when its whole stack was known.
        from: Option<(Site, usize)>,
        /// A step of an instruction that stays in its activation: it ends under the same callers.
        step_stays_in_frame: bool,
    },
    Finished,
}

impl<P> Default for RunState<P> {
    fn default() -> Self {
        RunState::Paused {
            trap: None,
            shown_elsewhere: false,
        }
    }
}

/// Depth of a step target planted before any frame exists (the initial stop): any activation.
const ANY_DEPTH: usize = usize::MAX;

impl<H: Host> Debugger<H> {
    pub fn is_running(&self) -> bool {
        matches!(self.run, RunState::Running { .. })
    }

    pub fn finished(&self) -> bool {
        matches!(self.run, RunState::Finished)
    }

    /// Whether an interrupt was asked and has not yet stopped the program.
    pub fn interrupt_pending(&self) -> bool {
        matches!(
            self.run,
            RunState::Running {
                interrupt_requested: true,
                ..
            }
        )
    }

    /// Resumes the paused debuggee as the client asked. Resuming from a trap ends the program,
    /// and for a core module Wasmtime ends the process before a reply could be sent, so that end
    /// is returned to be reported first; the program is resumed after the client has it.
    pub fn resume(&mut self, request: ResumeRequest) -> Option<Outcome> {
        let RunState::Paused {
            trap,
            shown_elsewhere,
        } = self.run
        else {
            return None;
        };
        if let Some(signal) = trap {
            return Some(Outcome::Exited(End::Trapped(signal)));
        }
        if self.options.host_step && request == ResumeRequest::Step {
            log::debug!("resume Step with the host's single-step");
            self.breakpoints.clear_step();
            self.start(ResumeMode::SingleStep, None, false);
            return None;
        }
        if request == ResumeRequest::Continue
            && let Some(top) = self.debuggee.stack.first()
        {
            // The client believes execution is at the shown pc, before the real one (see
            // `Debuggee::shown_pc`), and may plant a breakpoint at the real pc and continue, as
            // LLDB's step-in does to run past a prologue: that breakpoint is where execution
            // already is, so it is hit at once.
            if shown_elsewhere && self.breakpoints.has_user(top.site) {
                self.run = RunState::Paused {
                    trap: None,
                    shown_elsewhere: false,
                };
                return Some(Outcome::Stopped(Stop::Breakpoint));
            }
        }
        self.line_step = match (request, self.line_step_armed()) {
            (ResumeRequest::Step, Some(kind)) => LineStep::start(kind, &self.debuggee),
            _ => None,
        };
        let plan = match (request, &self.line_step) {
            (ResumeRequest::Continue, _) => Ok(Vec::new()),
            (ResumeRequest::Step, Some(line_step)) => line_step.plan(&self.debuggee),
            (ResumeRequest::Step, None) => self.step_plan(),
        };
        let plan = match plan {
            Ok(plan) => plan,
            Err(why) => {
                self.line_step = None;
                return Some(Outcome::Stopped(refuse_step(why)));
            }
        };
        log::debug!(
            "resume {request:?} line_step={:?} plan={plan:?}",
            self.line_step
        );
        self.breakpoints.set_step(plan);
        let stays_in_frame = request == ResumeRequest::Step
            && self.line_step.is_none()
            && self.top_stays_in_activation();
        self.start(ResumeMode::Continue, None, stays_in_frame);
        None
    }

    /// Resumes whatever the state (a detached or ending program), without reporting anything.
    pub fn run_on(&mut self) {
        if let RunState::Paused { trap, .. } = self.run {
            if let Some(signal) = trap {
                // The host ends the program when it resumes from a trap.
                self.exit = Some(End::Trapped(signal));
            }
            self.breakpoints.clear_step();
            self.start(ResumeMode::Continue, None, false);
        }
    }

    fn start(
        &mut self,
        mode: ResumeMode,
        watch_step: Option<Watchpoint>,
        step_stays_in_frame: bool,
    ) {
        let stack = &self.debuggee.stack;
        let from = stack
            .first()
            .filter(|_| self.debuggee.stack_is_complete())
            .map(|f| (f.site, stack.len()));
        self.shown_exactly = None;
        // The last moment the host takes breakpoint edits until the program stops again.
        self.apply_breakpoint_edits();
        self.debuggee.forget_stop();
        let pending = self.debuggee.host.resume(mode);
        self.run = RunState::Running {
            pending,
            host_step: mode == ResumeMode::SingleStep,
            interrupt_requested: false,
            watch_step,
            from,
            step_stays_in_frame,
        };
    }

    /// Waits until the running debuggee reports an event.
    pub async fn ready(&mut self) {
        match &mut self.run {
            RunState::Running { pending, .. } => H::ready(pending).await,
            _ => std::future::pending::<()>().await,
        }
    }

    pub fn interrupt(&mut self) {
        if let RunState::Running {
            interrupt_requested,
            ..
        } = &mut self.run
        {
            *interrupt_requested = true;
            self.debuggee.host.interrupt();
        }
    }

    /// Takes the finished event and decides what it means.
    pub fn on_event(&mut self) -> Outcome {
        let RunState::Running {
            pending,
            host_step,
            interrupt_requested,
            watch_step,
            from,
            step_stays_in_frame,
        } = std::mem::take(&mut self.run)
        else {
            return Outcome::Running;
        };
        let event = match self.debuggee.host.finish(pending) {
            Ok(event) => event,
            // The host could not say what happened; the store is unusable, treat it as the end.
            Err(e) => {
                log::info!("event error: {e}");
                return self.finish();
            }
        };
        log::trace!("event {event:?}");
        let mut trap = None;
        let verdict = match event {
            HostEvent::Complete => return self.finish(),
            HostEvent::Breakpoint if host_step => {
                self.debuggee.refresh_stack();
                Verdict::Report(Stop::StepDone)
            }
            HostEvent::Breakpoint => self.on_breakpoint(watch_step, from, step_stays_in_frame),
            HostEvent::Trap => {
                self.debuggee.refresh_stack();
                if let Some(status) = self.exit_call_status() {
                    // `exit(n)`: not a fault. Report the exit now: once resumed, Wasmtime ends
                    // the process at once for a core module, before any reply could be sent.
                    self.exit = Some(End::Status(status));
                    return Outcome::Exited(End::Status(status));
                }
                let reason = self.trap_reason();
                trap = Some(reason.signal());
                Verdict::Report(Stop::Trap(reason))
            }
            HostEvent::Interrupted if interrupt_requested => {
                self.debuggee.refresh_stack();
                Verdict::Report(Stop::Interrupted)
            }
            HostEvent::Exception => {
                self.debuggee.refresh_stack();
                Verdict::Report(Stop::Exception)
            }
            HostEvent::Interrupted | HostEvent::InjectedCallReturn => {
                Verdict::Resume { watch_step }
            }
        };
        match verdict {
            Verdict::Resume { watch_step } => {
                self.start(ResumeMode::Continue, watch_step, false);
                // A pending interrupt still wants its stop.
                if let RunState::Running {
                    interrupt_requested: asked,
                    ..
                } = &mut self.run
                {
                    *asked = interrupt_requested;
                }
                Outcome::Running
            }
            Verdict::Report(Stop::StepDone) if self.line_step_goes_on() => Outcome::Running,
            Verdict::Report(stop) => {
                self.line_step = None;
                if stop == Stop::StepDone {
                    self.a_step_is_shown_to_move(from);
                }
                let shown_elsewhere = self
                    .debuggee
                    .stack
                    .first()
                    .is_some_and(|f| self.frame_addr(f.site) != f.site.addr());
                self.run = RunState::Paused {
                    trap,
                    shown_elsewhere,
                };
                self.breakpoints.clear_step();
                Outcome::Stopped(stop)
            }
        }
    }

    fn finish(&mut self) -> Outcome {
        let end = self.exit.unwrap_or(End::Status(0));
        self.run = RunState::Finished;
        Outcome::Exited(end)
    }

    fn on_breakpoint(
        &mut self,
        watch_step: Option<Watchpoint>,
        from: Option<(Site, usize)>,
        step_stays_in_frame: bool,
    ) -> Verdict {
        // A step that cannot leave its activation and landed where it could end did not change
        // the callers: keep them rather than walk the whole stack again.
        let kept_callers = step_stays_in_frame
            && self.debuggee.refresh_top().is_some_and(|here| {
                let targets = self.breakpoints.step_targets();
                self.slip_sources(here)
                    .iter()
                    .any(|s| targets.iter().any(|t| t.site == *s))
            })
            && self.debuggee.keep_callers_after_step();
        // A watched instruction whose access misses every watched range is by far the most
        // frequent stop while a watchpoint is set: decide it from the innermost frame alone.
        // (Without watchpoints that look would only read the innermost frame twice.)
        if watch_step.is_none()
            && self.breakpoints.watch_site_count() > 0
            && let Some(site) = match self.debuggee.stack.first() {
                Some(frame) => Some(frame.site),
                None => self.debuggee.refresh_top(),
            }
        {
            let only_watch = self.breakpoints.is_watch_site(site)
                && !self.breakpoints.has_user(site)
                && !self
                    .breakpoints
                    .step_targets()
                    .iter()
                    .any(|t| t.site == site);
            if only_watch && self.watch_hit(site).is_none() {
                return Verdict::Resume { watch_step: None };
            }
        }
        if !kept_callers {
            self.debuggee.refresh_stack();
        }
        let Some(top) = self.debuggee.stack.first() else {
            return Verdict::Resume { watch_step };
        };
        let depth = self.debuggee.stack.len();
        let here = top.site;
        self.breakpoints.confirm_exact(here);
        let mut sites = self.slip_sources(here);
        let alias_of = self.breakpoints.user_alias_of(here);
        sites.extend(alias_of);
        let any_depth = self
            .breakpoints
            .step_targets()
            .iter()
            .any(|t| t.depth == ANY_DEPTH && sites.contains(&t.site));
        if any_depth {
            return Verdict::Report(Stop::StepDone);
        }
        if let Some(watch) = watch_step {
            if self.breakpoints.classify(&sites, depth) == Hit::StepDone {
                // An `end` runs nothing and has no source line: natively the access is followed
                // by the next statement's first instruction, so step on to it.
                if self.at_inner_end(here)
                    && let Ok(plan) = self.step_plan()
                {
                    self.breakpoints.set_step(plan);
                    return Verdict::Resume {
                        watch_step: Some(watch),
                    };
                }
                return Verdict::Report(Stop::Watch(watch));
            }
        } else if let Some(watch) = self.watch_hit(here) {
            // Report the access after it has run, so the client shows the new value: step over
            // it first (the step's own breakpoints replace any step the client asked for).
            let plan = match self.step_plan() {
                Ok(plan) => plan,
                Err(why) => return Verdict::Report(refuse_step(why)),
            };
            self.breakpoints.set_step(plan);
            return Verdict::Resume {
                watch_step: Some(watch),
            };
        }
        match self.breakpoints.classify(&sites, depth) {
            Hit::StepDone => Verdict::Report(Stop::StepDone),
            // Falling from the breakpoint's own `loop` (or a `block` before it) into the landing
            // of its back edges is still the same arrival at the line: native code makes one
            // stop there, so the landing's stop is only for arrivals by a branch.
            Hit::User
                if alias_of.is_some_and(|user| {
                    from.is_some_and(|(from, from_depth)| {
                        from_depth == depth
                            && from.module == here.module
                            && (user.pc..here.pc).contains(&from.pc)
                    })
                }) =>
            {
                Verdict::Resume { watch_step }
            }
            Hit::User => Verdict::Report(Stop::Breakpoint),
            Hit::Spurious => {
                let lingering: Vec<Site> = sites
                    .iter()
                    .copied()
                    .filter(|s| self.breakpoints.is_lingering(*s))
                    .collect();
                for site in &lingering {
                    self.breakpoints.evict(*site);
                }
                let known = !lingering.is_empty()
                    || sites.iter().any(|s| {
                        self.breakpoints.has_user(*s)
                            || self.breakpoints.is_watch_site(*s)
                            || self.breakpoints.step_targets().iter().any(|t| t.site == *s)
                    });
                if !known {
                    if self.breakpoints.stepping() {
                        // The host stopped somewhere the step did not predict. Ending the step
                        // here is safer than running away.
                        return Verdict::Report(Stop::StepDone);
                    }
                    // Nothing was planted here: Wasmtime moved a breakpoint off code its compiler
                    // removed (a store behind a constant condition, say) onto the next
                    // instruction it kept. Native code has no stop there, so neither do we.
                    log::debug!("resuming from a stop at {here:?}, where nothing was planted");
                }
                Verdict::Resume { watch_step }
            }
        }
    }

    /// While no debugger is attached: breakpoints are gone, so every stop but the end resumes.
    /// Returns true once the program has finished.
    pub fn on_event_detached(&mut self) -> bool {
        if let RunState::Running {
            interrupt_requested,
            ..
        } = &mut self.run
        {
            *interrupt_requested = false;
        }
        match self.on_event() {
            Outcome::Running => false,
            Outcome::Exited(_) if self.finished() => true,
            Outcome::Exited(_) | Outcome::Stopped(_) => {
                // Resuming from a trap or an exit call lets the host end the program.
                self.run_on();
                false
            }
        }
    }

    /// Stops a running debuggee so a new client can attach. Returns false if the program ended.
    pub async fn stop_for_attach(&mut self) -> bool {
        if self.finished() {
            return false;
        }
        if !self.is_running() {
            return true;
        }
        self.interrupt();
        loop {
            self.ready().await;
            match self.on_event() {
                Outcome::Exited(_) => return false,
                Outcome::Stopped(_) => return true,
                Outcome::Running => self.interrupt(),
            }
        }
    }

    /// At a stop that ended a step: if a line step is under way and this is not yet where it
    /// ends, resumes it towards the line's next exits and returns true.
    fn line_step_goes_on(&mut self) -> bool {
        let Some(mut line_step) = self.line_step.take() else {
            return false;
        };
        if line_step.ends_here(&self.debuggee) {
            return false;
        }
        match line_step.plan(&self.debuggee) {
            Ok(plan) => {
                log::debug!("line step goes on: {line_step:?} plan={plan:?}");
                self.breakpoints.set_step(plan);
                self.line_step = Some(line_step);
                self.start(ResumeMode::Continue, None, false);
                true
            }
            Err(why) => {
                // Stopping here is safer than running free; the client sees a finished step.
                log::info!("line step ends early: {why}");
                false
            }
        }
    }

    /// A step that moved must be shown to have moved: `Debuggee::shown_pc` shows a pc just after
    /// `block`s and `loop`s at the one of them where a line starts, so a single step from that
    /// `block` to the next one would be shown where it started. LLDB takes such a stop for a new
    /// hit of the breakpoint it just stepped off (a hit count of 4 for 1 where four `block`s open
    /// a line), and natively a step always moves: the stop is shown at its real pc.
    fn a_step_is_shown_to_move(&mut self, from: Option<(Site, usize)>) {
        let (Some((from, from_depth)), Some(here)) = (from, self.debuggee.stack.first()) else {
            return;
        };
        let here = here.site;
        if here != from
            && self.debuggee.stack.len() == from_depth
            && self.frame_addr(here) == self.frame_addr(from)
        {
            self.shown_exactly = Some(here);
        }
    }

    /// The temporary breakpoints for one step from the current stop, or why there can be none: a
    /// step whose successors are unknown must not let the program run free.
    fn step_plan(&self) -> Result<Vec<StepTarget>, String> {
        let stack = self.debuggee.frame_sites();
        let Some(top) = stack.first() else {
            // Not started: the step ends at the first instruction of the entry function.
            let entry = self
                .debuggee
                .entry_site()
                .ok_or("the program has not started and its entry function is unknown")?;
            return Ok(vec![StepTarget {
                site: entry,
                depth: ANY_DEPTH,
            }]);
        };
        let module = self
            .debuggee
            .module(top.module)
            .ok_or_else(|| format!("no module {} at pc {:#x}", top.module, top.pc))?;
        let info = module.info.as_ref().ok_or_else(|| {
            format!(
                "module {} could not be decoded, so its instructions cannot be stepped",
                top.module
            )
        })?;
        match info.step_targets(&module.bytes, top.pc) {
            Ok(successors) => Ok(stepping::plan(&stack, &successors)),
            Err(e) => Err(format!(
                "cannot tell where the instruction at {:#x} goes: {e}",
                top.pc
            )),
        }
    }

    /// The sites whose breakpoint could have stopped at `here`: `here` itself and the dead
    /// instructions just before it, which have no stop of their own, so Wasmtime slides a
    /// breakpoint planted there forward to `here`.
    fn slip_sources(&self, here: Site) -> Vec<Site> {
        let mut sites = vec![here];
        let Some(module) = self.debuggee.module(here.module) else {
            return sites;
        };
        let Some(info) = module.info.as_ref() else {
            return sites;
        };
        sites.extend(
            info.stopless_before(&module.bytes, here.pc)
                .into_iter()
                .map(|pc| Site::new(here.module, pc)),
        );
        sites
    }

    /// Whether the instruction at `site` is the `end` of a construct inside its function.
    fn at_inner_end(&self, site: Site) -> bool {
        self.debuggee
            .module(site.module)
            .and_then(|m| {
                let info = m.info.as_ref()?;
                let (_, flow, decoded) = info.decode(&m.bytes, site.pc).ok()?;
                Some(
                    matches!(decoded.op, wasmparser::Operator::End)
                        && flow.nesting_at(site.pc).ok()? > 1,
                )
            })
            .unwrap_or(false)
    }

    /// Whether the innermost frame's next instruction stays in its activation (see
    /// `ModuleInfo::stays_in_activation`).
    fn top_stays_in_activation(&self) -> bool {
        let Some(top) = self.debuggee.stack.first().map(|f| f.site) else {
            return false;
        };
        self.debuggee
            .module(top.module)
            .and_then(|m| Some(m.info.as_ref()?.stays_in_activation(&m.bytes, top.pc)))
            .unwrap_or(false)
    }

    /// If the innermost frame trapped calling the host's exit (WASI `proc_exit`, or
    /// `wasi:cli/exit` in a component's adapter), the status it passed: the i32 on top of the
    /// operand stack.
    fn exit_call_status(&self) -> Option<u8> {
        let top = self.debuggee.stack.first()?.site;
        let module = self.debuggee.module(top.module)?;
        let info = module.info.as_ref()?;
        let is_exit_call = |pc: u32| {
            let Some(callee) = info.direct_callee(&module.bytes, pc) else {
                return false;
            };
            info.import_name(callee)
                .is_some_and(|(import_module, field)| {
                    field == "proc_exit"
                        || (import_module.starts_with("wasi:cli/exit") && field.starts_with("exit"))
                })
        };
        // The host reports the trap either at the call or just after it.
        let previous = info.previous_instruction(&module.bytes, top.pc);
        if !is_exit_call(top.pc) && !previous.is_some_and(is_exit_call) {
            return None;
        }
        let stack = self.debuggee.operand_stack(0)?;
        let status = match stack.last() {
            Some(Value::I32(v)) => *v,
            _ => 0,
        };
        Some(status as u8)
    }

    fn trap_reason(&self) -> TrapReason {
        let Some(top) = self.debuggee.stack.first() else {
            return TrapReason::Unknown;
        };
        match self.debuggee.module(top.site.module) {
            Some(module) => match module.info.as_ref() {
                Some(info) => info.trap_reason(&module.bytes, top.site.pc),
                None => TrapReason::Unknown,
            },
            None => TrapReason::Unknown,
        }
    }
}

/// What one host event comes to.
enum Verdict {
    Report(Stop),
    /// Resume silently, keeping a watched access being stepped over.
    Resume {
        watch_step: Option<Watchpoint>,
    },
}

fn refuse_step(why: String) -> Stop {
    log::info!("step refused: {why}");
    Stop::StepRefused(why)
}
