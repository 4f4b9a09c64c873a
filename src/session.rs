//! One debugger connection: drives gdbstub's state machine with bytes from the socket and events
//! from the debuggee, and turns execution outcomes into stop replies.

use crate::connection::{Client, ReplyBuffer};
use crate::execution::{End, Execution, Outcome, Stop};
use crate::gdb::{GdbTarget, THREAD};
use crate::packet_guard::{Action, Guard, frame};
use crate::stop_reply::hex_text;
use crate::watchpoints::WatchKind;
use futures_lite::future;
use gdbstub::common::Signal;
use gdbstub::stub::state_machine::GdbStubStateMachine;
use gdbstub::stub::{DisconnectReason, GdbStub, MultiThreadStopReason};
use gdbstub_arch::wasm::reg::id::WasmRegId;
use wstd::iter::AsyncIterator;
use wstd::net::TcpListener;

/// gdbstub's packet buffer, advertised to LLDB as `PacketSize`. LLDB sizes memory reads by it,
/// and reading module images is most of what happens at connect.
pub const PACKET_BUFFER: usize = 1 << 20;

/// How a session ended.
#[derive(Debug, PartialEq, Eq)]
pub enum SessionEnd {
    /// `D`: the client detached; the program runs on.
    Detached,
    /// The connection closed without a detach.
    ConnectionLost,
    /// `k`: end the run.
    Killed,
    /// The program finished while attached.
    Exited,
}

type Machine<'a, 'd> = GdbStubStateMachine<'a, GdbTarget<'d>, ReplyBuffer>;

enum Wake {
    Event,
    Data(usize),
    Visitor(Option<std::io::Result<wstd::net::TcpStream>>),
    /// An interrupt has not taken effect for a while.
    InterruptSlow,
}

/// How long an interrupt may wait for the program to stop before LLDB is told why it waits.
const INTERRUPT_NOTICE_AFTER_MS: u64 = 500;

/// What LLDB shows (as program output) when an interrupt cannot take effect yet.
const INTERRUPT_NOTICE: &str = "wasm-gdbstub: interrupt requested; the program is waiting in the \
host (for input, a timer or the next request) and stops as soon as it runs WebAssembly again\n";

/// An `O` packet: console output LLDB prints while the program runs.
fn console_output_packet(text: &str) -> Vec<u8> {
    frame(&format!("O{}", hex_text(text)))
}

fn new_machine<'a, 'd>(
    target: &mut GdbTarget<'d>,
    replies: &ReplyBuffer,
) -> Option<Machine<'a, 'd>> {
    let stub = GdbStub::builder(replies.clone())
        .packet_buffer_size(PACKET_BUFFER)
        .build()
        .ok()?;
    stub.run_state_machine(target).ok()
}

fn pc_reg(target: &GdbTarget<'_>) -> [u8; 8] {
    target.reported_pc().to_le_bytes()
}

fn stop_reason(stop: Stop) -> MultiThreadStopReason<u64> {
    let signal = match stop {
        Stop::Breakpoint => return MultiThreadStopReason::SwBreak(THREAD),
        Stop::Watch(w) => {
            let kind = match w.kind {
                WatchKind::Write => gdbstub::target::ext::breakpoints::WatchKind::Write,
                WatchKind::Read => gdbstub::target::ext::breakpoints::WatchKind::Read,
                WatchKind::ReadWrite => gdbstub::target::ext::breakpoints::WatchKind::ReadWrite,
            };
            let addr = crate::addr::Location::Memory {
                module: w.module,
                offset: w.start as u32,
            }
            .encode();
            return MultiThreadStopReason::Watch {
                tid: THREAD,
                kind,
                addr,
            };
        }
        Stop::StepDone | Stop::Exception | Stop::StepRefused => Signal::SIGTRAP,
        Stop::Interrupted => Signal::SIGINT,
        Stop::Trap(reason) => Signal(reason.signal()),
    };
    MultiThreadStopReason::SignalWithThread {
        tid: THREAD,
        signal,
    }
}

fn exit_reason(end: End) -> MultiThreadStopReason<u64> {
    match end {
        End::Status(status) => MultiThreadStopReason::Exited(status),
        End::Trapped(signal) => MultiThreadStopReason::Terminated(Signal(signal)),
    }
}

/// What LLDB should display with a stop, beyond the signal.
fn stop_fields(stop: Stop, exec: &Execution) -> Vec<(&'static str, String)> {
    match stop {
        Stop::StepRefused => vec![(
            "description",
            hex_text(&format!(
                "step refused: {}",
                exec.refusal().unwrap_or("unknown reason")
            )),
        )],
        Stop::Trap(reason) => vec![("description", hex_text(reason.description()))],
        Stop::Exception => vec![
            ("reason", "exception".to_string()),
            ("description", hex_text("wasm exception thrown")),
        ],
        Stop::Breakpoint | Stop::StepDone | Stop::Interrupted | Stop::Watch(_) => Vec::new(),
    }
}

