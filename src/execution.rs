//! Running the debuggee between stops: starts a continue (a step is a continue with temporary
//! breakpoints planted, see `crate::stepping`) and decides what each host event means: a stop to
//! report, a silent resume, or the end of the program.

use crate::breakpoints::{Hit, Site, StepTarget};
use crate::bytecode::TrapReason;
use crate::gdb::{GdbTarget, ResumeRequest};
use crate::host::{Event, Resumption};
use crate::stepping;
use crate::watchpoints::Watchpoint;

/// Why the debuggee stopped, as the protocol layer reports it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Stop {
    /// A user breakpoint (`swbreak`).
    Breakpoint,
    /// A completed step: a plain SIGTRAP, so LLDB's step plans take it.
    StepDone,
    Trap(TrapReason),
    /// Ctrl-C / `process interrupt`.
    Interrupted,
    /// An access to watched memory has just run.
    Watch(Watchpoint),
    /// A Wasm exception was thrown.
    Exception,
    /// A step was asked where the stub cannot tell which instruction runs next; the program was
    /// not resumed (running it free would lose control of it). [`Execution::refusal`] says why.
    StepRefused,
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

/// Depth of a step target planted before any frame exists (the initial stop): any activation.
const ANY_DEPTH: usize = usize::MAX;

#[derive(Default)]
pub struct Execution {
    running: Option<Resumption>,
    interrupt_requested: bool,
    finished: bool,
    /// The status the program asked to exit with (its `exit` call surfaces as a trap).
    exit_status: Option<u8>,
    /// The signal of the trap the program last stopped at: resuming from it ends the program.
    pending_trap: Option<u8>,
    /// A watched access is being stepped over, to report it once it has happened.
    pending_watch: Option<Watchpoint>,
    /// Why the last step was refused.
    refusal: Option<String>,
    /// The last stop was shown to LLDB at another address than the real pc (see
    /// `Debuggee::shown_pc`).
    shown_elsewhere: bool,
    /// Where and at what stack depth the debuggee last resumed, when its whole stack was known.
    resumed_from: Option<(Site, usize)>,
    /// Steps use Wasmtime's single-step mode (`--host-step`), the reference for tests.
    host_step: bool,
    /// The running resumption is such a host single step.
    host_stepping: bool,
}

impl Execution {
    pub fn is_running(&self) -> bool {
        self.running.is_some()
    }

    pub fn finished(&self) -> bool {
        self.finished
    }

    /// Whether an interrupt was asked and has not yet stopped the program.
    pub fn interrupt_pending(&self) -> bool {
        self.interrupt_requested && self.running.is_some()
    }

    /// Makes every step a host single step (see `--host-step`).
    pub fn step_with_host(&mut self) {
        self.host_step = true;
    }

    /// Why the last [`Stop::StepRefused`] happened.
    pub fn refusal(&self) -> Option<&str> {
        self.refusal.as_deref()
    }

    /// Resumes the paused debuggee as LLDB asked. Resuming from a trap ends the program, and for
    /// a core module Wasmtime ends the process before a reply could be sent, so that end is
    /// returned to be reported first; the program is resumed after the client has it.
    pub fn start(&mut self, target: &mut GdbTarget<'_>, request: ResumeRequest) -> Option<Outcome> {
        if self.running.is_some() || self.finished {
            return None;
        }
        if let Some(signal) = self.pending_trap {
            return Some(Outcome::Exited(End::Trapped(signal)));
        }
        if self.host_step && request == ResumeRequest::Step {
            target.log(1, || "resume Step with the host's single-step".to_string());
            target.breakpoints.clear_step();
            target.sync_breakpoints();
            target.debuggee.stack.clear();
            self.host_stepping = true;
            self.running = Some(Resumption::single_step(target.debuggee.host));
            target.debuggee.set_resumed(true);
            return None;
        }
        if request == ResumeRequest::Continue
            && let Some(top) = target.debuggee.stack.first()
        {
            // LLDB believes execution is at the shown pc, before the real one (see
            // `Debuggee::shown_pc`), and may plant a breakpoint at the real pc and continue, as
            // its step-in does to run past a prologue: that breakpoint is where execution already
            // is, so it is hit at once.
            let here = Site {
                module: top.module,
                pc: top.pc,
            };
            if self.shown_elsewhere && target.breakpoints.has_user(here) {
                self.shown_elsewhere = false;
                return Some(Outcome::Stopped(Stop::Breakpoint));
            }
        }
        let plan = match request {
            ResumeRequest::Continue => Vec::new(),
            ResumeRequest::Step => match step_plan(target) {
                Ok(plan) => plan,
                Err(why) => return Some(self.refuse_step(target, why)),
            },
        };
        target.log(1, || format!("resume {request:?} plan={plan:?}"));
        target.breakpoints.set_step(plan);
        target.sync_breakpoints();
        self.resume(target);
        None
    }

