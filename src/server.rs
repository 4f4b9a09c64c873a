//! The debug server's lifetime: listens (loopback unless told otherwise), serves one client at a
//! time, keeps the program running with breakpoints removed between clients, and ends the run
//! on `process kill`.

use crate::args::Options;
use crate::connection::Client;
use crate::debuggee::Debuggee;
use crate::execution::Execution;
use crate::gdb::GdbTarget;
use crate::host;
use crate::session::{self, SessionEnd};
use futures_lite::future;
use wstd::iter::AsyncIterator;
use wstd::net::TcpListener;

fn info(message: &str) {
    host::print_debugger_info(message);
}

pub fn debug(debuggee: &host::Debuggee, args: Vec<String>) {
    let options = match Options::parse_args(&args) {
        Ok(options) => options,
        Err(e) => {
            info(&format!("wasm-gdbstub: {e}"));
            info("wasm-gdbstub: running the program without a debugger");
            run_to_end(debuggee);
            return;
        }
    };
    wstd::runtime::block_on(serve(debuggee, options));
}

/// Runs the debuggee to its end with no breakpoints (no debugger could be set up).
fn run_to_end(debuggee: &host::Debuggee) {
    wstd::runtime::block_on(finish_without_debugger(debuggee));
}

/// [`run_to_end`] for callers already inside the async runtime, which cannot be entered twice.
async fn finish_without_debugger(debuggee: &host::Debuggee) {
    let mut target = GdbTarget::new(Debuggee::new(debuggee), 0);
    let mut exec = Execution::default();
    exec.run_on(&mut target);
    loop {
        exec.ready().await;
        if exec.on_event_detached(&mut target) {
            break;
        }
    }
}

async fn serve(debuggee: &host::Debuggee, options: Options) {
    let Ok(addr) = options.listen_addr() else {
        return;
    };
    let listener = match TcpListener::bind(&addr.to_string()).await {
        Ok(listener) => listener,
        Err(e) => {
            info(&format!(
                "wasm-gdbstub: cannot listen on {addr}: {e}; running the program without a debugger"
            ));
            finish_without_debugger(debuggee).await;
            return;
        }
    };
    let bound = listener
        .local_addr()
        .map_or(addr.to_string(), |a| a.to_string());
    if options.allow_remote && !addr.ip().is_loopback() {
        info(&format!(
            "wasm-gdbstub: WARNING: listening on non-loopback {bound}: anyone who can reach this port \
             can read and write the program's memory"
        ));
    }
    info(&format!("wasm-gdbstub listening on {bound}"));
    info(&format!(
        "In LLDB: process connect --plugin wasm connect://{bound}"
    ));

    let mut target = GdbTarget::new(Debuggee::new(debuggee), options.verbose);
    let mut exec = Execution::default();
    if options.host_step {
        exec.step_with_host();
    }
    loop {
        // Between clients: wait for one, while a detached program runs on.
        let running = exec.is_running();
        let next = future::or(async { Some(listener.incoming().next().await) }, async {
            if running {
                exec.ready().await;
                None
            } else {
                future::pending().await
            }
        })
        .await;
        let stream = match next {
            None => {
                if exec.on_event_detached(&mut target) {
                    return;
                }
                continue;
            }
            Some(Some(Ok(stream))) => stream,
            Some(_) => continue,
        };
        if !exec.stop_for_attach(&mut target).await {
            return;
        }
        let mut client = Client::new(stream);
        let end = session::run(&mut target, &mut exec, &mut client, &listener).await;
        target.log(1, || format!("session ended: {end:?}"));
        match end {
            SessionEnd::Exited => {
                // Let the host finish the program (it may still hold a trap to report).
                finish_detached(&mut target, &mut exec).await;
                return;
            }
            SessionEnd::Killed => {
                // gdbstub leaves `k` unanswered; LLDB waits for the exit reply before it
                // reports the process gone.
                let _ = client.flush().await;
                let _ = client.send_raw(b"$X09#c1").await;
                info("wasm-gdbstub: program killed by the debugger");
                // Returning would let Wasmtime run the program to its end; exiting the debugger
                // component ends the whole run, as `process kill` promises.
                std::process::exit(137);
            }
            SessionEnd::Detached | SessionEnd::ConnectionLost => {
                let _ = client.flush().await;
                target.breakpoints.clear_all();
                target.sync_breakpoints();
                target.resume_request = None;
                exec.run_on(&mut target);
            }
        }
    }
}

async fn finish_detached(target: &mut GdbTarget<'_>, exec: &mut Execution) {
    if exec.finished() {
        return;
    }
    target.breakpoints.clear_all();
    target.sync_breakpoints();
    exec.run_on(target);
    loop {
        exec.ready().await;
        if exec.on_event_detached(target) {
            return;
        }
    }
}
