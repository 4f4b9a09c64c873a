//! A gate in front of gdbstub for input it would treat as fatal: gdbstub ends its state machine on
//! a bad checksum, an oversized packet or a stray byte between packets, and answers absurd read
//! lengths with replies of gigabytes. It also stops the few well-formed packets gdbstub would
//! carry out wrongly: ids of threads or processes that do not exist, `vCont` without actions,
//! writes whose data is shorter than their length. The guard only finds packet boundaries and
//! looks at those few fields (gdbstub still parses every packet it passes); what it refuses gets
//! an error reply and the session goes on. The packets gdbstub 0.7 does not implement come out
//! parsed, for the session to answer.

use crate::line_step::LineStepKind;
use crate::rsp::{checksum, frame, frame_bytes};

/// What to do with the bytes seen so far.
#[derive(Debug, PartialEq, Eq)]
pub enum Action {
    /// Hand these bytes to gdbstub.
    Pass(Vec<u8>),
    /// A packet the session answers itself while the program is paused; `raw` is the framed
    /// packet, for gdbstub to answer while it runs.
    Answer(Packet, Vec<u8>),
    /// Send this raw reply to the client instead (already framed).
    Reply(Vec<u8>),
}

/// A packet gdbstub 0.7 does not implement, parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packet {
    /// `x addr,len`: binary memory read (`len` 0 is LLDB's capability probe).
    BinaryRead { addr: u64, len: usize },
    /// `qMemoryRegionInfo:addr`.
    MemoryRegionInfo(u64),
    /// `QListThreadsInStopReply`: stop replies should list the threads and their pcs.
    ListThreadsInStopReply,
    /// `QWasmLineStep:over|into|off`: what single steps mean until the next such packet (see
    /// `crate::line_step`); sent by `lldb/wasm_gdbstub.py` around LLDB's step commands.
    LineStep(Option<LineStepKind>),
    /// `qWasmFastStepping:addr`: whether LLDB's own fast stepping can step the line at code
    /// address `addr` (`OK`) or why not (an error with the reason), for the integration to turn
    /// it off where it would crash LLDB or lose the step.
    FastStepping(u64),
    /// `qWasmIndirectFunction:addr,index`: the code address of the function in slot `index` of
    /// the table of the module holding code address `addr` (what a C function pointer points
    /// to), for the integration to show function pointers as natively.
    IndirectFunction { within: u64, index: u32 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    Between,
    Body,
    Checksum(u8),
}

#[derive(Debug)]
pub struct Guard {
    framing: Framing,
    packet: Vec<u8>,
    overflowed: bool,
    max_packet: usize,
    max_read: u64,
    /// Once `QStartNoAckMode` has been accepted the client expects no `+`/`-`.
    pub no_ack: bool,
}

impl Guard {
    /// `max_packet`: gdbstub's packet buffer; `max_read`: the largest memory read answered.
    pub fn new(max_packet: usize, max_read: u64) -> Self {
        Guard {
            framing: Framing::Between,
            packet: Vec::new(),
            overflowed: false,
            max_packet,
            max_read,
            no_ack: false,
        }
    }

