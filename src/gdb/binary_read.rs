//! `x addr,len`: binary memory reads, which gdbstub 0.7 does not implement. LLDB probes them with
//! `x0,0` at connect and, when they are supported, reads every module image through them, so
//! module bytes go from the bytecode cache to the reply buffer without intermediate copies.

use super::GdbTarget;
use crate::addr::{self, Location};
use crate::host::Host;
use crate::rsp::{frame, push_framed_binary};

impl<H: Host> GdbTarget<'_, H> {
    /// Appends the framed reply to `x addr,len` to `out`.
    pub fn binary_read_reply(&mut self, addr: u64, len: usize, out: &mut Vec<u8>) {
        if len == 0 {
            // The capability probe.
            out.extend(frame("OK"));
        } else if !self.push_memory(addr, len, out) {
            // LLDB probes addresses outside every image and memory at connect; an unreadable
            // address gets the error code it expects for that, not a message.
            out.extend(frame("E79"));
        }
    }

    /// Frames `len` bytes at `addr` into `out` (a module image read may come back short at the
    /// image's end, as with `m`); false if nothing there is readable.
    fn push_memory(&mut self, addr: u64, len: usize, out: &mut Vec<u8>) -> bool {
        match Location::decode(addr) {
            Some(Location::Code(site)) => {
                let Some(module) = self.core.debuggee.module(site.module) else {
                    return false;
                };
                let Some(range) = addr::clamp_read(site.pc, len, module.bytes.len()) else {
                    return false;
                };
                push_framed_binary(out, &module.bytes[range]);
                true
            }
            Some(Location::Memory { module, offset }) => {
                // The packet guard caps lengths before they get here, and the host copies at most
                // what the memory holds, so no allocation here can be absurd.
                match self.core.read_memory(module, u64::from(offset), len) {
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
