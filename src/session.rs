//! One debugger connection, without its socket: feeds client bytes through the packet guard to
//! gdbstub's state machine (or answers the packets gdbstub does not implement), hands resume
//! requests to the core, and turns the core's outcomes into stop replies. The socket loop
//! (`crate::server`) only moves bytes and waits; everything here also runs on the host, against
//! `crate::fake_host`, in unit tests and fuzzing.

use crate::debugger::Debugger;
use crate::execution::{End, Outcome, Stop};
use crate::gdb::{GdbTarget, ProtocolOptions, THREAD};
use crate::host::Host;
use crate::packet_guard::{Action, Guard, Packet};
use crate::rsp::{ReplyBuffer, console_output, error_reply, frame, hex_text, refusal_reply};
use crate::watchpoints::WatchKind;
use gdbstub::common::Signal;
use gdbstub::stub::state_machine::GdbStubStateMachine;
use gdbstub::stub::{DisconnectReason, GdbStub, MultiThreadStopReason};
use gdbstub_arch::wasm::reg::id::WasmRegId;

/// gdbstub's packet buffer, advertised to LLDB as `PacketSize`. LLDB sizes memory reads by it,
/// and reading module images is most of what happens at connect.
pub const PACKET_BUFFER: usize = 1 << 20;

/// What LLDB shows (as program output) when an interrupt cannot take effect yet. Wasmtime stops
/// a program only at an epoch check past its deadline, and `wasmtime serve` resets that deadline
/// for every request, so a request that ends within one epoch tick (1 ms) runs to its end.
const INTERRUPT_NOTICE: &str = "wasm-gdbstub: interrupt requested; the program is waiting in the \
host (for input, a timer or the next request) and stops when it next runs WebAssembly past \
Wasmtime's next epoch tick (a request shorter than a tick may finish first)\n";

/// How a session ended.
#[derive(Debug, PartialEq, Eq)]
pub enum SessionEnd {
    /// `D`: the client detached; the program runs on.
    Detached,
    /// The connection closed without a detach (or gdbstub could not go on).
    ConnectionLost,
    /// `k`: end the run.
    Killed,
    /// The program finished while attached.
    Exited,
}

type Machine<'c, H> = GdbStubStateMachine<'static, GdbTarget<'c, H>, ReplyBuffer>;

/// One client's session. Everything per client lives here and starts fresh with the next one.
pub struct Session<'c, H: Host> {
    target: GdbTarget<'c, H>,
    /// `None` only while a transition is in progress.
    machine: Option<Machine<'c, H>>,
    guard: Guard,
    replies: ReplyBuffer,
    /// LLDB asked for the thread list and pcs in every stop reply (`QListThreadsInStopReply`).
    threads_in_stop_reply: bool,
    /// LLDB was told that the pending interrupt waits for the program to run Wasm.
    interrupt_noticed: bool,
}

fn new_machine<'c, H: Host>(
    target: &mut GdbTarget<'c, H>,
    replies: &ReplyBuffer,
) -> Option<Machine<'c, H>> {
    let stub = GdbStub::builder(replies.clone())
        .packet_buffer_size(PACKET_BUFFER)
        .build()
        .ok()?;
    stub.run_state_machine(target).ok()
}

impl<'c, H: Host> Session<'c, H> {
    /// A session for a new client; `None` if gdbstub cannot be set up.
    pub fn new(core: &'c mut Debugger<H>, options: ProtocolOptions) -> Option<Self> {
        let replies = ReplyBuffer::default();
        let mut target = GdbTarget::new(core, options);
        let machine = new_machine(&mut target, &replies)?;
        Some(Session {
            target,
            machine: Some(machine),
            guard: Guard::new(PACKET_BUFFER, (PACKET_BUFFER / 2) as u64),
            replies,
            threads_in_stop_reply: false,
            interrupt_noticed: false,
        })
    }

    /// Replies waiting to be sent.
    pub fn replies(&self) -> &ReplyBuffer {
        &self.replies
    }

    pub fn core(&mut self) -> &mut Debugger<H> {
        self.target.core
    }

    /// Whether the session waits for the running program (as opposed to the client alone).
    pub fn waits_for_program(&self) -> bool {
        matches!(self.machine, Some(GdbStubStateMachine::Running(_)))
            && self.target.core.is_running()
    }