    /// Takes bytes from the socket; returns what to do, in order.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Action> {
        let mut actions = Vec::new();
        let mut passthrough = Vec::new();
        for &byte in bytes {
            match self.framing {
                Framing::Between => match byte {
                    b'$' => {
                        self.framing = Framing::Body;
                        self.packet.clear();
                        self.packet.push(byte);
                        self.overflowed = false;
                    }
                    // Without acks a `-` is noise, and gdbstub would answer it (it takes any
                    // NAK as fatal, so the session answers with an error): an unrequested reply
                    // the client would pair with its next request.
                    b'-' if self.no_ack => {}
                    // Acks and the interrupt byte are meaningful on their own.
                    b'+' | b'-' | 0x03 => passthrough.push(byte),
                    // Line noise between packets is dropped.
                    _ => {}
                },
                Framing::Body => {
                    if byte == b'#' {
                        self.framing = Framing::Checksum(0);
                    }
                    self.keep(byte);
                }
                Framing::Checksum(n) => {
                    self.keep(byte);
                    if n == 0 {
                        self.framing = Framing::Checksum(1);
                    } else {
                        self.framing = Framing::Between;
                        if !passthrough.is_empty() {
                            actions.push(Action::Pass(std::mem::take(&mut passthrough)));
                        }
                        actions.push(self.judge());
                    }
                }
            }
        }
        if !passthrough.is_empty() {
            actions.push(Action::Pass(passthrough));
        }
        actions
    }

    fn keep(&mut self, byte: u8) {
        if self.packet.len() < self.max_packet {
            self.packet.push(byte);
        } else {
            self.overflowed = true;
        }
    }

    /// Answers the packet itself with `payload`.
    fn reply(&self, payload: &str) -> Action {
        let mut reply = Vec::new();
        if !self.no_ack {
            reply.push(b'+');
        }
        reply.extend(frame(payload));
        Action::Reply(reply)
    }

    fn judge(&mut self) -> Action {
        if self.overflowed {
            return self.reply("E.packet too long");
        }
        let packet = std::mem::take(&mut self.packet);
        // The first `#` ends the body, as for gdbstub: a `#` among the checksum digits must not
        // move the split, or the guard would pass a packet gdbstub then rejects.
        let Some(hash) = packet.iter().position(|&b| b == b'#') else {
            return self.reply("E.malformed packet");
        };
        let body = &packet[1..hash];
        if hex_byte(&packet[hash + 1..]) != Some(checksum(body)) {
            // With acks, `-` asks for a retransmission; without, there is no retransmission
            // and the client gets an error for the packet it sent.
            return if self.no_ack {
                Action::Reply(frame("E.bad checksum"))
            } else {
                Action::Reply(b"-".to_vec())
            };
        }
        if body == b"QThreadSuffixSupported" {
            return self.reply("OK");
        }
        if let Some(unsuffixed) = without_thread_suffix(body) {
            return match unsuffixed {
                Some(rest) => {
                    self.packet = frame_bytes(rest);
                    self.judge()
                }
                None => self.reply("E.no such thread"),
            };
        }
        if read_length(body).is_some_and(|len| len > self.max_read) {
            return self.reply("E.read too large");
        }
        if names_missing_thread(body) {
            return self.reply("E.no such thread");
        }
        if write_length_mismatch(body) {
            return self.reply("E.write data does not match its length");
        }
        // gdbstub takes `vCont` followed by anything but `;` as an empty action list, which our
        // target treats as "continue": `vContx` would run the program.
        if body.starts_with(b"vCont") && body != b"vCont?" && !body.starts_with(b"vCont;") {
            return self.reply("E.malformed vCont");
        }
        if body == b"QStartNoAckMode" {
            self.no_ack = true;
        }
        match parse_answered(body) {
            Some(Ok(answered)) => Action::Answer(answered, packet),
            Some(Err(why)) => self.reply(why),
            None => Action::Pass(packet),
        }
    }
}

/// The packet if it is one the session answers; `Err` with the error reply if it is malformed.
fn parse_answered(body: &[u8]) -> Option<Result<Packet, &'static str>> {
    let hex = |digits: &[u8]| {
        std::str::from_utf8(digits)
            .ok()
            .and_then(|d| u64::from_str_radix(d, 16).ok())
    };
    if let Some(args) = body.strip_prefix(b"x") {
        let parsed = args
            .iter()
            .position(|&b| b == b',')
            .and_then(|comma| Some((hex(&args[..comma])?, hex(&args[comma + 1..])?)));
        return Some(match parsed {
            Some((addr, len)) => usize::try_from(len)
                .map(|len| Packet::BinaryRead { addr, len })
                .map_err(|_| "E.read too large"),
            None => Err("E.malformed x packet"),
        });
    }
    if let Some(arg) = body.strip_prefix(b"qMemoryRegionInfo:") {
        return Some(
            hex(arg)
                .map(Packet::MemoryRegionInfo)
                .ok_or("E.malformed qMemoryRegionInfo"),
        );
    }
    if let Some(kind) = body.strip_prefix(b"QWasmLineStep:") {
        return Some(match kind {
            b"over" => Ok(Packet::LineStep(Some(LineStepKind::Over))),
            b"into" => Ok(Packet::LineStep(Some(LineStepKind::Into))),
            b"off" => Ok(Packet::LineStep(None)),
            _ => Err("E.QWasmLineStep takes over, into or off"),
        });
    }
    if let Some(args) = body.strip_prefix(b"qWasmIndirectFunction:") {
        let parsed = args
            .iter()
            .position(|&b| b == b',')
            .and_then(|comma| Some((hex(&args[..comma])?, hex(&args[comma + 1..])?)));
        return Some(match parsed {
            Some((within, index)) => u32::try_from(index)
                .map(|index| Packet::IndirectFunction { within, index })
                .map_err(|_| "E.table index too large"),
            None => Err("E.malformed qWasmIndirectFunction"),
        });
    }
    if let Some(arg) = body.strip_prefix(b"qWasmFastStepping:") {
        return Some(
            hex(arg)
                .map(Packet::FastStepping)
                .ok_or("E.malformed qWasmFastStepping"),
        );
    }
    (body == b"QListThreadsInStopReply").then_some(Ok(Packet::ListThreadsInStopReply))
}

