//! `vCont`/`c`/`s`: records what LLDB asked for; the session hands it to the core (a step is
//! emulated with temporary breakpoints, see `crate::stepping`).

use super::{Fatal, GdbTarget};
use crate::execution::ResumeRequest;
use crate::host::Host;
use gdbstub::common::{Signal, Tid};
use gdbstub::target::ext::base::multithread::{
    MultiThreadResume, MultiThreadSchedulerLocking, MultiThreadSchedulerLockingOps,
    MultiThreadSingleStep, MultiThreadSingleStepOps,
};

impl<H: Host> MultiThreadResume for GdbTarget<'_, H> {
    fn resume(&mut self) -> Result<(), Fatal> {
        if self.resume_request.is_none() {
            self.resume_request = Some(ResumeRequest::Continue);
        }
        Ok(())
    }

    fn clear_resume_actions(&mut self) -> Result<(), Fatal> {
        self.resume_request = None;
        Ok(())
    }

    fn set_resume_action_continue(
        &mut self,
        _tid: Tid,
        _signal: Option<Signal>,
    ) -> Result<(), Fatal> {
        // A step request for the one thread wins over a default continue (`vCont;s:1;c`).
        if self.resume_request != Some(ResumeRequest::Step) {
            self.resume_request = Some(ResumeRequest::Continue);
        }
        Ok(())
    }

    fn support_single_step(&mut self) -> Option<MultiThreadSingleStepOps<'_, Self>> {
        Some(self)
    }

    fn support_scheduler_locking(&mut self) -> Option<MultiThreadSchedulerLockingOps<'_, Self>> {
        Some(self)
    }
}

impl<H: Host> MultiThreadSingleStep for GdbTarget<'_, H> {
    fn set_resume_action_step(&mut self, _tid: Tid, _signal: Option<Signal>) -> Result<(), Fatal> {
        self.resume_request = Some(ResumeRequest::Step);
        Ok(())
    }
}

impl<H: Host> MultiThreadSchedulerLocking for GdbTarget<'_, H> {
    fn set_resume_action_scheduler_lock(&mut self) -> Result<(), Fatal> {
        Ok(())
    }
}