    /// Whether a pending interrupt has not been explained to the client yet.
    pub fn interrupt_notice_due(&self) -> bool {
        self.waits_for_program() && self.target.core.interrupt_pending() && !self.interrupt_noticed
    }

    /// An interrupt has waited long: Wasmtime delivers interrupts at epoch checks, so a program
    /// waiting in the host (an idle server, a blocking read) stops only once it runs Wasm again.
    pub fn notice_slow_interrupt(&mut self) {
        self.interrupt_noticed = true;
        log::info!("interrupt waits for the program to run Wasm");
        self.replies.push_raw(&console_output(INTERRUPT_NOTICE));
    }

    /// Advances gdbstub through every state that needs no input (an interrupt to deliver, a
    /// resume to start, a stop to report at once). Returns how the session ended, if it did.
    pub fn advance(&mut self) -> Option<SessionEnd> {
        loop {
            let machine = self.machine.take()?;
            let next = match machine {
                GdbStubStateMachine::Disconnected(inner) => {
                    let end = match inner.get_reason() {
                        DisconnectReason::Kill => SessionEnd::Killed,
                        DisconnectReason::Disconnect => SessionEnd::Detached,
                        DisconnectReason::TargetExited(_)
                        | DisconnectReason::TargetTerminated(_) => SessionEnd::Exited,
                    };
                    self.machine = Some(GdbStubStateMachine::Disconnected(inner));
                    return Some(end);
                }
                GdbStubStateMachine::CtrlCInterrupt(inner) => {
                    self.target.core.interrupt();
                    match inner
                        .interrupt_handled(&mut self.target, None::<MultiThreadStopReason<u64>>)
                    {
                        Ok(m) => m,
                        Err(_) => return Some(SessionEnd::ConnectionLost),
                    }
                }
                GdbStubStateMachine::Running(inner) => {
                    let immediate = match self.target.resume_request.take() {
                        Some(request) => self.target.core.resume(request),
                        None => None,
                    };
                    let immediate = match immediate {
                        None if self.target.core.finished() => {
                            Some(Outcome::Exited(End::Status(0)))
                        }
                        other => other,
                    };
                    match immediate {
                        Some(outcome) => {
                            self.machine = Some(GdbStubStateMachine::Running(inner));
                            if let Some(end) = self.report(outcome) {
                                return Some(end);
                            }
                            continue;
                        }
                        None => {
                            self.machine = Some(GdbStubStateMachine::Running(inner));
                            return None;
                        }
                    }
                }
                idle @ GdbStubStateMachine::Idle(_) => {
                    self.machine = Some(idle);
                    return None;
                }
            };
            self.machine = Some(next);
        }
    }

    /// Takes the running program's event and reports what it means.
    pub fn on_program_event(&mut self) -> Option<SessionEnd> {
        let outcome = self.target.core.on_event();
        if !self.target.core.interrupt_pending() {
            self.interrupt_noticed = false;
        }
        match outcome {
            Outcome::Running => None,
            outcome => self.report(outcome),
        }
    }

    /// Reports a stop or an end to the client, if gdbstub is waiting for one.
    fn report(&mut self, outcome: Outcome) -> Option<SessionEnd> {
        let Some(GdbStubStateMachine::Running(inner)) = self.machine.take() else {
            return None;
        };
        let next = match outcome {
            Outcome::Stopped(stop) => {
                let pc = self.target.core.reported_pc().to_le_bytes();
                let mut regs = core::iter::once((WasmRegId::Pc, &pc[..]));
                match inner.report_stop_with_regs(&mut self.target, stop_reason(&stop), &mut regs) {
                    Ok(m) => {
                        let fields = self.stop_fields(&stop);
                        self.replies.append_stop_fields(&fields);
                        m
                    }
                    Err(_) => return Some(SessionEnd::ConnectionLost),
                }
            }
            Outcome::Exited(end) => match inner.report_stop(&mut self.target, exit_reason(end)) {
                Ok(m) => m,
                Err(_) => return Some(SessionEnd::Exited),
            },
            Outcome::Running => GdbStubStateMachine::Running(inner),
        };
        self.machine = Some(next);
        None
    }

