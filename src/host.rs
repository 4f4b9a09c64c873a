//! Bindings to Wasmtime's `debug-main` world and a handle on one period of debuggee execution.

use wstd::runtime::AsyncPollable;

wit_bindgen::generate!({
    world: "bytecodealliance:wasmtime/debug-main",
    path: "wit",
    with: {
        "wasi:io/poll@0.2.12": wasip2::io::poll,
    },
    generate_all,
});

pub use bytecodealliance::wasmtime::debuggee::*;

/// A `continue` in flight: the host's event future plus a pollable the async runtime can wait on.
pub struct Resumption {
    future: EventFuture,
    // The pollable is a child of the future and must be dropped before `finish` consumes it.
    pollable: Option<AsyncPollable>,
}

impl Resumption {
    /// Resumes the paused debuggee. Only `normal` is ever passed: any other resumption value makes
    /// Wasmtime 48 abort the whole process (`unimplemented!()` in the host).
    pub fn start(debuggee: &Debuggee) -> Self {
        Self::watch(debuggee.continue_(ResumptionValue::Normal))
    }

    /// Executes up to the next instruction in Wasmtime's single-step mode (its finished step is
    /// reported as a breakpoint event).
    pub fn single_step(debuggee: &Debuggee) -> Self {
        Self::watch(debuggee.single_step(ResumptionValue::Normal))
    }

    fn watch(future: EventFuture) -> Self {
        let pollable = Some(AsyncPollable::new(future.subscribe()));
        Resumption { future, pollable }
    }

    pub async fn ready(&mut self) {
        if let Some(pollable) = self.pollable.as_mut() {
            pollable.wait_for().await;
        }
    }

    pub fn finish(mut self, debuggee: &Debuggee) -> Result<Event, Error> {
        drop(self.pollable.take());
        EventFuture::finish(self.future, debuggee)
    }
}