    fn refuse_step(&mut self, target: &GdbTarget<'_>, why: String) -> Outcome {
        target.log(1, || format!("step refused: {why}"));
        self.refusal = Some(why);
        Outcome::Stopped(Stop::StepRefused)
    }

    /// Resumes whatever the state (a detached or ending program), without reporting anything.
    pub fn run_on(&mut self, target: &mut GdbTarget<'_>) {
        if self.running.is_none() && !self.finished {
            target.breakpoints.clear_step();
            target.sync_breakpoints();
            self.resume(target);
        }
    }

    fn resume(&mut self, target: &mut GdbTarget<'_>) {
        let stack = &target.debuggee.stack;
        self.resumed_from = stack
            .first()
            .filter(|_| target.debuggee.stack_is_complete())
            .map(|f| {
                let site = Site {
                    module: f.module,
                    pc: f.pc,
                };
                (site, stack.len())
            });
        target.debuggee.stack.clear();
        // The last moment the host takes breakpoint edits until the program stops again.
        target.sync_breakpoints();
        self.running = Some(Resumption::start(target.debuggee.host));
        target.debuggee.set_resumed(true);
    }

    /// Waits until the running debuggee reports an event.
    pub async fn ready(&mut self) {
        match self.running.as_mut() {
            Some(r) => r.ready().await,
            None => std::future::pending::<()>().await,
        }
    }

    pub fn interrupt(&mut self, target: &GdbTarget<'_>) {
        if self.running.is_some() {
            self.interrupt_requested = true;
            target.debuggee.host.interrupt();
        }
    }

    /// Takes the finished event and decides what it means.
    pub fn on_event(&mut self, target: &mut GdbTarget<'_>) -> Outcome {
        let Some(resumption) = self.running.take() else {
            return Outcome::Running;
        };
        let host_stepped = std::mem::take(&mut self.host_stepping);
        target.debuggee.set_resumed(false);
        let event = match resumption.finish(target.debuggee.host) {
            Ok(event) => event,
            // The host could not say what happened; the store is unusable, treat it as the end.
            Err(e) => {
                target.log(1, || format!("event error: {e:?}"));
                self.finished = true;
                return Outcome::Exited(self.end());
            }
        };
        target.log(2, || format!("event {event:?}"));
        let outcome = match event {
            Event::Complete => {
                self.finished = true;
                return Outcome::Exited(self.end());
            }
            Event::Breakpoint if host_stepped => {
                target.debuggee.refresh_stack();
                Outcome::Stopped(Stop::StepDone)
            }
            Event::Breakpoint => self.on_breakpoint(target),
            Event::Trap => {
                target.debuggee.refresh_stack();
                if let Some(status) = exit_call_status(target) {
                    // `exit(n)`: not a fault. Report the exit now: once resumed, Wasmtime ends the
                    // process at once for a core module, before any reply could be sent.
                    self.exit_status = Some(status);
                    return Outcome::Exited(End::Status(status));
                } else {
                    let reason = trap_reason(target);
                    self.pending_trap = Some(reason.signal());
                    Outcome::Stopped(Stop::Trap(reason))
                }
            }
            Event::Interrupted if self.interrupt_requested => {
                target.debuggee.refresh_stack();
                Outcome::Stopped(Stop::Interrupted)
            }
            Event::Exception(_) => {
                target.debuggee.refresh_stack();
                Outcome::Stopped(Stop::Exception)
            }
            Event::Interrupted | Event::InjectedCallReturn(_) => Outcome::Running,
        };
        match outcome {
            Outcome::Running => self.resume(target),
            Outcome::Stopped(_) => {
                self.shown_elsewhere = target.debuggee.stack.first().is_some_and(|f| {
                    target.frame_addr(f.module, f.pc) != crate::addr::code_addr(f.module, f.pc)
                });
                self.interrupt_requested = false;
                self.pending_watch = None;
                target.breakpoints.clear_step();
                target.sync_breakpoints();
            }
            Outcome::Exited(_) => {}
        }
        outcome
    }

