//! Framing of binary RSP replies (`x` memory reads): escaping and checksum in one pass, written
//! straight into the reply buffer. A connect makes LLDB read every module image (16 MB for a Rust
//! debug build) through this path, so it works a machine word at a time: most bytecode has long
//! runs with nothing to escape, and those runs are copied and summed whole.

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
}
