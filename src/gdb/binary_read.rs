//! `x addr,len`: binary memory reads, which gdbstub 0.7 does not implement. LLDB probes them with
//! `x0,0` at connect and, when they are supported, reads module images at twice the bytes per
//! round trip of hex `m` reads.

use super::{GdbTarget, THREAD};
use crate::packet_guard::frame_bytes;
use gdbstub::target::ext::base::multithread::MultiThreadBase;

impl GdbTarget<'_> {
    /// The framed reply to the `x` packet `body` (without `$`/`#`), or `None` if it is not one.
    pub fn binary_read_reply(&mut self, body: &[u8]) -> Option<Vec<u8>> {
        let args = body.strip_prefix(b"x")?;
        let parsed = std::str::from_utf8(args).ok().and_then(|args| {
            let (addr, len) = args.split_once(',')?;
            Some((
                u64::from_str_radix(addr, 16).ok()?,
                usize::from_str_radix(len, 16).ok()?,
            ))
        });
        let Some((addr, len)) = parsed else {
            return Some(frame_bytes(b"E.malformed x packet"));
        };
        if len == 0 {
            // The capability probe.
            return Some(frame_bytes(b"OK"));
        }
        // The packet guard refuses absurd lengths before they get here; should one slip through,
        // a failed allocation must be an error reply, not an abort of the whole Wasmtime process.
        let mut data = Vec::new();
        if data.try_reserve_exact(len).is_err() {
            return Some(frame_bytes(b"E.read too large"));
        }
        data.resize(len, 0);
        let reply = match self.read_addrs(addr, &mut data, THREAD) {
            Ok(n) => escape(&data[..n.min(len)]),
            Err(_) => b"E79".to_vec(),
        };
        Some(frame_bytes(&reply))
    }
}

/// RSP binary escaping: `#`, `$`, `}` and `*` become `}` followed by the byte xor 0x20.
fn escape(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 32);
    for &b in data {
        if matches!(b, b'#' | b'$' | b'}' | b'*') {
            out.push(b'}');
            out.push(b ^ 0x20);
        } else {
            out.push(b);
        }
    }
    out
}