    fn end(&self) -> End {
        match (self.pending_trap, self.exit_status) {
            (Some(signal), _) => End::Trapped(signal),
            (None, status) => End::Status(status.unwrap_or(0)),
        }
    }

    fn on_breakpoint(&mut self, target: &mut GdbTarget<'_>) -> Outcome {
        // A watched instruction whose access misses every watched range is by far the most
        // frequent stop while a watchpoint is set: decide it from the innermost frame alone.
        // (Without watchpoints that look would only read the innermost frame twice.)
        if self.pending_watch.is_none()
            && target.breakpoints.watch_site_count() > 0
            && let Some(top) = target.debuggee.refresh_top()
        {
            let site = Site {
                module: top.module,
                pc: top.pc,
            };
            let only_watch = target.breakpoints.is_watch_site(site)
                && !target.breakpoints.has_user(site)
                && !target
                    .breakpoints
                    .step_targets()
                    .iter()
                    .any(|t| t.site == site);
            if only_watch && target.watch_hit(site).is_none() {
                return Outcome::Running;
            }
        }
        target.debuggee.refresh_stack();
        let Some(top) = target.debuggee.stack.first() else {
            return Outcome::Running;
        };
        let depth = target.debuggee.stack.len();
        let here = Site {
            module: top.module,
            pc: top.pc,
        };
        let mut sites = slip_sources(target, here);
        let alias_of = target.breakpoints.user_alias_of(here);
        sites.extend(alias_of);
        let any_depth = target
            .breakpoints
            .step_targets()
            .iter()
            .any(|t| t.depth == ANY_DEPTH && sites.contains(&t.site));
        if any_depth {
            return Outcome::Stopped(Stop::StepDone);
        }
        if let Some(watch) = self.pending_watch {
            if target.breakpoints.classify(&sites, depth) == Hit::StepDone {
                self.pending_watch = None;
                return Outcome::Stopped(Stop::Watch(watch));
            }
        } else if let Some(watch) = target.watch_hit(here) {
            // Report the access after it has run, so LLDB shows the new value: step over it
            // first (the step's own breakpoints replace any step LLDB asked for).
            let plan = match step_plan(target) {
                Ok(plan) => plan,
                Err(why) => return self.refuse_step(target, why),
            };
            self.pending_watch = Some(watch);
            target.breakpoints.set_step(plan);
            target.sync_breakpoints();
            return Outcome::Running;
        }
        match target.breakpoints.classify(&sites, depth) {
            Hit::StepDone => Outcome::Stopped(Stop::StepDone),
            // Falling from the breakpoint's own `loop` (or a `block` before it) into the landing
            // of its back edges is still the same arrival at the line: native code makes one
            // stop there, so the landing's stop is only for arrivals by a branch.
            Hit::User
                if alias_of.is_some_and(|user| {
                    self.resumed_from.is_some_and(|(from, from_depth)| {
                        from_depth == depth
                            && from.module == here.module
                            && (user.pc..here.pc).contains(&from.pc)
                    })
                }) =>
            {
                Outcome::Running
            }
            Hit::User => Outcome::Stopped(Stop::Breakpoint),
            Hit::Spurious => {
                let known = sites.iter().any(|s| {
                    target.breakpoints.has_user(*s)
                        || target.breakpoints.is_watch_site(*s)
                        || target
                            .breakpoints
                            .step_targets()
                            .iter()
                            .any(|t| t.site == *s)
                });
                if known {
                    Outcome::Running
                } else if target.breakpoints.stepping() {
                    // Not a site we know: the host stopped somewhere we did not predict. Ending the
                    // step here is safer than running away.
                    Outcome::Stopped(Stop::StepDone)
                } else {
                    Outcome::Stopped(Stop::Breakpoint)
                }
            }
        }
    }

