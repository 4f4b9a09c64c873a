//! `x addr,len`: binary memory reads, which gdbstub 0.7 does not implement. LLDB probes them with
//! `x0,0` at connect and, when they are supported, reads every module image through them, so
//! module bytes go from the bytecode cache to the reply buffer without intermediate copies.

use super::GdbTarget;
use crate::addr::{self, Location};
use crate::binary_reply::push_framed_binary;
use crate::packet_guard::frame_bytes;

impl GdbTarget<'_> {
    /// Appends the framed reply to the `x` packet `body` (without `$`/`#`) to `out`; false if
    /// `body` is not an `x` packet.
    pub fn binary_read_reply(&mut self, body: &[u8], out: &mut Vec<u8>) -> bool {
        let Some(args) = body.strip_prefix(b"x") else {
            return false;
        };
        let parsed = std::str::from_utf8(args).ok().and_then(|args| {
            let (addr, len) = args.split_once(',')?;
            Some((
                u64::from_str_radix(addr, 16).ok()?,
                usize::from_str_radix(len, 16).ok()?,
            ))
        });
        match parsed {
            None => out.extend(frame_bytes(b"E.malformed x packet")),
            // The capability probe.
            Some((_, 0)) => out.extend(frame_bytes(b"OK")),
            Some((addr, len)) => {
                if !self.push_memory(addr, len, out) {
                    out.extend(frame_bytes(b"E79"));
                }
            }
        }
        true
    }

    /// Frames `len` bytes at `addr` into `out` (a module image read may come back short at the
    /// image's end, as with `m`); false if nothing there is readable.
    fn push_memory(&mut self, addr: u64, len: usize, out: &mut Vec<u8>) -> bool {
        match Location::decode(addr) {
            Some(Location::Code { module, offset }) => {
                let Some(module) = self.debuggee.module(module) else {
                    return false;
                };
                let Some(range) = addr::clamp_read(offset, len, module.bytes.len()) else {
                    return false;
                };
                push_framed_binary(out, &module.bytes[range]);
                true
            }
            Some(Location::Memory { module, offset }) => {
                // The packet guard caps lengths before they get here, and the host copies at most
                // what the memory holds, so no allocation here can be absurd.
                match self.debuggee.read_memory(module, u64::from(offset), len) {
                    Ok(bytes) => {
                        push_framed_binary(out, &bytes);
                        true
                    }
                    Err(_) => false,
                }
            }
            None => false,
        }
    }
}