/// The one thread the stub serves (`crate::gdb::THREAD`, which only builds for wasm32), in
/// process 1.
const ONLY_THREAD: u64 = 1;

/// Whether `body` names a thread other than the one there is, in a packet that acts on a thread:
/// `vCont` actions, `Hg`/`Hc`, `qWasmCallStack`, and the process of a `D;pid` detach. gdbstub
/// checks only the syntax of an id, and the target has one thread to act on, so `vCont;s:p2.2`
/// would step thread 1, `qWasmCallStack:9` would show thread 1's stack and `D;9` would detach.
/// Ids gdbstub cannot parse are left to it.
fn names_missing_thread(body: &[u8]) -> bool {
    let ids: Vec<&[u8]> = if let Some(actions) = body.strip_prefix(b"vCont;") {
        actions
            .split(|&b| b == b';')
            .filter_map(|action| Some(&action[action.iter().position(|&b| b == b':')? + 1..]))
            .collect()
    } else if let Some(id) = body
        .strip_prefix(b"Hg")
        .or_else(|| body.strip_prefix(b"Hc"))
    {
        vec![id]
    } else if let Some(id) = body.strip_prefix(b"qWasmCallStack:") {
        vec![id]
    } else if let Some(pid) = body.strip_prefix(b"D;") {
        // A process id, written like a thread id without the `p`.
        return thread_number(pid).is_some_and(|n| n != 0 && n != ONLY_THREAD);
    } else {
        return false;
    };
    ids.into_iter().any(|id| {
        let (pid, tid) = match id.strip_prefix(b"p") {
            Some(rest) => match rest.iter().position(|&b| b == b'.') {
                Some(dot) => (Some(&rest[..dot]), Some(&rest[dot + 1..])),
                None => (Some(rest), None),
            },
            None => (None, Some(id)),
        };
        // 0 is "any" and -1 "all": both include the one thread.
        [pid, tid]
            .into_iter()
            .flatten()
            .filter_map(thread_number)
            .any(|n| n != 0 && n != ONLY_THREAD)
    })
}

/// A register packet (`p`, `P`, `g`, `G`) with the `;thread:<id>;` suffix LLDB adds once
/// `QThreadSuffixSupported` is answered `OK` (sparing an `Hg` before the registers are read at
/// every stop): `Some(Some(body without it))`, or `Some(None)` if it names a thread that does
/// not exist. gdbstub knows no suffix; it reads the one thread there is.
fn without_thread_suffix(body: &[u8]) -> Option<Option<&[u8]>> {
    const SUFFIX: &[u8] = b";thread:";
    if !matches!(body.first(), Some(b'p' | b'P' | b'g' | b'G')) {
        return None;
    }
    let at = body.windows(SUFFIX.len()).rposition(|w| w == SUFFIX)?;
    let id = &body[at + SUFFIX.len()..];
    let id = id.strip_suffix(b";").unwrap_or(id);
    Some(
        thread_number(id)
            .is_some_and(|n| n == ONLY_THREAD)
            .then_some(&body[..at]),
    )
}

/// A thread or process id's number; `u64::MAX` if it has more digits than fit, `None` for `-1`
/// and for what is not hex at all.
fn thread_number(text: &[u8]) -> Option<u64> {
    if text.is_empty() || !text.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let significant = &text[text.iter().position(|&d| d != b'0').unwrap_or(text.len())..];
    match significant.len() {
        0 => Some(0),
        1..=16 => u64::from_str_radix(std::str::from_utf8(significant).ok()?, 16).ok(),
        _ => Some(u64::MAX),
    }
}

/// Whether `body` is an `M addr,len:hex` or `X addr,len:binary` write whose data is not `len`
/// bytes. gdbstub writes whatever data there is, so a short or cut-off write would change part
/// of the program's memory and still answer `OK`. Malformed numbers are left to gdbstub.
fn write_length_mismatch(body: &[u8]) -> bool {
    let (binary, rest) = match body.split_first() {
        Some((b'M', rest)) => (false, rest),
        Some((b'X', rest)) => (true, rest),
        _ => return false,
    };
    let Some(colon) = rest.iter().position(|&b| b == b':') else {
        return false;
    };
    let Some(comma) = rest[..colon].iter().position(|&b| b == b',') else {
        return false;
    };
    let Some(len) = thread_number(&rest[comma + 1..colon]) else {
        return false;
    };
    let data = &rest[colon + 1..];
    let bytes = if binary {
        // `}` escapes the byte after it; one left dangling at the end is a cut-off write.
        let mut count = 0u64;
        let mut iter = data.iter();
        while let Some(&b) = iter.next() {
            if b == b'}' && iter.next().is_none() {
                return true;
            }
            count += 1;
        }
        count
    } else {
        if data.len() % 2 != 0 {
            return true;
        }
        data.len() as u64 / 2
    };
    bytes != len
}