    /// While no debugger is attached: breakpoints are gone, so every stop but the end resumes.
    pub fn on_event_detached(&mut self, target: &mut GdbTarget<'_>) -> bool {
        self.interrupt_requested = false;
        match self.on_event(target) {
            Outcome::Exited(_) if self.finished => true,
            Outcome::Running => false,
            Outcome::Exited(_) | Outcome::Stopped(_) => {
                self.resume(target);
                false
            }
        }
    }

    /// Stops a running debuggee so a new client can attach. Returns false if the program ended.
    pub async fn stop_for_attach(&mut self, target: &mut GdbTarget<'_>) -> bool {
        if self.finished {
            return false;
        }
        if self.running.is_none() {
            return true;
        }
        self.interrupt(target);
        loop {
            self.ready().await;
            match self.on_event(target) {
                Outcome::Exited(_) => return false,
                Outcome::Stopped(_) => return true,
                Outcome::Running => self.interrupt(target),
            }
        }
    }
}

/// The temporary breakpoints for one step from the current stop, or why there can be none: a
/// step whose successors are unknown must not let the program run free.
fn step_plan(target: &GdbTarget<'_>) -> Result<Vec<StepTarget>, String> {
    let stack = target.debuggee.frame_sites();
    let Some(top) = stack.first() else {
        // Not started: the step ends at the first instruction of the entry function.
        let entry = target
            .debuggee
            .entry_site()
            .ok_or("the program has not started and its entry function is unknown")?;
        return Ok(vec![StepTarget {
            site: Site {
                module: entry.module,
                pc: entry.pc,
            },
            depth: ANY_DEPTH,
        }]);
    };
    let module = target
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
/// instructions just before it, which have no stop of their own, so Wasmtime slides a breakpoint
/// planted there forward to `here`.
fn slip_sources(target: &GdbTarget<'_>, here: Site) -> Vec<Site> {
    let mut sites = vec![here];
    let Some(module) = target.debuggee.module(here.module) else {
        return sites;
    };
    let Some(info) = module.info.as_ref() else {
        return sites;
    };
    sites.extend(
        info.stopless_before(&module.bytes, here.pc)
            .into_iter()
            .map(|pc| Site {
                module: here.module,
                pc,
            }),
    );
    sites
}

/// If the innermost frame trapped calling the host's exit (WASI `proc_exit`, or `wasi:cli/exit`
/// in a component's adapter), the status it passed: the i32 on top of the operand stack.
fn exit_call_status(target: &GdbTarget<'_>) -> Option<u8> {
    let top = target.debuggee.stack.first()?;
    let module = target.debuggee.module(top.module)?;
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
    let stack = target.debuggee.operand_stack(0)?;
    let status = stack.last().map_or(0, |v| match v.get_type() {
        crate::host::WasmType::WasmI32 => v.unwrap_i32(),
        _ => 0,
    });
    Some(status as u8)
}

fn trap_reason(target: &GdbTarget<'_>) -> TrapReason {
    let Some(top) = target.debuggee.stack.first() else {
        return TrapReason::Unknown;
    };
    let Some(module) = target.debuggee.module(top.module) else {
        return TrapReason::Unknown;
    };
    match module.info.as_ref() {
        Some(info) => info.trap_reason(&module.bytes, top.pc),
        None => TrapReason::Unknown,
    }
}