    /// What LLDB should get with a stop beyond the signal: the thread list (so it need not ask)
    /// and descriptions gdbstub cannot write.
    fn stop_fields(&self, stop: &Stop) -> Vec<(&'static str, String)> {
        let mut fields = Vec::new();
        if self.threads_in_stop_reply {
            fields.push(("threads", format!("{:x}", THREAD.get())));
            fields.push((
                "thread-pcs",
                format!("{:x}", self.target.core.reported_pc()),
            ));
        }
        match stop {
            Stop::StepRefused(why) => {
                fields.push(("description", hex_text(&format!("step refused: {why}"))))
            }
            Stop::Trap(reason) => fields.push(("description", hex_text(reason.description()))),
            Stop::Exception => {
                fields.push(("reason", "exception".to_string()));
                fields.push(("description", hex_text("wasm exception thrown")));
            }
            Stop::Breakpoint | Stop::StepDone | Stop::Interrupted | Stop::Watch(_) => {}
        }
        fields
    }

    /// Takes bytes from the client.
    pub fn receive(&mut self, bytes: &[u8]) -> Option<SessionEnd> {
        for action in self.guard.push(bytes) {
            let paused = matches!(self.machine, Some(GdbStubStateMachine::Idle(_)));
            match action {
                Action::Reply(reply) => self.replies.push_raw(&reply),
                Action::Answer(packet, _) if paused => self.answer(packet),
                Action::Answer(_, raw) | Action::Pass(raw) => {
                    if let Some(end) = self.feed(&raw) {
                        return Some(end);
                    }
                }
            }
        }
        None
    }

    /// Answers a packet gdbstub does not implement.
    fn answer(&mut self, packet: Packet) {
        if !self.guard.no_ack {
            self.replies.push_raw(b"+");
        }
        match packet {
            Packet::BinaryRead { addr, len } => {
                let target = &mut self.target;
                self.replies
                    .append_with(|out| target.binary_read_reply(addr, len, out));
            }
            Packet::MemoryRegionInfo(addr) => {
                self.replies
                    .push_raw(&self.target.memory_region_reply(addr));
            }
            Packet::ListThreadsInStopReply => {
                self.threads_in_stop_reply = true;
                self.replies.push_raw(&frame("OK"));
            }
            Packet::LineStep(kind) => {
                self.target.core.arm_line_step(kind);
                self.replies.push_raw(&frame("OK"));
            }
            Packet::IndirectFunction { within, index } => {
                match self.target.core.indirect_function_at(within, index) {
                    Ok(addr) => self.replies.push_raw(&frame(&format!("{addr:x}"))),
                    Err(why) => self.replies.push_raw(&refusal_reply("01", &why.0)),
                }
            }
            Packet::FastStepping(addr) => match self.target.core.fast_stepping_hazard_at(addr) {
                Ok(None) => self.replies.push_raw(&frame("OK")),
                Ok(Some(hazard)) => self.replies.push_raw(&refusal_reply("02", &hazard)),
                Err(why) => self.replies.push_raw(&refusal_reply("01", &why.0)),
            },
        }
    }

    /// Feeds bytes to gdbstub. A packet gdbstub cannot parse ends its state machine; the session
    /// answers it with an error and goes on with a fresh one, so no packet ends a session.
    fn feed(&mut self, bytes: &[u8]) -> Option<SessionEnd> {
        // gdbstub acks a command before handling it; a packet that fails after that already has
        // its `+` at this position of the reply buffer.
        let start = self.replies.len();
        self.target.refusal = None;
        for &byte in bytes {
            let machine = self.machine.take()?;
            let result = match machine {
                GdbStubStateMachine::Idle(inner) => inner.incoming_data(&mut self.target, byte),
                // A resume that must first report an end is handled by `advance`, which sees
                // the pending request before the next byte arrives.
                GdbStubStateMachine::Running(inner) => inner.incoming_data(&mut self.target, byte),
                // The interrupt is handled first; the byte still belongs to the next packet.
                GdbStubStateMachine::CtrlCInterrupt(inner) => {
                    self.target.core.interrupt();
                    match inner
                        .interrupt_handled(&mut self.target, None::<MultiThreadStopReason<u64>>)
                    {
                        Ok(GdbStubStateMachine::Idle(inner)) => {
                            inner.incoming_data(&mut self.target, byte)
                        }
                        Ok(GdbStubStateMachine::Running(inner)) => {
                            inner.incoming_data(&mut self.target, byte)
                        }
                        other => other,
                    }
                }
                disconnected @ GdbStubStateMachine::Disconnected(_) => {
                    self.machine = Some(disconnected);
                    return None;
                }
            };
            match result {
                Ok(m) => self.machine = Some(m),
                Err(e) => {
                    log::debug!("bad packet: {e}");
                    let acked = self.replies.byte_at(start) == Some(b'+');
                    if !self.recover(acked) {
                        return Some(SessionEnd::ConnectionLost);
                    }
                }
            }
        }
        if let Some(why) = self.target.refusal.take() {
            self.replies.explain_error(&why.0);
        }
        None
    }

