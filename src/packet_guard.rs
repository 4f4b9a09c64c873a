//! A gate in front of gdbstub for input it would treat as fatal: gdbstub ends its state machine on
//! a bad checksum, an oversized packet or a stray byte between packets, and answers absurd read
//! lengths with replies of gigabytes. The guard only finds packet boundaries (gdbstub still
//! parses every packet it passes); what it refuses gets an error reply and the session goes on.

/// What to do with the bytes seen so far.
#[derive(Debug, PartialEq, Eq)]
pub enum Action {
    /// Hand these bytes to gdbstub.
    Pass(Vec<u8>),
    /// Send this raw reply to the client instead (already framed).
    Reply(Vec<u8>),
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

/// Frames a reply payload: `$payload#checksum`.
pub fn frame(payload: &str) -> Vec<u8> {
    frame_bytes(payload.as_bytes())
}

/// Frames a binary reply payload (already escaped).
pub fn frame_bytes(payload: &[u8]) -> Vec<u8> {
    let checksum = payload.iter().fold(0u8, |sum, b| sum.wrapping_add(*b));
    let mut out = Vec::with_capacity(payload.len() + 4);
    out.push(b'$');
    out.extend_from_slice(payload);
    out.extend_from_slice(format!("#{checksum:02x}").as_bytes());
    out
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

    fn refuse(&self, payload: &str) -> Action {
        let mut reply = Vec::new();
        if !self.no_ack {
            reply.push(b'+');
        }
        reply.extend(frame(payload));
        Action::Reply(reply)
    }

    fn judge(&mut self) -> Action {
        if self.overflowed {
            return self.refuse("E.packet too long");
        }
        let packet = std::mem::take(&mut self.packet);
        let Some(hash) = packet.iter().rposition(|&b| b == b'#') else {
            return self.refuse("E.malformed packet");
        };
        let body = &packet[1..hash];
        let checksum = std::str::from_utf8(&packet[hash + 1..])
            .ok()
            .and_then(|text| u8::from_str_radix(text, 16).ok());
        let computed = body.iter().fold(0u8, |sum, b| sum.wrapping_add(*b));
        if checksum != Some(computed) {
            // With acks, `-` asks for a retransmission; without, there is no retransmission
            // and the client gets an error for the packet it sent.
            return if self.no_ack {
                Action::Reply(frame("E.bad checksum"))
            } else {
                Action::Reply(b"-".to_vec())
            };
        }
        if let Some(len) = read_length(body) {
            if len > self.max_read {
                return self.refuse("E.read too large");
            }
        }
        if body == b"QStartNoAckMode" {
            self.no_ack = true;
        }
        Action::Pass(packet)
    }
}

/// The length of an `m addr,len` / `x addr,len` read, if `body` is one. `None` also for
/// malformed ones, which gdbstub rejects itself.
fn read_length(body: &[u8]) -> Option<u64> {
    let rest = body.strip_prefix(b"m").or_else(|| body.strip_prefix(b"x"))?;
    let comma = rest.iter().position(|&b| b == b',')?;
    let len = std::str::from_utf8(&rest[comma + 1..]).ok()?;
    if len.is_empty() || len.len() > 16 {
        return None;
    }
    u64::from_str_radix(len, 16).ok()
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
        assert_eq!(g.push(b"$g#zz"), vec![Action::Reply(frame("E.bad checksum"))]);
    }

    #[test]
    fn oversized_packets_and_reads_are_refused() {
        let mut g = guard();
        let mut big = b"$".to_vec();
        big.extend(std::iter::repeat_n(b'a', 200));
        big.extend(b"#00");
        let actions = g.push(&big);
        assert_eq!(actions.len(), 1);
        assert!(matches!(&actions[0], Action::Reply(r) if r.ends_with(&frame("E.packet too long"))));
        assert!(matches!(&g.push(&frame("m0,ffffffff"))[..], [Action::Reply(_)]));
        assert!(matches!(&g.push(&frame("m0,10"))[..], [Action::Pass(_)]));
        // The next packet after a refusal is handled normally.
        assert!(matches!(&g.push(&frame("?"))[..], [Action::Pass(_)]));
    }

    #[test]
    fn read_lengths() {
        assert_eq!(read_length(b"m4000000000000000,7dd"), Some(0x7dd));
        assert_eq!(read_length(b"x0,0"), Some(0));
        assert_eq!(read_length(b"m0,11112222333344445"), None);
        assert_eq!(read_length(b"qSupported"), None);
    }
}
