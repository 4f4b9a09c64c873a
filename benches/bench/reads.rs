//! Module image read throughput over raw RSP: module 0 of the 16 MB `bench/large-app`, read
//! whole from the stub with binary `x` of LLDB 22's size and with hex `m` sized by the stub's
//! `PacketSize` (and of LLDB's `m` size), each against a loopback RSP server in this process that
//! serves the same bytes pre-encoded, i.e. the ceiling of this client and the loopback socket.
//!
//! Also owns what the `attach` section shares with it: where module 0's image sits in LLDB's
//! address space, LLDB's binary read size, binary escaping and starting a stub on the large module.

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::common::Debuggee;
use crate::common::rsp::{checksum, decode, frame, hex_decode};
use crate::measure::{self, BenchError, CODE_BASE, Row, median, progress};
use crate::{Context, Report, fail};

/// LLDB 22's binary read size: its 128 KiB cap less 70 bytes of packet overhead.
pub const LLDB_X_READ: usize = 0x1FFBA;
/// The `m` size LLDB 22 chose in packet logs, when it reads with `m`.
const LLDB_M_READ: usize = 0xFFDD;
/// Compiling the 16 MB module can take minutes on a loaded two-core machine; the tests' default
/// wait for the `listening on` line is for small fixtures.
const LARGE_STARTUP: Duration = Duration::from_secs(180);
/// No reply of this section takes long; a silent peer is a failure, not a hang.
const REPLY_TIMEOUT: Duration = Duration::from_secs(60);

/// The stub on the large module, with `stub_args` after its listen address.
pub fn large_stub(wasm: &Path, stub_args: &[&str]) -> Debuggee {
    Debuggee::builder(wasm)
        .stub_args(stub_args)
        .startup_timeout(LARGE_STARTUP)
        .spawn()
}

/// Escapes the bytes RSP reserves (`}` `#` `$` `*`) in a binary reply body.
pub fn escape_binary(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 32);
    for &b in data {
        if matches!(b, b'}' | b'#' | b'$' | b'*') {
            out.extend([b'}', b ^ 0x20]);
        } else {
            out.push(b);
        }
    }
    out
}

/// `$body#xx` for a body that is already escaped.
pub fn framed(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 4);
    out.push(b'$');
    out.extend_from_slice(body);
    out.extend(format!("#{:02x}", checksum(body)).into_bytes());
    out
}

fn io_error(what: &str) -> impl Fn(std::io::Error) -> BenchError + '_ {
    move |e| BenchError(format!("{what}: {e}"))
}