    /// A fresh state machine in the state the old one was in: same ack mode, and running if the
    /// debuggee is running. Its setup replies are discarded; the bad packet gets an `E.` error.
    fn recover(&mut self, acked: bool) -> bool {
        let before = self.replies.take();
        let Some(mut machine) = new_machine(&mut self.target, &self.replies) else {
            return false;
        };
        let mut setup: Vec<u8> = Vec::new();
        if self.guard.no_ack {
            setup.extend_from_slice(&frame("QStartNoAckMode"));
        }
        if self.target.core.is_running() {
            // Puts gdbstub back in its running state; the debuggee is already running, so the
            // resume request this produces is dropped.
            setup.extend_from_slice(&frame("c"));
        }
        for byte in setup {
            machine = match machine {
                GdbStubStateMachine::Idle(inner) => {
                    match inner.incoming_data(&mut self.target, byte) {
                        Ok(m) => m,
                        Err(_) => return false,
                    }
                }
                GdbStubStateMachine::Running(inner) => {
                    match inner.incoming_data(&mut self.target, byte) {
                        Ok(m) => m,
                        Err(_) => return false,
                    }
                }
                other => other,
            };
        }
        self.target.resume_request = None;
        self.replies.clear();
        let mut reply = before;
        if !self.guard.no_ack && !acked {
            reply.push(b'+');
        }
        reply.extend(error_reply("malformed command"));
        self.replies.push_raw(&reply);
        self.machine = Some(machine);
        true
    }
}

