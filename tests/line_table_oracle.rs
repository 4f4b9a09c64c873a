//! The stub's DWARF line table (`src/dwarf.rs`), which decides where a stop is shown and what
//! `monitor disasm` prints, and which the tests use to find a source line's code, agrees with
//! LLDB's own reading of the same module: for each source file, the same lines have code and each
//! starts at the same address. LLDB reads the file offline, no stub involved.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use common::{corpus, fixtures, lldb};

/// Every line-table row of the files ending in `/<file>`, as LLDB's Python API gives them
/// (`SBCompileUnit` line entries, so Rust units, named `src/main.rs/@/...`, are found too).
const LLDB_ROWS: &str = r#"
import sys, lldb
debugger = lldb.SBDebugger.Create()
target = debugger.CreateTarget(sys.argv[1])
suffix = "/" + sys.argv[2]
for cu in target.GetModuleAtIndex(0).compile_units:
    for entry in cu:
        if entry.GetLine() and (entry.GetFileSpec().fullpath or "").endswith(suffix):
            print("row", entry.GetLine(), entry.GetStartAddress().GetFileAddress())
"#;

/// Line → lowest module offset, from LLDB's reading of `wasm`. LLDB's Wasm object file gives
/// code the addresses DWARF uses (counted from the Code section's contents), so `code_start`
/// turns them into module offsets.
fn lldb_lines(wasm: &Path, file: &str, code_start: u32) -> BTreeMap<u32, u32> {
    let run = lldb::python(
        LLDB_ROWS,
        &[wasm.to_str().expect("UTF-8 path"), file],
        Duration::from_secs(120),
    );
    run.assert_success();
    let mut lines = BTreeMap::new();
    for row in run.output().lines() {
        let fields: Vec<&str> = row.split_whitespace().collect();
        let ["row", line, address] = fields[..] else {
            continue;
        };
        let (Ok(line), Ok(address)) = (line.parse::<u32>(), address.parse::<u32>()) else {
            continue;
        };
        let offset = code_start + address;
        let slot = lines.entry(line).or_insert(offset);
        *slot = (*slot).min(offset);
    }
    assert!(
        !lines.is_empty(),
        "LLDB shows no line rows for {file} in {}:\n{}",
        wasm.display(),
        run.transcript()
    );
    lines
}

/// Compares the two readings for each file of `wasm`, reporting every difference at once.
#[track_caller]
fn agree(wasm: &Path, files: &[&str]) {
    let bytes = fixtures::read(wasm);
    let code_start = fixtures::code_section_start(&bytes);
    let mut differences = Vec::new();
    for file in files {
        let ours: BTreeMap<u32, u32> =
            fixtures::dwarf_line_table(&bytes, Some(&format!("/{file}")))
                .into_iter()
                .collect();
        let theirs = lldb_lines(wasm, file, code_start);
        for line in ours.keys().chain(theirs.keys()) {
            let (a, b) = (ours.get(line), theirs.get(line));
            if a != b {
                differences.push(format!("{file}:{line}: stub {a:x?}, LLDB {b:x?}"));
            }
        }
    }
    differences.dedup();
    assert!(
        differences.is_empty(),
        "{}: {} differences\n{}",
        wasm.display(),
        differences.len(),
        differences.join("\n")
    );
}

#[test]
fn the_c_fixture() {
    agree(&fixtures::c_app(), &["app.c"]);
}

#[test]
fn the_rust_fixture() {
    agree(&fixtures::rust_p1(), &["main.rs"]);
}

#[test]
fn lua_a_real_c_program() {
    agree(
        &corpus::lua_wasm(),
        &["lvm.c", "ldo.c", "ltable.c", "lstrlib.c"],
    );
}

#[test]
fn a_real_cpp_program() {
    let source = corpus::cpp_src();
    let name = source.file_name().unwrap().to_str().unwrap().to_string();
    agree(&corpus::cpp_wasm(), &[&name]);
}