pub fn measure(cx: &Context) -> measure::Result<Report> {
    let passes = cx.args.passes;
    progress(&format!(
        "raw RSP module image reads: {passes} passes per figure, from the stub and a loopback server"
    ));
    let wasm = &cx.programs.large;
    let file = std::fs::read(wasm).map_err(io_error("read the large module"))?;

    let stub = large_stub(wasm, &[]);
    let mut wire = Wire::connect(stub.addr())?;
    wire.no_ack()?;
    let supported = wire.request(b"qSupported:swbreak+")?;
    let psize = packet_size(&supported)?;
    let stop = wire.request(b"?")?;
    if !stop.starts_with(b"T") {
        fail!(
            "expected an initial stop reply, got {:?}",
            String::from_utf8_lossy(&stop)
        );
    }
    let length = image_length(&mut wire)?;
    if length != file.len() {
        fail!(
            "the memory map gives module 0 {length} bytes, the file on disk has {}",
            file.len()
        );
    }
    // Two hex digits per byte plus framing must fit the advertised packet size.
    let m_chunk = (psize - 16) / 2;
    let mut stub_rates = Vec::new();
    let mut reply_per_byte = 0.0;
    for (kind, chunk) in [
        (Kind::Hex, m_chunk),
        (Kind::Hex, LLDB_M_READ),
        (Kind::Binary, LLDB_X_READ),
    ] {
        let mut rates = Vec::new();
        for _ in 0..passes {
            let read = read_image(&mut wire, length, chunk, kind)?;
            if read.image != file {
                fail!(
                    "module 0's image read with `{}` of {chunk:#x} differs from the file on disk",
                    kind.letter()
                );
            }
            rates.push(read.rate(length));
            if (kind, chunk) == (Kind::Hex, m_chunk) {
                reply_per_byte = read.wire_bytes as f64 / length as f64;
            }
        }
        stub_rates.push(median(&rates));
    }
    let _ = wire.send(b"k");
    drop(stub);

    let server = Loopback::start(Arc::new(file))?;
    let mut wire = Wire::connect(server.addr)?;
    wire.no_ack()?;
    let mut ceilings = Vec::new();
    for (kind, chunk) in [(Kind::Hex, m_chunk), (Kind::Binary, LLDB_X_READ)] {
        let mut rates = Vec::new();
        // The first pass has the server encode its replies and is not counted.
        for pass in 0..=passes {
            let read = read_image(&mut wire, length, chunk, kind)?;
            if pass > 0 {
                rates.push(read.rate(length));
            }
        }
        ceilings.push(median(&rates));
    }
    wire.send(b"k")?;
    server.finish()?;

    let [m_rate, lldb_m_rate, x_rate] = stub_rates[..] else {
        unreachable!("three stub figures")
    };
    let [m_ceiling, x_ceiling] = ceilings[..] else {
        unreachable!("two ceilings")
    };
    let mb_s = |rate: f64| format!("{rate:.1} MB/s");
    let loopback = "(same client, loopback server with pre-encoded replies)";
    let mut report = Report::default();
    report.rows.push(
        Row::new(
            "Module image read over raw RSP, binary `x` of LLDB's size",
            mb_s(x_rate),
        )
        .against(
            format!("{} {loopback}", mb_s(x_ceiling)),
            measure::ratio(x_rate, x_ceiling),
        ),
    );
    report.rows.push(
        Row::new("same, hex `m` sized by `PacketSize`", mb_s(m_rate)).against(
            format!("{} {loopback}", mb_s(m_ceiling)),
            measure::ratio(m_rate, m_ceiling),
        ),
    );
    report.notes.push(format!(
        "Module image reads ({:.1} MB, medians of {passes} passes, timed from each request to its whole \
         reply): `x` of {LLDB_X_READ:#x} bytes; `PacketSize` {psize:#x}, so `m` of {m_chunk:#x} bytes, \
         {reply_per_byte:.2} reply bytes per image byte (the stub run-length encodes hex); `m` of \
         {LLDB_M_READ:#x} bytes (LLDB 22's `m` size) {}, {} the `PacketSize`-sized `m`.",
        length as f64 / 1e6,
        mb_s(lldb_m_rate),
        measure::ratio(lldb_m_rate, m_rate),
    ));
    Ok(report)
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// `m`: hex.
    Hex,
    /// `x`: binary, escaped.
    Binary,
}

impl Kind {
    fn letter(self) -> char {
        match self {
            Kind::Hex => 'm',
            Kind::Binary => 'x',
        }
    }
}

/// A raw RSP client that hands back reply bodies still escaped and run-length encoded, so the
/// timed window holds the peer's work and the wire's, not this client's decoding. The tests'
/// `rsp::Client` reads a byte at a time, which would make it the bottleneck of a 16 MB read.
struct Wire {
    stream: TcpStream,
    buf: Vec<u8>,
    ack: bool,
    chunk: Vec<u8>,
}

impl Wire {
    fn connect(addr: SocketAddr) -> measure::Result<Self> {
        let stream = TcpStream::connect(addr).map_err(io_error("connect"))?;
        stream.set_nodelay(true).map_err(io_error("TCP_NODELAY"))?;
        stream
            .set_read_timeout(Some(REPLY_TIMEOUT))
            .map_err(io_error("read timeout"))?;
        Ok(Wire {
            stream,
            buf: Vec::new(),
            ack: true,
            chunk: vec![0; 1 << 20],
        })
    }

    fn send(&mut self, payload: &[u8]) -> measure::Result<()> {
        self.stream
            .write_all(&frame(payload))
            .map_err(io_error("send"))?;
        if self.ack {
            let ack = self.recv_byte()?;
            if ack != b'+' {
                fail!(
                    "expected `+` after {:?}, got {:?}",
                    String::from_utf8_lossy(payload),
                    ack as char
                );
            }
        }
        Ok(())
    }

    fn fill(&mut self) -> measure::Result<()> {
        match self.stream.read(&mut self.chunk) {
            Ok(0) => fail!("the peer closed the connection"),
            Ok(n) => {
                self.buf.extend_from_slice(&self.chunk[..n]);
                Ok(())
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                fail!("no reply within {REPLY_TIMEOUT:?}")
            }
            Err(e) => fail!("receive: {e}"),
        }
    }

