//! The wasm-gdbstub debug component (wasm32-wasip2, release build) as bytes, under the interface
//! wasmtime-cli's `gdbstub` feature expects from `wasmtime-internal-gdbstub-component-artifact`.

/// The component `wasmtime run -g [ADDR:]PORT` instantiates as its debugger.
pub const GDBSTUB_COMPONENT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/wasm_gdbstub.wasm"));

#[cfg(test)]
mod tests {
    #[test]
    fn embeds_a_component() {
        // A component's preamble: magic, then version 0x0d with layer 1 (a core module has layer 0).
        assert_eq!(&super::GDBSTUB_COMPONENT[..8], b"\0asm\x0d\0\x01\0");
    }
}