/// Two hex digits. Stricter than `u8::from_str_radix`, which also takes a sign (`+5`).
fn hex_byte(text: &[u8]) -> Option<u8> {
    match text {
        [hi, lo] if hi.is_ascii_hexdigit() && lo.is_ascii_hexdigit() => {
            u8::from_str_radix(std::str::from_utf8(text).ok()?, 16).ok()
        }
        _ => None,
    }
}

/// The length of an `m addr,len` / `x addr,len` read, if `body` is one; `u64::MAX` for a length
/// too large for 64 bits. `None` for malformed ones, which gdbstub rejects itself. Leading zeros
/// are allowed (gdbstub and the `x` reader accept them), so they must not hide a huge length.
fn read_length(body: &[u8]) -> Option<u64> {
    let rest = body
        .strip_prefix(b"m")
        .or_else(|| body.strip_prefix(b"x"))?;
    let comma = rest.iter().position(|&b| b == b',')?;
    let digits = &rest[comma + 1..];
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let significant = &digits[digits
        .iter()
        .position(|&d| d != b'0')
        .unwrap_or(digits.len())..];
    if significant.len() > 16 {
        return Some(u64::MAX);
    }
    if significant.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(std::str::from_utf8(significant).ok()?, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard() -> Guard {
        Guard::new(64, 16)
    }

    #[test]
    fn whole_packets_pass_through() {
        let mut g = guard();
        let packet = frame("qSupported");
        assert_eq!(g.push(&packet), vec![Action::Pass(packet.clone())]);
        // Split across reads.
        let (a, b) = packet.split_at(5);
        assert!(g.push(a).is_empty());
        assert_eq!(g.push(b), vec![Action::Pass(packet)]);
    }

    #[test]
    fn register_packets_lose_lldbs_thread_suffix() {
        let mut g = guard();
        g.no_ack = true;
        assert_eq!(
            g.push(&frame("QThreadSuffixSupported")),
            vec![Action::Reply(frame("OK"))]
        );
        for (sent, passed) in [
            ("p0;thread:0001;", "p0"),
            ("P0=0102030405060708;thread:1;", "P0=0102030405060708"),
            ("g;thread:0001;", "g"),
        ] {
            assert_eq!(
                g.push(&frame(sent)),
                vec![Action::Pass(frame(passed))],
                "{sent}"
            );
        }
        assert_eq!(
            g.push(&frame("p0;thread:0002;")),
            vec![Action::Reply(frame("E.no such thread"))]
        );
        assert_eq!(
            g.push(&frame("p0;thread:zz;")),
            vec![Action::Reply(frame("E.no such thread"))]
        );
        // Other packets keep what looks like a suffix.
        let read = frame("qWasmLocal:0;thread:2;");
        assert_eq!(g.push(&read), vec![Action::Pass(read.clone())]);
    }

    #[test]
    fn acks_and_interrupts_pass_noise_is_dropped() {
        let mut g = guard();
        assert_eq!(g.push(b"+xyz\x03"), vec![Action::Pass(b"+\x03".to_vec())]);
        assert!(g.push(b"garbage\r\n").is_empty());
    }

    #[test]
    fn bad_checksum_is_nacked_or_answered() {
        let mut g = guard();
        assert_eq!(g.push(b"$g#00"), vec![Action::Reply(b"-".to_vec())]);
        g.push(&frame("QStartNoAckMode"));
        assert!(g.no_ack);
        assert_eq!(g.push(b"-+"), vec![Action::Pass(b"+".to_vec())]);
        assert_eq!(
            g.push(b"$g#zz"),
            vec![Action::Reply(frame("E.bad checksum"))]
        );
        // The body ends at the first `#`, and the checksum is exactly two hex digits.
        assert_eq!(
            g.push(b"$?##c"),
            vec![Action::Reply(frame("E.bad checksum"))]
        );
        assert_eq!(
            g.push(b"$\x05#+5"),
            vec![Action::Reply(frame("E.bad checksum"))]
        );
    }

    #[test]
    fn leading_zeros_do_not_hide_a_huge_read() {
        let mut g = guard();
        for read in [
            "x0,0000000000000000ffffffff",
            "m0,000000000000000000000011",
            "m0,11112222333344445",
        ] {
            let actions = g.push(&frame(read));
            assert!(
                matches!(&actions[..], [Action::Reply(r)] if r.ends_with(&frame("E.read too large"))),
                "{read}"
            );
        }
        assert!(matches!(
            &g.push(&frame("m0,0000000000000000000010"))[..],
            [Action::Pass(_)]
        ));
    }

    #[test]
    fn oversized_packets_and_reads_are_refused() {
        let mut g = guard();
        let mut big = b"$".to_vec();
        big.extend(std::iter::repeat_n(b'a', 200));
        big.extend(b"#00");
        let actions = g.push(&big);
        assert_eq!(actions.len(), 1);
        assert!(
            matches!(&actions[0], Action::Reply(r) if r.ends_with(&frame("E.packet too long")))
        );
        assert!(matches!(
            &g.push(&frame("m0,ffffffff"))[..],
            [Action::Reply(_)]
        ));
        assert!(matches!(&g.push(&frame("m0,10"))[..], [Action::Pass(_)]));
        // The next packet after a refusal is handled normally.
        assert!(matches!(&g.push(&frame("?"))[..], [Action::Pass(_)]));
    }

    #[test]
    fn packets_for_missing_threads_are_refused() {
        let mut g = guard();
        for packet in [
            "vCont;s:p2.2",
            "vCont;c:p1.-1;s:3",
            "vCont;c:p5.-1",
            "Hg9",
            "Hcp1.2",
            "qWasmCallStack:9",
            "qWasmCallStack:11112222333344445",
            "D;9",
        ] {
            let actions = g.push(&frame(packet));
            assert!(
                matches!(&actions[..], [Action::Reply(r)] if r.ends_with(&frame("E.no such thread"))),
                "{packet}"
            );
        }
        for packet in [
            "vCont;c:p1.-1",
            "vCont;s:p1.1",
            "vCont;c",
            "vCont;s:1;c",
            "vCont?",
            "Hg0",
            "Hc-1",
            "Hgp1.1",
            "qWasmCallStack:1",
            "qWasmCallStack:p1.01",
            "vCont;c:zz",
            "Hg-5",
            "D",
            "D;1",
        ] {
            assert!(
                matches!(&g.push(&frame(packet))[..], [Action::Pass(_)]),
                "{packet}"
            );
        }
    }

    #[test]
    fn vcont_without_actions_is_refused() {
        let mut g = guard();
        for packet in ["vContx", "vCont", "vCont:c"] {
            let actions = g.push(&frame(packet));
            assert!(
                matches!(&actions[..], [Action::Reply(r)] if r.ends_with(&frame("E.malformed vCont"))),
                "{packet}"
            );
        }
    }

    #[test]
    fn writes_must_carry_their_length_of_data() {
        let mut g = guard();
        for packet in [
            "M400,4:0102",
            "M400,1:012",
            "M400,0:00",
            "X400,4:ab",
            "X400,1:}",
            "X400,2:}]",
        ] {
            let actions = g.push(&frame_bytes(packet.as_bytes()));
            assert!(
                matches!(&actions[..], [Action::Reply(r)] if r.ends_with(&frame("E.write data does not match its length"))),
                "{packet}"
            );
        }
        for packet in [
            "M400,4:01020304",
            "M400,0:",
            "X400,2:ab",
            "X400,1:}]",
            "X0,0:",
            "Mzz,1:00",
            "M400:00",
        ] {
            assert!(
                matches!(
                    &g.push(&frame_bytes(packet.as_bytes()))[..],
                    [Action::Pass(_)]
                ),
                "{packet}"
            );
        }
    }

    #[test]
    fn read_lengths() {
        assert_eq!(read_length(b"m4000000000000000,7dd"), Some(0x7dd));
        assert_eq!(read_length(b"x0,0"), Some(0));
        assert_eq!(read_length(b"m0,11112222333344445"), Some(u64::MAX));
        assert_eq!(
            read_length(b"x0,0000000000000000ffffffff"),
            Some(0xffff_ffff)
        );
        assert_eq!(read_length(b"m0,00000000000000000000"), Some(0));
        assert_eq!(read_length(b"m0,+10"), None);
        assert_eq!(read_length(b"qSupported"), None);
    }
}
