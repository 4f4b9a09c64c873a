//! LLDB's Wasm packets: `qWasmCallStack`, `qWasmLocal`, `qWasmGlobal`, `qWasmStackValue`.

use super::{Fatal, GdbTarget};
use crate::host::{Host, Value};
use gdbstub::common::Tid;
use gdbstub::target::ext::wasm::Wasm;

/// Copies a value into gdbstub's buffer; 0 (an error reply) if there is none.
fn put(value: Option<Value>, buf: &mut [u8]) -> usize {
    let Some(value) = value else { return 0 };
    let bytes = value.to_le_bytes();
    match buf.get_mut(..bytes.len()) {
        Some(dst) => {
            dst.copy_from_slice(&bytes);
            bytes.len()
        }
        None => 0,
    }
}

impl<H: Host> Wasm for GdbTarget<'_, H> {
    fn wasm_call_stack(&self, _tid: Tid, next_pc: &mut dyn FnMut(u64)) -> Result<(), Fatal> {
        for pc in self.core.call_stack() {
            next_pc(pc);
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
        Ok(put(self.core.local(frame, local), buf))
    }

    fn read_wasm_stack(
        &self,
        _tid: Tid,
        frame: usize,
        index: usize,
        buf: &mut [u8],
    ) -> Result<usize, Fatal> {
        Ok(put(self.core.stack_value(frame, index), buf))
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
        Ok(put(self.core.global(frame, global), buf))
    }
}
