//! What the tests read from a module's DWARF: line rows and the addresses of data symbols,
//! through the stub's own gimli reader (`wasm_gdbstub::dwarf`), so the project has one DWARF
//! reader. A module or DWARF the reader cannot take fails the test, naming the problem. Whether
//! that reader agrees with LLDB's is checked on its own (`fixtures_smoke.rs`).

use std::collections::HashMap;

use wasm_gdbstub::dwarf::{LineTable, static_address};
use wasm_gdbstub::wasm_module::ModuleInfo;

fn parse(wasm: &[u8]) -> ModuleInfo {
    ModuleInfo::parse(wasm).unwrap_or_else(|e| panic!("module does not parse: {e}"))
}

/// Offset of the Code section's contents within `wasm` (where DWARF code addresses start).
pub fn code_section_start(wasm: &[u8]) -> u32 {
    parse(wasm)
        .dwarf_sections()
        .code_start()
        .expect("module has no code section")
}

/// Line → lowest module offset where it starts, for the files whose path ends with
/// `file_suffix` (all files when `None`).
pub fn dwarf_line_table(wasm: &[u8], file_suffix: Option<&str>) -> HashMap<u32, u32> {
    let table = LineTable::read(wasm, parse(wasm).dwarf_sections());
    if let Some(problem) = table.problem() {
        panic!("DWARF line table: {problem}");
    }
    table.lines_in(file_suffix).into_iter().collect()
}

/// Every module offset where `line` of the file whose path ends with `file_suffix` starts.
pub fn dwarf_line_starts(wasm: &[u8], file_suffix: &str, line: u32) -> Vec<u32> {
    LineTable::read(wasm, parse(wasm).dwarf_sections()).starts_of(file_suffix, line)
}

/// The linear-memory address of the global variable named `name`.
pub fn data_symbol_address(wasm: &[u8], name: &str) -> u64 {
    static_address(wasm, parse(wasm).dwarf_sections(), name)
        .unwrap_or_else(|problem| panic!("DWARF: {problem}"))
        .unwrap_or_else(|| panic!("no DWARF variable named {name} with a static address"))
}
