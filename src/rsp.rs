//! RSP framing, the one place packets are built: `$payload#checksum` for text replies, escaped
//! binary replies (`x` memory reads), edits to the stop reply gdbstub wrote (fields it cannot
//! produce), error replies that carry their reason, console output, and the reply buffer gdbstub
//! and the session write into.
//!
//! Two error forms: `E.<text>` (GDB's) for input the stub cannot take as a packet at all, and
//! `E<nn>;<hex text>` for a refused request. LLDB takes only the second for an error: its
//! `StringExtractorGDBRemote` treats `E.` as an ordinary reply, which for `Z0` fails its reply
//! validator, while `Enn;hex` is an error whose status carries the decoded text.

use std::cell::RefCell;
use std::rc::Rc;

/// The RSP checksum: the sum of the payload bytes, modulo 256.
pub fn checksum(payload: &[u8]) -> u8 {
    payload.iter().fold(0u8, |sum, b| sum.wrapping_add(*b))
}

/// Frames a payload that needs no escaping: `$payload#checksum`.
pub fn frame(payload: &str) -> Vec<u8> {
    frame_bytes(payload.as_bytes())
}

/// Frames payload bytes as they are (binary data must be escaped first, see
/// [`push_framed_binary`]).
pub fn frame_bytes(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 4);
    out.push(b'$');
    out.extend_from_slice(payload);
    out.extend_from_slice(format!("#{:02x}", checksum(payload)).as_bytes());
    out
}

/// An error reply that says why: `E.<text>`. RSP framing characters in the text are replaced,
/// so any text can be sent.
pub fn error_reply(text: &str) -> Vec<u8> {
    let clean: String = text
        .chars()
        .map(|c| {
            if matches!(c, '$' | '#' | '}' | '*') || c.is_control() {
                ' '
            } else {
                c
            }
        })
        .collect();
    frame(&format!("E.{clean}"))
}

/// An `O` packet: console output LLDB prints while the program runs.
pub fn console_output(text: &str) -> Vec<u8> {
    frame(&format!("O{}", hex_text(text)))
}

/// A refused request's reply: `E<code>;<hex of why>`.
pub fn refusal_reply(code: &str, why: &str) -> Vec<u8> {
    frame(&format!("E{code};{}", hex_text(why)))
}

/// If the last packet in `wire` is a numbered error reply (`$Enn#xx`, what gdbstub writes for a
/// refused request), the same bytes with that reply given its reason (`Enn;<hex why>`).
pub fn replace_error(wire: &[u8], why: &str) -> Option<Vec<u8>> {
    let start = wire.iter().rposition(|&b| b == b'$')?;
    let rest = &wire[start..];
    let is_numbered_error = rest.len() == 7
        && rest[1] == b'E'
        && rest[2].is_ascii_hexdigit()
        && rest[3].is_ascii_hexdigit()
        && rest[4] == b'#';
    if !is_numbered_error {
        return None;
    }
    let code = std::str::from_utf8(&rest[2..4]).ok()?;
    let mut out = wire[..start].to_vec();
    out.extend(refusal_reply(code, why));
    Some(out)
}

// ---- binary replies
//
// A connect makes LLDB read every module image (16 MB for a Rust debug build) through `x`, so
// escaping works a machine word at a time: most bytecode has long runs with nothing to escape,
// and those runs are copied and summed whole.

/// Bytes RSP binary data must escape: each becomes `}` followed by the byte xor 0x20.
const ESCAPED: [u8; 4] = [b'#', b'$', b'}', b'*'];
const ESCAPE: u8 = b'}';
const WORD: usize = 8;
const LOW_BITS: u64 = 0x0101_0101_0101_0101;
const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// Appends `$<escaped data>#<checksum>` to `out`.
pub fn push_framed_binary(out: &mut Vec<u8>, data: &[u8]) {
    // Escaping grows the payload by at most 2x; reserving the typical growth up front keeps the
    // common case to one allocation without doubling memory for a 128 KiB read.
    out.reserve(data.len() + data.len() / 16 + 4);
    out.push(b'$');
    let mut checksum = 0u8;
    let mut rest = data;
    while !rest.is_empty() {
        let clean = clean_prefix_len(rest);
        let (run, tail) = rest.split_at(clean);
        out.extend_from_slice(run);
        checksum = checksum.wrapping_add(byte_sum(run));
        let Some((&special, tail)) = tail.split_first() else {
            break;
        };
        let escaped = special ^ 0x20;
        out.extend_from_slice(&[ESCAPE, escaped]);
        checksum = checksum.wrapping_add(ESCAPE).wrapping_add(escaped);
        rest = tail;
    }
    out.push(b'#');
    out.extend_from_slice(&hex_byte(checksum));
}

