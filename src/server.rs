//! The debug server's lifetime and sockets: listens (loopback unless told otherwise), serves one
//! client at a time, moves bytes between the socket and the session, waits for whichever comes
//! first (the program, the client, another client), keeps the program running with breakpoints
//! removed between clients, and ends the run on `process kill`.

use crate::args::Options;
use crate::connection::Client;
use crate::debugger::{CoreOptions, Debugger};
use crate::gdb::ProtocolOptions;
use crate::host::Host;
use crate::rsp::{error_reply, frame};
use crate::session::{Session, SessionEnd};
use crate::wasmtime_host::{self, WasmtimeHost};
use futures_lite::future;
use wstd::iter::AsyncIterator;
use wstd::net::{TcpListener, TcpStream};

/// How long an interrupt may wait for the program to stop before LLDB is told why it waits.
const INTERRUPT_NOTICE_AFTER_MS: u64 = 500;

fn info(message: &str) {
    wasmtime_host::print_debugger_info(message);
}

pub fn debug(debuggee: &wasmtime_host::Debuggee, args: Vec<String>) {
    let options = match Options::parse_args(&args) {
        Ok(options) => options,
        Err(e) => {
            info(&format!("wasm-gdbstub: {e}"));
            info("wasm-gdbstub: running the program without a debugger");
            wstd::runtime::block_on(run_to_end(WasmtimeHost::new(debuggee)));
            return;
        }
    };
    crate::logging::init(options.verbose, info);
    wstd::runtime::block_on(serve(WasmtimeHost::new(debuggee), options));
}

/// Runs the debuggee to its end with no breakpoints (no debugger could be set up).
async fn run_to_end<H: Host>(host: H) {
    let mut core = Debugger::new(host, CoreOptions::default());
    finish_detached(&mut core).await;
}

async fn serve<H: Host>(host: H, options: Options) {
    let Ok(addr) = options.listen_addr() else {
        return;
    };
    let listener = match TcpListener::bind(&addr.to_string()).await {
        Ok(listener) => listener,
        Err(e) => {
            info(&format!(
                "wasm-gdbstub: cannot listen on {addr}: {e}; running the program without a debugger"
            ));
            run_to_end(host).await;
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
    // The integration first: without it LLDB's own stepping crashes on long Wasm instructions.
    info(&format!(
        "In LLDB: command script import <wasm-gdbstub>/lldb/wasm_gdbstub.py, then wasm-remote {bound}"
    ));

    let mut core = Debugger::new(
        host,
        CoreOptions {
            host_step: options.host_step,
        },
    );
    let protocol = ProtocolOptions {
        program: options.program.clone(),
    };
    loop {
        // Between clients: wait for one, while a detached program runs on.
        let running = core.is_running();
        let next = future::or(async { Some(listener.incoming().next().await) }, async {
            if running {
                core.ready().await;
                None
            } else {
                future::pending().await
            }
        })
        .await;
        let stream = match next {
            None => {
                if core.on_event_detached() {
                    return;
                }
                continue;
            }
            Some(Some(Ok(stream))) => stream,
            Some(_) => continue,
        };
        if !core.stop_for_attach().await {
            return;
        }
        let mut client = Client::new(stream);
        let end = serve_client(&mut core, protocol.clone(), &mut client, &listener).await;
        log::debug!("session ended: {end:?}");
        match end {
            SessionEnd::Exited => {
                // Let the host finish the program (it may still hold a trap to report).
                finish_detached(&mut core).await;
                return;
            }
            SessionEnd::Killed => {
                // gdbstub leaves `k` unanswered; LLDB waits for the exit reply before it
                // reports the process gone.
                let _ = client.send_raw(&frame("X09")).await;
                info("wasm-gdbstub: program killed by the debugger");
                // Returning would let Wasmtime run the program to its end; exiting the debugger
                // component ends the whole run, as `process kill` promises.
                std::process::exit(137);
            }
            SessionEnd::Detached | SessionEnd::ConnectionLost => {
                core.forget_client();
                core.run_on();
            }
        }
    }
}

/// Serves one client until it leaves or the program ends.
async fn serve_client<H: Host>(
    core: &mut Debugger<H>,
    options: ProtocolOptions,
    client: &mut Client,
    listener: &TcpListener,
) -> SessionEnd {
    let Some(mut session) = Session::new(core, options) else {
        return SessionEnd::ConnectionLost;
    };
    loop {
        let ended = session.advance();
        // Replies (an end reported on resume among them) reach the client before we wait.
        if !client.flush(session.replies()).await {
            return SessionEnd::ConnectionLost;
        }
        if let Some(end) = ended {
            return end;
        }
        // Wait for whatever comes first: the debuggee stopping, the client speaking, or another
        // client knocking.
        let running = session.waits_for_program();
        // An interrupt lands at Wasmtime's next epoch check: a program waiting in the host
        // (an idle server, a blocking read) runs none until it is woken, so say why LLDB waits.
        let notice_due = session.interrupt_notice_due();
        let wake = future::or(
            async {
                if running {
                    session.core().ready().await;
                    Wake::Event
                } else {
                    future::pending().await
                }
            },
            future::or(
                future::or(async { Wake::Data(client.read().await) }, async {
                    Wake::Visitor(listener.incoming().next().await)
                }),
                async {
                    if notice_due {
                        wstd::task::sleep(wstd::time::Duration::from_millis(
                            INTERRUPT_NOTICE_AFTER_MS,
                        ))
                        .await;
                        Wake::InterruptSlow
                    } else {
                        future::pending().await
                    }
                },
            ),
        )
        .await;
        let ended = match wake {
            Wake::InterruptSlow => {
                session.notice_slow_interrupt();
                None
            }
            Wake::Visitor(Some(Ok(stream))) => {
                refuse(stream).await;
                None
            }
            Wake::Visitor(_) => None,
            Wake::Data(0) => return SessionEnd::ConnectionLost,
            Wake::Data(n) => session.receive(client.received(n)),
            Wake::Event => session.on_program_event(),
        };
        if let Some(end) = ended {
            let _ = client.flush(session.replies()).await;
            return end;
        }
    }
}

enum Wake {
    Event,
    Data(usize),
    Visitor(Option<std::io::Result<TcpStream>>),
    /// An interrupt has not taken effect for a while.
    InterruptSlow,
}

/// Runs the program to its end with everything the debugger planted removed.
async fn finish_detached<H: Host>(core: &mut Debugger<H>) {
    if core.finished() {
        return;
    }
    core.forget_client();
    core.run_on();
    loop {
        core.ready().await;
        if core.on_event_detached() {
            return;
        }
    }
}

/// Another client while one is attached: tell it why, and close.
async fn refuse(stream: TcpStream) {
    let mut client = Client::new(stream);
    if !client
        .send_raw(&error_reply("another debugger is attached to this program"))
        .await
    {
        return;
    }
    // Closing a socket with unread input makes the kernel reset the connection, and a reset can
    // discard the refusal before the visitor reads it. Take in what the visitor already sent; the
    // bounds keep a flooding visitor from holding up the attached debugger.
    const DRAIN_READS: usize = 8;
    const QUIET: std::time::Duration = std::time::Duration::from_millis(5);
    for _ in 0..DRAIN_READS {
        let received = future::or(async { client.read().await }, async {
            wstd::task::sleep(QUIET.into()).await;
            0
        })
        .await;
        if received == 0 {
            break;
        }
    }
}
