//! Fuzz target: the packet guard (`src/packet_guard.rs`) fed an arbitrary byte stream in
//! arbitrary chunkings, the way socket reads split what a client sends.
//!
//! Beyond "never panics", it checks what the session relies on: the guard's decisions do not
//! depend on how reads split the stream, every packet it passes is whole, fits the buffer and has
//! a correct checksum, and no memory read it passes asks for more than the limit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wasm_gdbstub::packet_guard::{Action, Guard};

/// What the guard decided, with adjacent passed bytes merged: passes are concatenated by the
/// session into one stream for gdbstub, so only their order relative to replies matters.
#[derive(Debug, PartialEq, Eq)]
enum Event {
    Pass(Vec<u8>),
    Reply(Vec<u8>),
}

fn record(events: &mut Vec<Event>, actions: Vec<Action>) {
    for action in actions {
        match action {
            // An answered packet is still a whole packet the guard let through.
            Action::Pass(bytes) | Action::Answer(_, bytes) => match events.last_mut() {
                Some(Event::Pass(prev)) => prev.extend(bytes),
                _ => events.push(Event::Pass(bytes)),
            },
            Action::Reply(bytes) => events.push(Event::Reply(bytes)),
        }
    }
}

fn check_pass(bytes: &[u8], max_packet: usize, max_read: u64) {
    // A passed run is acks/interrupts and whole packets: `$…#xx` with a valid checksum.
    let mut rest = bytes;
    while let Some((&first, tail)) = rest.split_first() {
        if first != b'$' {
            assert!(matches!(first, b'+' | b'-' | 0x03), "stray byte {first:#x} passed");
            rest = tail;
            continue;
        }
        // Inside a body `#` ends it; the checksum is the next two bytes, whatever they are.
        let hash = rest.iter().position(|&b| b == b'#').expect("passed packet without #");
        let packet = &rest[..hash + 3.min(rest.len() - hash)];
        assert_eq!(packet.len(), hash + 3, "passed packet without checksum");
        assert!(packet.len() <= max_packet, "passed packet longer than the buffer");
        let body = &packet[1..hash];
        let sum = body.iter().fold(0u8, |s, b| s.wrapping_add(*b));
        // Judged the way gdbstub will: two hex digits (no sign) after the first `#`.
        let digits = &packet[hash + 1..];
        assert!(digits.iter().all(u8::is_ascii_hexdigit), "non-hex checksum passed");
        let text = std::str::from_utf8(digits).expect("hex is ascii");
        assert_eq!(u8::from_str_radix(text, 16).ok(), Some(sum), "bad checksum passed");
        if let Some(len) = read_len(body) {
            assert!(len <= max_read, "read of {len:#x} passed");
        }
        rest = &rest[packet.len()..];
    }
}

/// Length of an `m`/`x` read, with arbitrarily many leading zeros; `u64::MAX` if it overflows.
fn read_len(body: &[u8]) -> Option<u64> {
    let rest = body.strip_prefix(b"m").or_else(|| body.strip_prefix(b"x"))?;
    let comma = rest.iter().position(|&b| b == b',')?;
    let digits = &rest[comma + 1..];
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let mut value: u64 = 0;
    for &d in digits {
        let v = (d as char).to_digit(16)? as u64;
        value = match value.checked_mul(16).and_then(|x| x.checked_add(v)) {
            Some(x) => x,
            None => return Some(u64::MAX),
        };
    }
    Some(value)
}

fuzz_target!(|data: &[u8]| {
    // Header: limits and chunk sizes; the rest is the stream.
    let [a, b, c, rest @ ..] = data else { return };
    let max_packet = 4 + usize::from(*a % 64);
    let max_read = u64::from(*b);
    let (sizes, stream) = rest.split_at(usize::from(*c).min(rest.len()));

    let mut whole = Guard::new(max_packet, max_read);
    let mut expected = Vec::new();
    record(&mut expected, whole.push(stream));

    let mut chunked = Guard::new(max_packet, max_read);
    let mut got = Vec::new();
    let mut at = 0;
    let mut size_iter = sizes.iter().cycle();
    while at < stream.len() {
        let n = size_iter.next().map_or(stream.len(), |&s| usize::from(s) % 17 + 1);
        let end = (at + n).min(stream.len());
        record(&mut got, chunked.push(&stream[at..end]));
        at = end;
    }
    assert_eq!(expected, got, "chunking changed the guard's decisions");
    assert_eq!(whole.no_ack, chunked.no_ack);
    for event in &expected {
        if let Event::Pass(bytes) = event {
            check_pass(bytes, max_packet, max_read);
        }
    }
});
