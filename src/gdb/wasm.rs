//! LLDB's Wasm packets: `qWasmCallStack`, `qWasmLocal`, `qWasmGlobal`, `qWasmStackValue`.

use super::{Fatal, GdbTarget};
use crate::debuggee::value_bytes;
use crate::host::WasmValue;
use gdbstub::common::Tid;
use gdbstub::target::ext::wasm::Wasm;

/// Copies a value into gdbstub's buffer; 0 (an error reply) if there is none.
fn put(value: Option<&WasmValue>, buf: &mut [u8]) -> usize {
    let Some(value) = value else { return 0 };
    let bytes = value_bytes(value);
    match buf.get_mut(..bytes.len()) {
        Some(dst) => {
            dst.copy_from_slice(&bytes);
            bytes.len()
        }
        None => 0,
    }
}

impl Wasm for GdbTarget<'_> {
    fn wasm_call_stack(&self, _tid: Tid, next_pc: &mut dyn FnMut(u64)) -> Result<(), Fatal> {
        if self.debuggee.stack.is_empty() {
            // Not started yet: one frame, where execution will begin.
            next_pc(self.reported_pc());
        }
        for frame in &self.debuggee.stack {
            next_pc(self.frame_addr(frame.module, frame.pc));
        }
        Ok(())
    }

    fn read_wasm_local(
        &self,
        _tid: Tid,
        frame: usize,
        local: usize,
        buf: &mut [u8],
    ) -> Result<usize, Fatal> {
        let locals = self.debuggee.locals(frame);
        Ok(put(locals.as_ref().and_then(|l| l.get(local)), buf))
    }

    fn read_wasm_stack(
        &self,
        _tid: Tid,
        frame: usize,
        index: usize,
        buf: &mut [u8],
    ) -> Result<usize, Fatal> {
        // Index 0 is the top of the operand stack; the host lists it bottom first.
        let stack = self.debuggee.operand_stack(frame);
        // `index` comes from the packet: `index + 1` could overflow.
        let value = stack.as_ref().and_then(|s| {
            s.len()
                .checked_sub(index.checked_add(1)?)
                .and_then(|i| s.get(i))
        });
        Ok(put(value, buf))
    }

    fn read_wasm_global(
        &self,
        _tid: Tid,
        frame: usize,
        global: usize,
        buf: &mut [u8],
    ) -> Result<usize, Fatal> {
        let Ok(global) = u32::try_from(global) else {
            return Ok(0);
        };
        Ok(put(self.debuggee.global(frame, global).as_ref(), buf))
    }
}