    fn recv_byte(&mut self) -> measure::Result<u8> {
        if self.buf.is_empty() {
            self.fill()?;
        }
        Ok(self.buf.remove(0))
    }

    /// The next packet's body as sent, its checksum checked.
    fn recv_raw(&mut self) -> measure::Result<Vec<u8>> {
        let start = loop {
            if let Some(start) = self.buf.iter().position(|&b| b == b'$') {
                break start;
            }
            self.buf.clear();
            self.fill()?;
        };
        // Searching on from where the last search stopped keeps a reply that arrives in many
        // reads from being scanned once per read.
        let mut scanned = start + 1;
        let end = loop {
            match self.buf[scanned..].iter().position(|&b| b == b'#') {
                Some(i) if self.buf.len() >= scanned + i + 3 => break scanned + i,
                Some(i) => scanned += i,
                None => scanned = self.buf.len(),
            }
            self.fill()?;
        };
        let body = self.buf[start + 1..end].to_vec();
        let sum = std::str::from_utf8(&self.buf[end + 1..end + 3])
            .ok()
            .and_then(|s| u8::from_str_radix(s, 16).ok());
        self.buf.drain(..end + 3);
        if self.ack {
            self.stream.write_all(b"+").map_err(io_error("ack"))?;
        }
        if sum != Some(checksum(&body)) {
            fail!("bad checksum on a {}-byte reply", body.len());
        }
        Ok(body)
    }

    fn request(&mut self, payload: &[u8]) -> measure::Result<Vec<u8>> {
        self.send(payload)?;
        let raw = self.recv_raw()?;
        decode(&raw).map_err(io_error("decode a reply"))
    }

    fn no_ack(&mut self) -> measure::Result<()> {
        let reply = self.request(b"QStartNoAckMode")?;
        if reply != b"OK" {
            fail!(
                "QStartNoAckMode refused: {:?}",
                String::from_utf8_lossy(&reply)
            );
        }
        self.ack = false;
        Ok(())
    }
}

fn packet_size(supported: &[u8]) -> measure::Result<usize> {
    let text = String::from_utf8_lossy(supported);
    let size = text
        .split(';')
        .find_map(|feature| feature.strip_prefix("PacketSize="))
        .and_then(|hex| usize::from_str_radix(hex, 16).ok());
    match size {
        Some(size) if size > 16 => Ok(size),
        _ => fail!(
            "qSupported reply has no usable PacketSize: {}",
            measure::tail(&text)
        ),
    }
}

/// Module 0's length, from the `rom` region at [`CODE_BASE`] in the stub's memory map.
fn image_length(wire: &mut Wire) -> measure::Result<usize> {
    let mut map = Vec::new();
    loop {
        let part =
            wire.request(format!("qXfer:memory-map:read::{:x},8000", map.len()).as_bytes())?;
        let Some((&more, data)) = part.split_first() else {
            fail!("empty memory map reply")
        };
        map.extend_from_slice(data);
        match more {
            b'm' => continue,
            b'l' => break,
            _ => fail!(
                "memory map read failed: {:?}",
                String::from_utf8_lossy(&part)
            ),
        }
    }
    let map = String::from_utf8_lossy(&map);
    let region = format!("type=\"rom\" start=\"{CODE_BASE:#x}\" length=\"0x");
    let length = map.find(&region).and_then(|at| {
        let hex = &map[at + region.len()..];
        usize::from_str_radix(&hex[..hex.find('"')?], 16).ok()
    });
    match length {
        Some(length) => Ok(length),
        None => fail!(
            "module 0 has no rom region in the memory map: {}",
            &map[..map.len().min(400)]
        ),
    }
}

struct ImageRead {
    image: Vec<u8>,
    /// Seconds between sending each request and holding its whole reply, summed.
    seconds: f64,
    /// Reply bytes as sent (after escaping and run-length encoding).
    wire_bytes: usize,
}

impl ImageRead {
    fn rate(&self, length: usize) -> f64 {
        length as f64 / self.seconds / 1e6
    }
}