pub async fn run(
    target: &mut GdbTarget<'_>,
    exec: &mut Execution,
    client: &mut Client,
    listener: &TcpListener,
) -> SessionEnd {
    let Some(mut machine) = new_machine(target, &client.replies) else {
        return SessionEnd::ConnectionLost;
    };
    let mut guard = Guard::new(PACKET_BUFFER, (PACKET_BUFFER / 2) as u64);
    // Whether LLDB was told that the pending interrupt waits for the program to run Wasm.
    let mut interrupt_noticed = false;
    loop {
        if !client.flush().await {
            return SessionEnd::ConnectionLost;
        }
        machine = match machine {
            GdbStubStateMachine::Disconnected(inner) => {
                return match inner.get_reason() {
                    DisconnectReason::Kill => SessionEnd::Killed,
                    DisconnectReason::Disconnect => SessionEnd::Detached,
                    DisconnectReason::TargetExited(_) | DisconnectReason::TargetTerminated(_) => {
                        SessionEnd::Exited
                    }
                };
            }
            GdbStubStateMachine::CtrlCInterrupt(inner) => {
                exec.interrupt(target);
                match inner.interrupt_handled(target, None::<MultiThreadStopReason<u64>>) {
                    Ok(m) => m,
                    Err(_) => return SessionEnd::ConnectionLost,
                }
            }
            GdbStubStateMachine::Running(inner) => {
                let immediate = target
                    .resume_request
                    .take()
                    .and_then(|r| exec.start(target, r));
                match immediate {
                    Some(Outcome::Stopped(stop)) => {
                        let pc = pc_reg(target);
                        let mut regs = core::iter::once((WasmRegId::Pc, &pc[..]));
                        match inner.report_stop_with_regs(target, stop_reason(stop), &mut regs) {
                            Ok(m) => {
                                client.replies.append_stop_fields(&stop_fields(stop, exec));
                                m
                            }
                            Err(_) => return SessionEnd::ConnectionLost,
                        }
                    }
                    Some(Outcome::Exited(end)) => match inner.report_stop(target, exit_reason(end))
                    {
                        Ok(m) => m,
                        Err(_) => return SessionEnd::Exited,
                    },
                    _ if exec.finished() => {
                        match inner.report_stop(target, MultiThreadStopReason::Exited(0)) {
                            Ok(m) => m,
                            Err(_) => return SessionEnd::Exited,
                        }
                    }
                    _ => GdbStubStateMachine::Running(inner),
                }
            }
            idle @ GdbStubStateMachine::Idle(_) => idle,
        };
        // A reply written above (an end reported on resume) must reach the client before we wait,
        // and a state that needs no waiting goes round again.
        if !matches!(
            machine,
            GdbStubStateMachine::Idle(_) | GdbStubStateMachine::Running(_)
        ) {
            continue;
        }
        if !client.flush().await {
            return SessionEnd::ConnectionLost;
        }
        // Wait for whatever comes first: the debuggee stopping, the client speaking, or another
        // client knocking.
        let running = matches!(machine, GdbStubStateMachine::Running(_)) && exec.is_running();
        // An interrupt lands at Wasmtime's next epoch check: a program waiting in the host
        // (an idle server, a blocking read) runs none until it is woken, so say why LLDB waits.
        let notice_due = running && exec.interrupt_pending() && !interrupt_noticed;
        let wake = future::or(
            async {
                if running {
                    exec.ready().await;
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
        if !exec.interrupt_pending() {
            interrupt_noticed = false;
        }
        match wake {
            Wake::InterruptSlow => {
                interrupt_noticed = true;
                target.log(1, || {
                    "interrupt waits for the program to run Wasm".to_string()
                });
                client
                    .replies
                    .push_raw(&console_output_packet(INTERRUPT_NOTICE));
            }
            Wake::Visitor(Some(Ok(stream))) => {
                refuse(stream).await;
            }
            Wake::Visitor(_) => {}
            Wake::Data(0) => return SessionEnd::ConnectionLost,
            Wake::Data(n) => {
                let bytes = client.received(n).to_vec();
                for action in guard.push(&bytes) {
                    match action {
                        Action::Reply(reply) => client.replies.push_raw(&reply),
                        Action::Pass(bytes)
                            if matches!(machine, GdbStubStateMachine::Idle(_))
                                && bytes.starts_with(b"$x") =>
                        {
                            let body = &bytes[1..bytes.len().saturating_sub(3)];
                            client.replies.append_with(|out| {
                                if !guard.no_ack {
                                    out.push(b'+');
                                }
                                target.binary_read_reply(body, out)
                            });
                        }
                        Action::Pass(bytes)
                            if matches!(machine, GdbStubStateMachine::Idle(_))
                                && bytes.starts_with(b"$qMemoryRegionInfo:") =>
                        {
                            let body = &bytes[1..bytes.len().saturating_sub(3)];
                            if let Some(reply) = target.memory_region_reply(body) {
                                if !guard.no_ack {
                                    client.replies.push_raw(b"+");
                                }
                                client.replies.push_raw(&reply);
                            }
                        }
                        Action::Pass(bytes) => {
                            machine = match feed(
                                machine,
                                target,
                                exec,
                                &bytes,
                                &client.replies,
                                guard.no_ack,
                            ) {
                                Some(m) => m,
                                None => return SessionEnd::ConnectionLost,
                            };
                        }
                    }
                }
            }
            Wake::Event => {
                let outcome = exec.on_event(target);
                machine = match (machine, outcome) {
                    (GdbStubStateMachine::Running(inner), Outcome::Stopped(stop)) => {
                        let pc = pc_reg(target);
                        let mut regs = core::iter::once((WasmRegId::Pc, &pc[..]));
                        let m =
                            match inner.report_stop_with_regs(target, stop_reason(stop), &mut regs)
                            {
                                Ok(m) => m,
                                Err(_) => return SessionEnd::ConnectionLost,
                            };
                        client.replies.append_stop_fields(&stop_fields(stop, exec));
                        m
                    }
                    (GdbStubStateMachine::Running(inner), Outcome::Exited(end)) => {
                        match inner.report_stop(target, exit_reason(end)) {
                            Ok(m) => m,
                            Err(_) => return SessionEnd::Exited,
                        }
                    }
                    (m, _) => m,
                };
            }
        }
    }
}

/// Feeds client bytes to gdbstub. A packet gdbstub cannot parse ends its state machine; the
/// session answers it with an error and goes on with a fresh one, so no packet ends a session.
fn feed<'a, 'd>(
    mut machine: Machine<'a, 'd>,
    target: &mut GdbTarget<'d>,
    exec: &mut Execution,
    bytes: &[u8],
    replies: &ReplyBuffer,
    no_ack: bool,
) -> Option<Machine<'a, 'd>> {
    // gdbstub acks a command before handling it; a packet that fails after that already has its
    // `+` at this position of the reply buffer.
    let start = replies.len();
    for &byte in bytes {
        let result = match machine {
            GdbStubStateMachine::Idle(inner) => inner.incoming_data(target, byte),
            // A resume that must first report an end is handled by the session loop, which
            // sees the pending request before the next byte arrives.
            GdbStubStateMachine::Running(inner) => inner.incoming_data(target, byte),
            // The interrupt is handled first; the byte still belongs to the next packet.
            GdbStubStateMachine::CtrlCInterrupt(inner) => {
                exec.interrupt(target);
                match inner.interrupt_handled(target, None::<MultiThreadStopReason<u64>>) {
                    Ok(GdbStubStateMachine::Idle(inner)) => inner.incoming_data(target, byte),
                    Ok(GdbStubStateMachine::Running(inner)) => inner.incoming_data(target, byte),
                    other => other,
                }
            }
            disconnected @ GdbStubStateMachine::Disconnected(_) => return Some(disconnected),
        };
        machine = match result {
            Ok(m) => m,
            Err(e) => {
                target.log(1, || format!("bad packet: {e}"));
                let acked = replies.byte_at(start) == Some(b'+');
                recover(target, exec, replies, no_ack, acked)?
            }
        };
    }
    Some(machine)
}

/// A fresh state machine in the state the old one was in: same ack mode, and running if the
/// debuggee is running. Its setup replies are discarded; the bad packet gets an `E.` error.
fn recover<'a, 'd>(
    target: &mut GdbTarget<'d>,
    exec: &Execution,
    replies: &ReplyBuffer,
    no_ack: bool,
    acked: bool,
) -> Option<Machine<'a, 'd>> {
    let before = replies.take();
    let mut machine = new_machine(target, replies)?;
    let mut setup: Vec<u8> = Vec::new();
    if no_ack {
        setup.extend_from_slice(b"$QStartNoAckMode#b0");
    }
    if exec.is_running() {
        // Puts gdbstub back in its running state; the debuggee is already running, so the
        // resume request this produces is dropped.
        setup.extend_from_slice(b"$c#63");
    }
    for byte in setup {
        machine = match machine {
            GdbStubStateMachine::Idle(inner) => inner.incoming_data(target, byte).ok()?,
            GdbStubStateMachine::Running(inner) => inner.incoming_data(target, byte).ok()?,
            other => other,
        };
    }
    target.resume_request = None;
    replies.clear();
    let mut reply = before;
    if !no_ack && !acked {
        reply.push(b'+');
    }
    reply.extend(frame("E.malformed command"));
    replies.push_raw(&reply);
    Some(machine)
}

/// Another client while one is attached: tell it why, and close.
async fn refuse(stream: wstd::net::TcpStream) {
    let mut client = Client::new(stream);
    if !client
        .send_raw(&frame("E.another debugger is attached to this program"))
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