/// How many leading bytes of `data` need no escaping.
fn clean_prefix_len(data: &[u8]) -> usize {
    let mut words = data.chunks_exact(WORD);
    let mut offset = 0;
    for chunk in &mut words {
        let word = u64::from_le_bytes(chunk.try_into().expect("chunks_exact yields whole words"));
        if has_escaped_byte(word) {
            break;
        }
        offset += WORD;
    }
    offset
        + data[offset..]
            .iter()
            .position(|b| ESCAPED.contains(b))
            .unwrap_or(data.len() - offset)
}

/// Whether any byte of `word` is one of [`ESCAPED`] (the classic "has a zero byte" test applied
/// to the word xor each escaped byte repeated; it has no false negatives, and a false positive
/// only sends the scan to the exact byte-wise check).
fn has_escaped_byte(word: u64) -> bool {
    ESCAPED.iter().any(|&b| {
        let x = word ^ (LOW_BITS * u64::from(b));
        x.wrapping_sub(LOW_BITS) & !x & HIGH_BITS != 0
    })
}

/// The sum of `data` modulo 256, eight bytes at a time: each 16-bit lane of the accumulators
/// collects one byte position, and is folded before it can overflow.
fn byte_sum(data: &[u8]) -> u8 {
    const EVEN_BYTES: u64 = 0x00FF_00FF_00FF_00FF;
    // 128 words add at most 128 * 2 * 255 = 65,280 per lane, below 65,536.
    const WORDS_PER_FOLD: usize = 128;
    let mut total = 0u64;
    let mut chunks = data.chunks_exact(WORD * WORDS_PER_FOLD);
    let fold = |block: &[u8]| {
        let mut lanes = 0u64;
        for word in block.chunks_exact(WORD) {
            let word = u64::from_le_bytes(word.try_into().expect("whole words"));
            lanes += (word & EVEN_BYTES) + ((word >> 8) & EVEN_BYTES);
        }
        (0..4)
            .map(|lane| (lanes >> (16 * lane)) & 0xFFFF)
            .sum::<u64>()
    };
    for block in &mut chunks {
        total += fold(block);
    }
    let remainder = chunks.remainder();
    let whole = remainder.len() / WORD * WORD;
    total += fold(&remainder[..whole]);
    total += remainder[whole..]
        .iter()
        .map(|&b| u64::from(b))
        .sum::<u64>();
    total as u8
}

fn hex_byte(byte: u8) -> [u8; 2] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    [
        DIGITS[usize::from(byte >> 4)],
        DIGITS[usize::from(byte & 0xF)],
    ]
}

// ---- stop replies
//
// LLDB shows a `description` (hex text) with a signal stop and treats `reason:exception` as an
// exception stop; gdbstub cannot write those fields, so they are appended to its T packet before
// it is sent.

/// Appends `key:value;` pairs to the last `$T…#xx` packet in `wire` (bytes about to be sent) and
/// fixes its checksum. Returns `None` if `wire` holds no complete T packet.
pub fn append_fields(wire: &[u8], fields: &[(&str, String)]) -> Option<Vec<u8>> {
    let start = wire.iter().rposition(|&b| b == b'$')?;
    let hash = start + wire[start..].iter().position(|&b| b == b'#')?;
    if wire.get(start + 1) != Some(&b'T') || wire.len() < hash + 3 {
        return None;
    }
    let mut payload = wire[start + 1..hash].to_vec();
    for (key, value) in fields {
        payload.extend_from_slice(key.as_bytes());
        payload.push(b':');
        payload.extend_from_slice(value.as_bytes());
        payload.push(b';');
    }
    let mut out = wire[..start].to_vec();
    out.extend(frame_bytes(&payload));
    out.extend_from_slice(&wire[hash + 3..]);
    Some(out)
}

/// Text as LLDB expects it in a `description` field: hex of its bytes.
pub fn hex_text(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

/// gdbstub's side of the connection: the reply buffer. Cloning shares the buffer, so the session
/// can rebuild gdbstub's state machine without losing what was queued.
#[derive(Clone, Default)]
pub struct ReplyBuffer(Rc<RefCell<Vec<u8>>>);

impl ReplyBuffer {
    pub fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.0.borrow_mut())
    }

    /// Appends fields to the stop reply gdbstub just wrote.
    pub fn append_stop_fields(&self, fields: &[(&str, String)]) {
        let mut buffer = self.0.borrow_mut();
        if let Some(edited) = append_fields(&buffer, fields) {
            *buffer = edited;
        }
    }

    /// Turns the numbered error reply gdbstub just wrote into one that says why.
    pub fn explain_error(&self, why: &str) {
        let mut buffer = self.0.borrow_mut();
        if let Some(edited) = replace_error(&buffer, why) {
            *buffer = edited;
        }
    }

    /// Queues bytes the session answers itself, bypassing gdbstub.
    pub fn push_raw(&self, bytes: &[u8]) {
        self.0.borrow_mut().extend_from_slice(bytes);
    }

    /// Lets the session write a large reply in place (binary memory reads).
    pub fn append_with<R>(&self, write: impl FnOnce(&mut Vec<u8>) -> R) -> R {
        write(&mut self.0.borrow_mut())
    }

    pub fn len(&self) -> usize {
        self.0.borrow().len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.borrow().is_empty()
    }

    pub fn byte_at(&self, index: usize) -> Option<u8> {
        self.0.borrow().get(index).copied()
    }

    pub fn clear(&self) {
        self.0.borrow_mut().clear();
    }
}