/// Reads module 0's whole image with `m` or `x` requests of up to `chunk` bytes.
fn read_image(
    wire: &mut Wire,
    length: usize,
    chunk: usize,
    kind: Kind,
) -> measure::Result<ImageRead> {
    let mut read = ImageRead {
        image: Vec::with_capacity(length),
        seconds: 0.0,
        wire_bytes: 0,
    };
    while read.image.len() < length {
        let n = chunk.min(length - read.image.len());
        let request = format!(
            "{}{:x},{n:x}",
            kind.letter(),
            CODE_BASE + read.image.len() as u64
        );
        let started = Instant::now();
        wire.send(request.as_bytes())?;
        let raw = wire.recv_raw()?;
        read.seconds += started.elapsed().as_secs_f64();
        read.wire_bytes += raw.len();
        let reply = decode(&raw).map_err(io_error("decode a reply"))?;
        if reply.is_empty() || (reply.len() == 3 && reply[0] == b'E') {
            fail!("{request} failed: {:?}", String::from_utf8_lossy(&reply));
        }
        let bytes = match kind {
            Kind::Binary => reply,
            Kind::Hex => match std::str::from_utf8(&reply).ok().and_then(hex_decode) {
                Some(bytes) => bytes,
                None => fail!("{request}: the reply is not hex"),
            },
        };
        if bytes.len() != n {
            fail!("{request} returned {} bytes", bytes.len());
        }
        read.image.extend_from_slice(&bytes);
    }
    Ok(read)
}

/// An RSP server on a loopback socket that answers `m` and `x` reads of an image at
/// [`CODE_BASE`] with replies encoded at their first request and sent as they are afterwards:
/// what the client and the socket cost with no debugger behind them.
struct Loopback {
    addr: SocketAddr,
    thread: JoinHandle<std::io::Result<()>>,
}

impl Loopback {
    fn start(image: Arc<Vec<u8>>) -> measure::Result<Self> {
        let listener =
            TcpListener::bind("127.0.0.1:0").map_err(io_error("bind the loopback server"))?;
        let addr = listener
            .local_addr()
            .map_err(io_error("loopback address"))?;
        let thread = thread::spawn(move || serve_loopback(&listener, &image));
        Ok(Loopback { addr, thread })
    }

    /// Waits for the server to see `k` and reports how it ended.
    fn finish(self) -> measure::Result<()> {
        match self.thread.join() {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => fail!("loopback server: {e}"),
            Err(_) => fail!("loopback server panicked"),
        }
    }
}

fn serve_loopback(listener: &TcpListener, image: &[u8]) -> std::io::Result<()> {
    let (mut conn, _) = listener.accept()?;
    conn.set_nodelay(true)?;
    let mut buf = Vec::new();
    let mut chunk = vec![0; 1 << 16];
    let mut ack = true;
    let mut replies: HashMap<Vec<u8>, Vec<u8>> = HashMap::new();
    loop {
        let Some(end) = buf
            .iter()
            .position(|&b| b == b'#')
            .filter(|&end| buf.len() >= end + 3)
        else {
            let n = conn.read(&mut chunk)?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
            continue;
        };
        let start = buf[..end]
            .iter()
            .position(|&b| b == b'$')
            .map_or(0, |s| s + 1);
        let payload = buf[start..end].to_vec();
        buf.drain(..end + 3);
        if ack {
            conn.write_all(b"+")?;
        }
        match payload.first() {
            Some(b'm' | b'x') => {
                let reply = replies
                    .entry(payload)
                    .or_insert_with_key(|payload| image_reply(image, payload));
                conn.write_all(reply)?;
            }
            Some(b'k') => return Ok(()),
            _ if payload == b"QStartNoAckMode" => {
                conn.write_all(&framed(b"OK"))?;
                ack = false;
            }
            _ => conn.write_all(&framed(b""))?,
        }
    }
}

/// The framed reply to an `m` or `x` request for the image at [`CODE_BASE`].
fn image_reply(image: &[u8], payload: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(&payload[1..]);
    let range = text.split_once(',').and_then(|(addr, len)| {
        let offset =
            usize::try_from(u64::from_str_radix(addr, 16).ok()?.checked_sub(CODE_BASE)?).ok()?;
        let len = usize::from_str_radix(len, 16).ok()?;
        (offset < image.len()).then(|| offset..image.len().min(offset.saturating_add(len)))
    });
    let Some(range) = range else {
        return framed(b"E01");
    };
    let data = &image[range];
    if payload[0] == b'm' {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let hex: Vec<u8> = data
            .iter()
            .flat_map(|&b| [DIGITS[usize::from(b >> 4)], DIGITS[usize::from(b & 15)]])
            .collect();
        framed(&hex)
    } else {
        framed(&escape_binary(data))
    }
}
