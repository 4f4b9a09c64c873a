//! A deliberately small GDB remote serial protocol client for driving the stub
//! packet by packet. It implements the framing itself (rather than reusing
//! the stub's code) so tests check the wire format independently.
//! Every read has a deadline: a silent stub yields an error, never a hang.

use std::io::{self, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

/// Default deadline for one reply.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);

pub struct Client {
    stream: TcpStream,
    /// Bytes read from the socket but not consumed yet.
    pending: Vec<u8>,
    ack_mode: bool,
    timeout: Duration,
    /// Every packet payload sent and received, for failure messages.
    log: Vec<String>,
}

impl Client {
    /// Connects, retrying for up to 5 s while the stub starts accepting.
    pub fn connect(addr: SocketAddr) -> io::Result<Self> {
        let deadline = Instant::now() + Duration::from_secs(5);
        let stream = loop {
            match TcpStream::connect_timeout(&addr, Duration::from_secs(2)) {
                Ok(stream) => break stream,
                Err(e) if Instant::now() >= deadline => return Err(e),
                Err(_) => thread::sleep(Duration::from_millis(50)),
            }
        };
        stream.set_nodelay(true)?;
        Ok(Self {
            stream,
            pending: Vec::new(),
            ack_mode: true,
            timeout: DEFAULT_TIMEOUT,
            log: Vec::new(),
        })
    }

    /// Sets the deadline used by `request`/`recv` (default 20 s).
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    pub fn ack_mode(&self) -> bool {
        self.ack_mode
    }

    /// The underlying socket (e.g. to shut it down from a test).
    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }

    /// Sends `QStartNoAckMode`, expects `OK`, and stops acking from then on.
    pub fn no_ack(&mut self) {
        let reply = self.request("QStartNoAckMode");
        assert_eq!(
            reply,
            "OK",
            "QStartNoAckMode refused\n{}",
            self.transcript()
        );
        self.ack_mode = false;
    }

    /// Sends one packet (escaping `$#}*` in `payload`), waiting for the `+`
    /// in ack mode. Panics on I/O errors; see [`Client::try_send`].
    #[track_caller]
    pub fn send(&mut self, payload: &str) {
        if let Err(e) = self.try_send(payload.as_bytes()) {
            panic!("sending {payload:?} failed: {e}\n{}", self.transcript());
        }
    }

    /// Sends one packet with arbitrary (binary) payload.
    pub fn try_send(&mut self, payload: &[u8]) -> io::Result<()> {
        self.log
            .push(format!("-> {}", String::from_utf8_lossy(payload)));
        let frame = frame(payload);
        for _attempt in 0..3 {
            self.stream.write_all(&frame)?;
            if !self.ack_mode {
                return Ok(());
            }
            match self.read_ack()? {
                b'+' => return Ok(()),
                _ => continue, // `-`: the stub asks for a retransmission
            }
        }
        Err(io::Error::new(
            ErrorKind::InvalidData,
            "packet rejected (`-`) three times",
        ))
    }

    /// A client of the stub at `addr` in no-ack mode, the program stopped at the `hits`-th hit
    /// of a breakpoint at code address `at`, which is then removed. Panics if a stop is not
    /// that breakpoint.
    pub fn stopped_at(addr: SocketAddr, at: u64, hits: u32) -> Client {
        let mut client = Client::connect(addr).expect("connect to the stub");
        client.set_timeout(Duration::from_secs(60));
        client.no_ack();
        assert!(client.request("?").starts_with('T'));
        assert_eq!(client.request(&format!("Z0,{at:x},1")), "OK");
        for _ in 0..hits {
            let reply = client.request("vCont;c:p1.-1");
            assert!(
                reply.contains("swbreak"),
                "expected the breakpoint at {at:#x}: {reply}"
            );
        }
        assert_eq!(client.request(&format!("z0,{at:x},1")), "OK");
        client
    }

    /// Sends `payload` and returns the decoded reply. Panics (with the packet
    /// log) on error or timeout.
    #[track_caller]
    pub fn request(&mut self, payload: &str) -> String {
        match self.try_request(payload) {
            Ok(reply) => reply,
            Err(e) => panic!("request {payload:?} failed: {e}\n{}", self.transcript()),
        }
    }

    pub fn try_request(&mut self, payload: &str) -> io::Result<String> {
        self.try_send(payload.as_bytes())?;
        let timeout = self.timeout;
        self.recv_reply(timeout)
    }

    /// Like [`Client::request`] but keeps binary replies intact (e.g. `x`).
    #[track_caller]
    pub fn request_bytes(&mut self, payload: &str) -> Vec<u8> {
        let result = self.try_send(payload.as_bytes()).and_then(|()| {
            let timeout = self.timeout;
            self.recv_packet(timeout)
        });
        match result {
            Ok(reply) => reply,
            Err(e) => panic!("request {payload:?} failed: {e}\n{}", self.transcript()),
        }
    }

    /// Receives the next packet as text (lossy for non-UTF-8 bytes).
    pub fn recv_reply(&mut self, timeout: Duration) -> io::Result<String> {
        self.recv_packet(timeout)
            .map(|p| String::from_utf8_lossy(&p).into_owned())
    }

    /// Receives the next packet: skips stray acks, checks the checksum (a bad
    /// one is an error, after sending `-` in ack mode), acks it in ack mode,
    /// and undoes `}` escapes and `*` run-length encoding.
    pub fn recv_packet(&mut self, timeout: Duration) -> io::Result<Vec<u8>> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.read_byte(deadline)? {
                b'$' => break,
                b'+' | b'-' => continue,
                other => {
                    return Err(io::Error::new(
                        ErrorKind::InvalidData,
                        format!("unexpected byte {other:#04x} before a packet"),
                    ));
                }
            }
        }
        let mut raw = Vec::new();
        loop {
            match self.read_byte(deadline)? {
                b'#' => break,
                byte => raw.push(byte),
            }
        }
        let hi = self.read_byte(deadline)?;
        let lo = self.read_byte(deadline)?;
        let expected = std::str::from_utf8(&[hi, lo])
            .ok()
            .and_then(|s| u8::from_str_radix(s, 16).ok())
            .ok_or_else(|| io::Error::new(ErrorKind::InvalidData, "non-hex checksum"))?;
        let actual = checksum(&raw);
        if actual != expected {
            if self.ack_mode {
                self.stream.write_all(b"-")?;
            }
            return Err(io::Error::new(
                ErrorKind::InvalidData,
                format!(
                    "checksum mismatch: got {expected:02x}, computed {actual:02x} for {:?}",
                    String::from_utf8_lossy(&raw)
                ),
            ));
        }
        if self.ack_mode {
            self.stream.write_all(b"+")?;
        }
        let payload = decode(&raw)?;
        self.log
            .push(format!("<- {}", String::from_utf8_lossy(&payload)));
        Ok(payload)
    }

    /// Writes bytes as they are, for malformed-input tests.
    pub fn send_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.log
            .push(format!("-> raw {:?}", String::from_utf8_lossy(bytes)));
        self.stream.write_all(bytes)
    }

    /// Reads whatever arrives until `timeout` passes or the peer closes,
    /// returning it unparsed (including acks).
    pub fn recv_raw(&mut self, timeout: Duration) -> io::Result<Vec<u8>> {
        let deadline = Instant::now() + timeout;
        let mut out = std::mem::take(&mut self.pending);
        loop {
            match self.fill(deadline) {
                Ok(0) => break,
                Ok(_) => out.append(&mut self.pending),
                Err(e) if e.kind() == ErrorKind::TimedOut => break,
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// Sends the out-of-band interrupt byte (0x03).
    pub fn interrupt(&mut self) -> io::Result<()> {
        self.log.push("-> ^C".to_string());
        self.stream.write_all(&[0x03])
    }

    /// Whether the stub closed the connection within `timeout` (any data it
    /// sends before closing is discarded).
    pub fn wait_closed(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            self.pending.clear();
            match self.fill(deadline) {
                Ok(0) => return true,
                Ok(_) => continue,
                Err(e) if e.kind() == ErrorKind::TimedOut => return false,
                Err(_) => return true, // reset counts as closed
            }
        }
    }

    /// The packet log so far.
    pub fn transcript(&self) -> String {
        format!("--- RSP packets\n{}", self.log.join("\n"))
    }

    fn read_ack(&mut self) -> io::Result<u8> {
        let deadline = Instant::now() + self.timeout;
        match self.read_byte(deadline)? {
            b @ (b'+' | b'-') => Ok(b),
            other => Err(io::Error::new(
                ErrorKind::InvalidData,
                format!("expected ack, got byte {other:#04x}"),
            )),
        }
    }

    fn read_byte(&mut self, deadline: Instant) -> io::Result<u8> {
        if self.pending.is_empty() && self.fill(deadline)? == 0 {
            return Err(io::Error::new(
                ErrorKind::UnexpectedEof,
                "stub closed the connection",
            ));
        }
        Ok(self.pending.remove(0))
    }

    /// Reads one chunk into `pending`; `Ok(0)` means end of stream.
    fn fill(&mut self, deadline: Instant) -> io::Result<usize> {
        let now = Instant::now();
        if now >= deadline {
            return Err(io::Error::new(
                ErrorKind::TimedOut,
                "timed out waiting for the stub",
            ));
        }
        // A zero read timeout means "block forever", so clamp to 1 ms.
        self.stream
            .set_read_timeout(Some((deadline - now).max(Duration::from_millis(1))))?;
        let mut buf = [0u8; 4096];
        match self.stream.read(&mut buf) {
            Ok(n) => {
                self.pending.extend_from_slice(&buf[..n]);
                Ok(n)
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => Err(
                io::Error::new(ErrorKind::TimedOut, "timed out waiting for the stub"),
            ),
            Err(e) if e.kind() == ErrorKind::Interrupted => Ok(self.fill(deadline)?),
            Err(e) => Err(e),
        }
    }
}

/// The modulo-256 sum of `bytes`.
/// The code address of `offset` in module 0, spelled as LLDB's Wasm plugin spells it (object
/// space, tag 0x4 in the top bits), written out here rather than taken from the stub.
pub fn code_addr(offset: u32) -> u64 {
    0x4000_0000_0000_0000 | u64::from(offset)
}

pub fn checksum(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0u8, |acc, b| acc.wrapping_add(*b))
}

/// `$<escaped payload>#<checksum>`.
pub fn frame(payload: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(payload.len());
    for &b in payload {
        if matches!(b, b'$' | b'#' | b'}' | b'*') {
            body.push(b'}');
            body.push(b ^ 0x20);
        } else {
            body.push(b);
        }
    }
    let mut out = Vec::with_capacity(body.len() + 4);
    out.push(b'$');
    out.extend_from_slice(&body);
    out.push(b'#');
    out.extend_from_slice(format!("{:02x}", checksum(&body)).as_bytes());
    out
}

/// Undoes `}` escapes and expands `X*N` runs (N - 29 more copies of X), in
/// one pass the way LLDB does, so a run may repeat an escaped byte.
pub fn decode(raw: &[u8]) -> io::Result<Vec<u8>> {
    let bad = |msg: &str| io::Error::new(ErrorKind::InvalidData, msg.to_string());
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'}' => {
                let next = *raw
                    .get(i + 1)
                    .ok_or_else(|| bad("packet ends inside an escape"))?;
                out.push(next ^ 0x20);
                i += 2;
            }
            b'*' => {
                let count = *raw
                    .get(i + 1)
                    .ok_or_else(|| bad("packet ends inside a run"))?;
                let last = *out
                    .last()
                    .ok_or_else(|| bad("run-length marker with nothing to repeat"))?;
                let repeats = count
                    .checked_sub(29)
                    .ok_or_else(|| bad("run-length count too small"))?;
                out.extend(std::iter::repeat_n(last, repeats as usize));
                i += 2;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    Ok(out)
}

/// Lower-case hex of `bytes` (memory and register payloads).
pub fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Parses hex text into bytes; `None` if it is not even-length hex.
pub fn hex_decode(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Splits `key:value;key:value;` replies (qHostInfo, qProcessInfo, the tail
/// of `T` stop replies) into pairs; entries without `:` get an empty value.
pub fn parse_pairs(text: &str) -> Vec<(String, String)> {
    text.split(';')
        .filter(|s| !s.is_empty())
        .map(|entry| match entry.split_once(':') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (entry.to_string(), String::new()),
        })
        .collect()
}

/// A parsed `S`/`T`/`W`/`X` stop reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StopReply {
    /// `S`, `T`, `W` (exited) or `X` (terminated by signal).
    pub kind: char,
    /// Signal number (`S`/`T`/`X`) or exit status (`W`).
    pub code: u8,
    /// `key:value` pairs of a `T` reply, in order.
    pub pairs: Vec<(String, String)>,
}

impl StopReply {
    pub fn parse(reply: &str) -> Option<Self> {
        let kind = reply.chars().next()?;
        if !matches!(kind, 'S' | 'T' | 'W' | 'X') {
            return None;
        }
        let code = u8::from_str_radix(reply.get(1..3)?, 16).ok()?;
        let rest = reply.get(3..).unwrap_or("");
        let pairs = if kind == 'T' {
            parse_pairs(rest)
        } else {
            Vec::new()
        };
        Some(Self { kind, code, pairs })
    }

    /// The first value for `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}