fn stop_reason(stop: &Stop) -> MultiThreadStopReason<u64> {
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
        Stop::StepDone | Stop::Exception | Stop::StepRefused(_) => Signal::SIGTRAP,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::debugger::{CoreOptions, MAX_BREAKPOINTS, MAX_WATCHPOINTS};
    use crate::fake_host::{Edit, FakeFrame, FakeHost};
    use crate::host::{HostEvent, Value};
    use crate::rsp::frame;

    /// A module with one exported function `_start` whose body is `nops` nops; returns the bytes
    /// and the offset of the first nop.
    fn module(nops: usize) -> (Vec<u8>, u32) {
        fn leb(mut n: usize, out: &mut Vec<u8>) {
            loop {
                let byte = (n & 0x7f) as u8;
                n >>= 7;
                if n == 0 {
                    out.push(byte);
                    return;
                }
                out.push(byte | 0x80);
            }
        }
        let mut body = vec![0x00];
        body.extend(std::iter::repeat_n(0x01, nops));
        body.push(0x0b);
        let mut code = vec![0x01];
        leb(body.len(), &mut code);
        let body_start = code.len();
        code.extend(&body);
        let mut m = b"\0asm\x01\0\0\0".to_vec();
        m.extend([0x01, 0x04, 0x01, 0x60, 0x00, 0x00]);
        m.extend([0x03, 0x02, 0x01, 0x00]);
        m.extend([0x07, 0x0a, 0x01, 0x06]);
        m.extend(b"_start");
        m.extend([0x00, 0x00]);
        m.push(0x0a);
        leb(code.len(), &mut m);
        let code_start = m.len();
        m.extend(code);
        // Past the locals declaration (one byte) to the first nop.
        (m, (code_start + body_start + 1) as u32)
    }

    fn at(pc: u32) -> Vec<FakeFrame> {
        vec![FakeFrame {
            module: 0,
            pc,
            locals: vec![Value::I32(41), Value::I64(7)],
            operands: vec![Value::I32(3)],
        }]
    }

    /// Sends packets and returns what came back, acks left out (no-ack mode).
    fn exchange<H: Host>(session: &mut Session<'_, H>, packet: &str) -> String {
        assert!(session.advance().is_none());
        session.replies().take();
        let mut ended = session.receive(&frame(packet));
        // Until the reply is written (a stop, or the end of the program).
        while ended.is_none() {
            ended = session.advance();
            if ended.is_some() || !session.waits_for_program() {
                break;
            }
            ended = session.on_program_event();
        }
        String::from_utf8(session.replies().take()).unwrap()
    }

    fn start(core: &mut Debugger<FakeHost>) -> Session<'_, FakeHost> {
        let mut session = Session::new(core, ProtocolOptions::default()).unwrap();
        assert_eq!(exchange(&mut session, "QStartNoAckMode"), "+$OK#9a");
        session
    }

    fn addr(pc: u32) -> String {
        format!("{:x}", crate::addr::code_addr(0, pc))
    }

    #[test]
    fn breakpoint_edits_reach_the_host_once_per_resumption_and_only_when_they_change() {
        let (bytes, first) = module(8);
        let host = FakeHost::new(vec![bytes]);
        host.then(HostEvent::Breakpoint, at(first + 2));
        host.then(HostEvent::Breakpoint, at(first + 2));
        let mut core = Debugger::new(host, CoreOptions::default());
        let mut session = start(&mut core);
        let bp = addr(first + 2);
        assert_eq!(exchange(&mut session, &format!("Z0,{bp},1")), "$OK#9a");
        // Nothing reaches the host before the program runs.
        assert!(session.core().debuggee.host.state.borrow().edits.is_empty());
        assert!(exchange(&mut session, "vCont;c").starts_with("$T05"));
        let edits = std::mem::take(&mut session.core().debuggee.host.state.borrow_mut().edits);
        assert_eq!(edits, vec![Edit::Add(0, first + 2)]);
        // LLDB's step over its own breakpoint: removed and planted again before the continue.
        assert_eq!(exchange(&mut session, &format!("z0,{bp},1")), "$OK#9a");
        assert_eq!(exchange(&mut session, &format!("Z0,{bp},1")), "$OK#9a");
        assert!(exchange(&mut session, "vCont;c").starts_with("$T05"));
        assert!(session.core().debuggee.host.state.borrow().edits.is_empty());
    }

    #[test]
    fn each_host_query_is_made_once_per_stop() {
        let (bytes, first) = module(4);
        let host = FakeHost::new(vec![bytes]);
        host.then(HostEvent::Breakpoint, at(first + 1));
        let mut core = Debugger::new(host, CoreOptions::default());
        let mut session = start(&mut core);
        assert_eq!(
            exchange(&mut session, &format!("Z0,{},1", addr(first + 1))),
            "$OK#9a"
        );
        assert!(exchange(&mut session, "vCont;c").starts_with("$T05"));
        let before = session.core().debuggee.host.state.borrow().requests;
        // What LLDB asks at a stop, twice over.
        for _ in 0..2 {
            assert!(exchange(&mut session, "qWasmCallStack:1").starts_with("$"));
            // (gdbstub run-length encodes the zeros that follow.)
            assert!(exchange(&mut session, "qWasmLocal:0;0").starts_with("$290"));
            assert!(exchange(&mut session, "qWasmLocal:0;1").starts_with("$070"));
            assert!(exchange(&mut session, "qWasmStackValue:0;0").starts_with("$030"));
            assert!(exchange(&mut session, "p0").starts_with("$"));
        }
        let requests = session.core().debuggee.host.state.borrow().requests - before;
        // The first local alone, then (another one asked) all of them, and the operand stack;
        // the call stack was read at the stop.
        assert_eq!(requests, 3);
    }

    #[test]
    fn stop_replies_list_threads_when_asked() {
        let (bytes, first) = module(4);
        let host = FakeHost::new(vec![bytes]);
        host.then(HostEvent::Breakpoint, at(first + 1));
        let mut core = Debugger::new(host, CoreOptions::default());
        let mut session = start(&mut core);
        assert_eq!(exchange(&mut session, "QListThreadsInStopReply"), "$OK#9a");
        assert_eq!(
            exchange(&mut session, &format!("Z0,{},1", addr(first + 1))),
            "$OK#9a"
        );
        let stop = exchange(&mut session, "vCont;c");
        assert!(
            stop.contains(&format!("threads:1;thread-pcs:{};", addr(first + 1))),
            "{stop}"
        );
    }

    /// The reason in a refusal (`Enn;<hex text>`).
    fn reason(reply: &str) -> String {
        let hex = reply
            .strip_prefix("$E")
            .and_then(|r| r.split_once(';'))
            .and_then(|(_, r)| r.split_once('#'))
            .map(|(hex, _)| hex)
            .unwrap_or_else(|| panic!("not a refusal: {reply}"));
        let bytes: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn refusals_say_why() {
        let (bytes, _) = module(4);
        let mut core = Debugger::new(FakeHost::new(vec![bytes]), CoreOptions::default());
        let mut session = start(&mut core);
        assert_eq!(
            reason(&exchange(&mut session, "Z0,0,1")),
            "0x0 is not a code address"
        );
        let why = reason(&exchange(&mut session, &format!("Z0,{},1", addr(0))));
        assert!(why.contains("not inside a function body"), "{why}");
        let why = reason(&exchange(&mut session, &format!("M{},1:00", addr(0))));
        assert_eq!(why, "module bytecode is read-only");
        let why = reason(&exchange(&mut session, "m7fffffff,10"));
        assert!(why.contains("outside linear memory"), "{why}");
    }

    #[test]
    fn breakpoints_and_watchpoints_are_bounded() {
        let (bytes, first) = module(MAX_BREAKPOINTS + 1);
        let mut core = Debugger::new(FakeHost::new(vec![bytes]), CoreOptions::default());
        for i in 0..MAX_BREAKPOINTS as u32 {
            core.add_breakpoint(crate::addr::code_addr(0, first + i))
                .unwrap();
        }
        let refused =
            core.add_breakpoint(crate::addr::code_addr(0, first + MAX_BREAKPOINTS as u32));
        assert!(refused.unwrap_err().0.contains("too many breakpoints"));
        // Planting one that exists is not a new one.
        core.add_breakpoint(crate::addr::code_addr(0, first))
            .unwrap();
        let mut session = start(&mut core);
        for i in 0..MAX_WATCHPOINTS as u64 {
            let addr = crate::addr::Location::Memory {
                module: 0,
                offset: 16 * i as u32,
            }
            .encode();
            assert_eq!(exchange(&mut session, &format!("Z2,{addr:x},4")), "$OK#9a");
        }
        let why = reason(&exchange(&mut session, "Z2,ffff0,4"));
        assert!(why.contains("too many watchpoints"), "{why}");
    }

    #[test]
    fn a_watchpoint_too_costly_to_set_up_is_refused_with_its_cost() {
        // 60,000 stores in 420 KB of code: planting a breakpoint on each would republish 25 GB.
        let stores = "(i32.store (local.get 0) (i32.const 0))\n".repeat(60_000);
        let wat = format!("(module (memory 1) (func (export \"_start\") (local i32) {stores}))");
        let bytes = wat::parse_str(&wat).expect("wat");
        let mut core = Debugger::new(FakeHost::new(vec![bytes]), CoreOptions::default());
        let mut session = start(&mut core);
        let watched = crate::addr::Location::Memory {
            module: 0,
            offset: 0x10,
        }
        .encode();
        let why = reason(&exchange(&mut session, &format!("Z2,{watched:x},4")));
        assert!(
            why.contains("breakpoints on 60000 memory accesses") && why.contains("at most"),
            "{why}"
        );
        assert!(session.core().watchpoints.is_empty());
        assert!(exchange(&mut session, "vCont;c").starts_with("$W00"));
        assert!(session.core().debuggee.host.state.borrow().edits.is_empty());
    }

    #[test]
    fn stepping_over_a_breakpoint_costs_no_host_edit_and_lingering_sites_go_when_hit() {
        let (bytes, first) = module(4);
        let host = FakeHost::new(vec![bytes]);
        host.state.borrow_mut().stack = at(first);
        host.then(HostEvent::Breakpoint, at(first));
        host.then(HostEvent::Breakpoint, at(first + 1));
        // The step's successor is still planted: the program stops there, unseen by the client.
        host.then(HostEvent::Breakpoint, at(first + 1));
        host.then(HostEvent::Breakpoint, at(first));
        let mut core = Debugger::new(host, CoreOptions::default());
        core.debuggee.refresh_stack();
        let mut session = start(&mut core);
        let take_edits = |session: &mut Session<'_, FakeHost>| {
            std::mem::take(&mut session.core().debuggee.host.state.borrow_mut().edits)
        };
        let bp = addr(first);
        assert_eq!(exchange(&mut session, &format!("Z0,{bp},1")), "$OK#9a");
        assert!(exchange(&mut session, "vCont;c").contains("swbreak"));
        assert_eq!(take_edits(&mut session), vec![Edit::Add(0, first)]);

        // LLDB's step over its own breakpoint: remove, step, plant again, continue.
        assert_eq!(exchange(&mut session, &format!("z0,{bp},1")), "$OK#9a");
        let stop = exchange(&mut session, "vCont;s:1");
        assert!(stop.starts_with("$T05"), "{stop}");
        // The pc is expedited (gdbstub run-length encodes its zero bytes).
        let pc = format!("{:02x}", first + 1);
        assert!(stop.contains(&format!(";00:{pc}0")), "{stop}");
        assert_eq!(take_edits(&mut session), vec![Edit::Add(0, first + 1)]);
        assert_eq!(exchange(&mut session, &format!("Z0,{bp},1")), "$OK#9a");
        let stop = exchange(&mut session, "vCont;c");
        assert!(
            stop.contains("swbreak") && stop.contains(&format!(";00:{:02x}0", first)),
            "{stop}"
        );
        assert_eq!(take_edits(&mut session), vec![Edit::Remove(0, first + 1)]);
    }

    #[test]
    fn a_step_that_stays_in_its_frame_keeps_the_callers_without_walking_the_stack() {
        let (bytes, first) = module(4);
        let host = FakeHost::new(vec![bytes]);
        // The innermost frame at a nop, under a caller (the same function stands in for it).
        let with_caller = |pc: u32| {
            let mut stack = at(pc);
            stack.push(FakeFrame {
                module: 0,
                pc: first + 3,
                locals: vec![Value::I32(99)],
                operands: Vec::new(),
            });
            stack
        };
        host.state.borrow_mut().stack = with_caller(first);
        host.then(HostEvent::Breakpoint, with_caller(first + 1));
        let mut core = Debugger::new(host, CoreOptions::default());
        core.debuggee.refresh_stack();
        let mut session = start(&mut core);
        let walked = |session: &mut Session<'_, FakeHost>| {
            session.core().debuggee.host.state.borrow().parent_requests
        };
        let before = walked(&mut session);
        assert!(exchange(&mut session, "vCont;s:1").starts_with("$T05"));
        assert_eq!(
            walked(&mut session),
            before,
            "a nop cannot change the callers"
        );
        assert!(exchange(&mut session, "qWasmCallStack:1").starts_with("$"));
        let stack = session.core().call_stack();
        assert_eq!(stack.len(), 2);
        assert_eq!(stack[1], crate::addr::code_addr(0, first + 3));
        // The caller's frame handle is fetched once, when its locals are asked for.
        assert!(exchange(&mut session, "qWasmLocal:1;0").starts_with("$63"));
        assert!(exchange(&mut session, "qWasmLocal:1;0").starts_with("$63"));
        assert_eq!(walked(&mut session), before + 1);
    }

    /// A function whose local 0 is written once before any control flow (as a prologue sets
    /// the frame base LLDB reads at every stop) and local 1 in a loop; its body's nops at the
    /// returned offsets.
    fn module_with_a_frame_base() -> (Vec<u8>, Vec<u32>) {
        let wasm = wat::parse_str(
            r#"(module (func (export "_start") (local i32 i32)
                 i32.const 5
                 local.set 0
                 nop
                 nop
                 loop
                   i32.const 1
                   local.set 1
                   nop
                 end))"#,
        )
        .unwrap();
        let info = crate::wasm_module::ModuleInfo::parse(&wasm).unwrap();
        let offsets = info.instruction_boundaries(&wasm, 0).unwrap();
        (wasm, offsets)
    }

    #[test]
    fn a_local_that_cannot_change_is_read_once_per_activation() {
        let (bytes, ops) = module_with_a_frame_base();
        // ops: const, set 0, nop, nop, loop, const, set 1, nop, end, end
        let (nop1, nop2) = (ops[2], ops[3]);
        let host = FakeHost::new(vec![bytes]);
        let frame = |pc: u32, base: u32, counter: u32| FakeFrame {
            module: 0,
            pc,
            locals: vec![Value::I32(base), Value::I32(counter)],
            operands: Vec::new(),
        };
        host.state.borrow_mut().stack = vec![frame(nop1, 5, 0)];
        // The fake host would show a different value if asked again: it must not be asked.
        host.then(HostEvent::Breakpoint, vec![frame(nop2, 6, 1)]);
        host.then(HostEvent::Breakpoint, vec![frame(ops[4], 6, 2)]);
        let mut core = Debugger::new(host, CoreOptions::default());
        core.debuggee.refresh_stack();
        let mut session = start(&mut core);
        let reads = |session: &mut Session<'_, FakeHost>| {
            session.core().debuggee.host.state.borrow().locals_requests
        };
        let reply = exchange(&mut session, "qWasmLocal:0;0");
        assert!(reply.starts_with("$05"), "{reply}");
        assert!(exchange(&mut session, "qWasmLocal:0;1").starts_with("$00"));
        assert_eq!(reads(&mut session), 2);
        assert!(exchange(&mut session, "vCont;s:1").starts_with("$T05"));
        assert!(exchange(&mut session, "qWasmLocal:0;0").starts_with("$05"));
        assert_eq!(reads(&mut session), 2, "the frame base cannot have changed");
        assert!(exchange(&mut session, "qWasmLocal:0;1").starts_with("$01"));
        assert_eq!(
            reads(&mut session),
            3,
            "a local written in a loop is read again"
        );
    }

    #[test]
    fn line_step_packets_are_checked() {
        let (bytes, first) = module(4);
        let mut core = Debugger::new(FakeHost::new(vec![bytes]), CoreOptions::default());
        let mut session = start(&mut core);
        assert!(exchange(&mut session, "QWasmLineStep:sideways").starts_with("$E"));
        assert!(exchange(&mut session, "qWasmFastStepping:zz").starts_with("$E"));
        assert!(exchange(&mut session, "qWasmIndirectFunction:zz").starts_with("$E"));
        // The test module has no table: the slot holds no function, and the reply says so.
        assert!(
            exchange(
                &mut session,
                &format!("qWasmIndirectFunction:{},1", addr(first))
            )
            .starts_with("$E01;")
        );
        assert!(exchange(&mut session, "qWasmFastStepping:10").starts_with("$E01;"));
        // A function of nops, without line information: LLDB may step it its own way.
        assert_eq!(
            exchange(&mut session, &format!("qWasmFastStepping:{}", addr(first))),
            "$OK#9a"
        );
    }

    #[test]
    fn a_stop_where_nothing_was_planted_is_not_shown() {
        let (bytes, first) = module(4);
        let host = FakeHost::new(vec![bytes]);
        // Wasmtime moved a breakpoint onto an instruction nobody asked for; the program runs on
        // to the one the client planted.
        host.then(HostEvent::Breakpoint, at(first + 3));
        host.then(HostEvent::Breakpoint, at(first + 1));
        let mut core = Debugger::new(host, CoreOptions::default());
        let mut session = start(&mut core);
        let bp = addr(first + 1);
        assert_eq!(exchange(&mut session, &format!("Z0,{bp},1")), "$OK#9a");
        let stop = exchange(&mut session, "vCont;c");
        assert!(
            stop.contains("swbreak") && stop.contains(&format!(";00:{:02x}0", first + 1)),
            "{stop}"
        );
        assert!(exchange(&mut session, "vCont;c").starts_with("$W00"));
    }

    #[test]
    fn a_new_client_starts_fresh() {
        let (bytes, first) = module(4);
        let host = FakeHost::new(vec![bytes]);
        host.then(HostEvent::Breakpoint, at(first + 1));
        let mut core = Debugger::new(host, CoreOptions::default());
        let mut session = start(&mut core);
        assert_eq!(exchange(&mut session, "QListThreadsInStopReply"), "$OK#9a");
        assert_eq!(
            exchange(&mut session, &format!("Z0,{},1", addr(first + 1))),
            "$OK#9a"
        );
        drop(session);
        core.forget_client();
        let session = Session::new(&mut core, ProtocolOptions::default()).unwrap();
        assert!(!session.threads_in_stop_reply);
        assert!(!session.guard.no_ack);
        assert_eq!(session.target.core.breakpoints.user_count(), 0);
    }
}