impl gdbstub::conn::Connection for ReplyBuffer {
    type Error = std::convert::Infallible;

    fn write(&mut self, byte: u8) -> Result<(), Self::Error> {
        self.0.borrow_mut().push(byte);
        Ok(())
    }

    fn write_all(&mut self, buf: &[u8]) -> Result<(), Self::Error> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(data: &[u8]) -> Vec<u8> {
        let mut payload = Vec::new();
        for &b in data {
            if ESCAPED.contains(&b) {
                payload.extend_from_slice(&[b'}', b ^ 0x20]);
            } else {
                payload.push(b);
            }
        }
        let sum = payload.iter().fold(0u8, |s, b| s.wrapping_add(*b));
        let mut out = vec![b'$'];
        out.extend_from_slice(&payload);
        out.extend_from_slice(format!("#{sum:02x}").as_bytes());
        out
    }

    fn framed(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        push_framed_binary(&mut out, data);
        out
    }

    /// A deterministic byte stream (xorshift) with every byte value, escaped ones included.
    fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
        let mut state = seed | 1;
        (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect()
    }

    #[test]
    fn empty_read_is_an_empty_packet() {
        assert_eq!(framed(&[]), b"$#00");
    }

    #[test]
    fn escapes_each_special_byte_at_every_position_of_a_word() {
        for &special in &ESCAPED {
            for len in 1..=20 {
                for at in 0..len {
                    let mut data = vec![b'a'; len];
                    data[at] = special;
                    assert_eq!(framed(&data), naive(&data), "{special:#x} at {at} of {len}");
                }
            }
        }
    }

    #[test]
    fn matches_byte_by_byte_framing_on_random_data_of_many_lengths() {
        for (seed, len) in [
            (1, 0),
            (2, 7),
            (3, 8),
            (4, 9),
            (5, 2039),
            (6, 2040),
            (7, 131_002),
        ] {
            let data = pseudo_random(len, seed);
            assert_eq!(framed(&data), naive(&data), "length {len}");
        }
    }

    #[test]
    fn checksum_survives_long_runs_of_high_bytes() {
        // The lane accumulators' worst case: 255-valued bytes across several fold blocks.
        let data = vec![0xFF; WORD * 128 * 3 + 5];
        assert_eq!(framed(&data), naive(&data));
    }

    #[test]
    fn appends_after_existing_buffer_contents() {
        let mut out = b"+".to_vec();
        push_framed_binary(&mut out, b"a#b");
        let mut expected = b"+".to_vec();
        expected.extend(naive(b"a#b"));
        assert_eq!(out, expected);
    }

    // ---- stop replies

    fn packet(payload: &str) -> Vec<u8> {
        let sum = payload.bytes().fold(0u8, |a, b| a.wrapping_add(b));
        format!("${payload}#{sum:02x}").into_bytes()
    }

    #[test]
    fn appends_and_fixes_the_checksum() {
        let wire = packet("T08thread:p01.01;00:0102;");
        let out = append_fields(&wire, &[("description", hex_text("div"))]).unwrap();
        assert_eq!(out, packet("T08thread:p01.01;00:0102;description:646976;"));
    }

    #[test]
    fn keeps_what_came_before_the_packet() {
        let mut wire = b"+".to_vec();
        wire.extend(packet("T05;"));
        let out = append_fields(&wire, &[("reason", "exception".into())]).unwrap();
        let mut expected = b"+".to_vec();
        expected.extend(packet("T05;reason:exception;"));
        assert_eq!(out, expected);
    }

    #[test]
    fn leaves_other_packets_alone() {
        assert_eq!(append_fields(&packet("OK"), &[("a", "b".into())]), None);
        assert_eq!(append_fields(b"$T05", &[("a", "b".into())]), None);
        assert_eq!(append_fields(b"", &[]), None);
    }

    #[test]
    fn numbered_errors_are_replaced_by_reasons() {
        let mut wire = b"+".to_vec();
        wire.extend(frame("E01"));
        let out = replace_error(&wire, "no module 7").unwrap();
        let mut expected = b"+".to_vec();
        expected.extend(frame(&format!("E01;{}", hex_text("no module 7"))));
        assert_eq!(out, expected);
        assert_eq!(replace_error(&frame("OK"), "x"), None);
        assert_eq!(replace_error(&frame("E.already"), "x"), None);
    }

    #[test]
    fn error_text_cannot_break_framing() {
        assert_eq!(error_reply("a#b$c"), frame("E.a b c"));
    }
}
