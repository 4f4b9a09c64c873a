//! What the tests read from a module's DWARF, with `gimli`: line rows and the addresses of data
//! symbols. No external dumper is involved, so the answers do not depend on another tool's text
//! format or on it being installed.

use std::collections::HashMap;

type Reader<'a> = gimli::EndianSlice<'a, gimli::LittleEndian>;

/// A core module's Code section offset and its DWARF, loaded from its custom sections.
struct ModuleDwarf {
    code_start: u32,
    sections: HashMap<String, Vec<u8>>,
}

impl ModuleDwarf {
    fn parse(wasm: &[u8]) -> Self {
        let mut code_start = None;
        let mut sections = HashMap::new();
        for payload in wasmparser::Parser::new(0).parse_all(wasm) {
            match payload.expect("parse wasm") {
                wasmparser::Payload::CodeSectionStart {
                    unchecked_range: range,
                    ..
                } => code_start = Some(range.start as u32),
                wasmparser::Payload::CustomSection(reader) => {
                    sections.insert(reader.name().to_string(), reader.data().to_vec());
                }
                _ => {}
            }
        }
        let code_start = code_start.expect("module has no code section");
        ModuleDwarf {
            code_start,
            sections,
        }
    }

    fn dwarf(&self) -> gimli::Dwarf<Reader<'_>> {
        gimli::Dwarf::load(|id| -> Result<_, gimli::Error> {
            let data = self.sections.get(id.name()).map(|d| &d[..]).unwrap_or(&[]);
            Ok(gimli::EndianSlice::new(data, gimli::LittleEndian))
        })
        .expect("load DWARF")
    }
}

/// Offset of the Code section's contents within `wasm` (where DWARF code addresses start).
pub fn code_section_start(wasm: &[u8]) -> u32 {
    ModuleDwarf::parse(wasm).code_start
}

/// Line → lowest module-relative code offset for rows of `wasm`'s DWARF line
/// table whose file path ends with `file_suffix` (all rows when `None`).
/// Wasm DWARF addresses count from the start of the Code section's contents,
/// so that section's offset is added back.
pub fn dwarf_line_table(wasm: &[u8], file_suffix: Option<&str>) -> HashMap<u32, u32> {
    let module = ModuleDwarf::parse(wasm);
    let dwarf = module.dwarf();
    let mut table: HashMap<u32, u32> = HashMap::new();
    let mut units = dwarf.units();
    while let Some(header) = units.next().expect("DWARF unit header") {
        let unit = dwarf.unit(header).expect("DWARF unit");
        let Some(program) = unit.line_program.clone() else {
            continue;
        };
        let mut rows = program.rows();
        while let Some((header, row)) = rows.next_row().expect("DWARF line row") {
            if row.end_sequence() {
                continue;
            }
            let Some(line) = row.line() else { continue };
            if let Some(suffix) = file_suffix {
                let name = row.file(header).map(|file| {
                    let part = |attr| {
                        dwarf
                            .attr_string(&unit, attr)
                            .map(|s| s.to_string_lossy().into_owned())
                            .unwrap_or_default()
                    };
                    let name = part(file.path_name());
                    match file.directory(header) {
                        Some(dir) if !name.starts_with('/') => format!("{}/{name}", part(dir)),
                        _ => name,
                    }
                });
                if !name.is_some_and(|n| n.ends_with(suffix)) {
                    continue;
                }
            }
            let offset = module.code_start + row.address() as u32;
            let slot = table.entry(line.get() as u32).or_insert(offset);
            *slot = (*slot).min(offset);
        }
    }
    table
}

/// The linear-memory address of the global variable named `name` (its `DW_AT_name`, so a Rust
/// static is found by its plain name too), from its `DW_AT_location`.
pub fn data_symbol_address(wasm: &[u8], name: &str) -> u64 {
    let module = ModuleDwarf::parse(wasm);
    let dwarf = module.dwarf();
    let mut units = dwarf.units();
    while let Some(header) = units.next().expect("DWARF unit header") {
        let unit = dwarf.unit(header).expect("DWARF unit");
        let mut entries = unit.entries();
        while let Some(entry) = entries.next_dfs().expect("DWARF entry") {
            if entry.tag() != gimli::DW_TAG_variable {
                continue;
            }
            let Some(entry_name) = entry.attr_value(gimli::DW_AT_name) else {
                continue;
            };
            let entry_name = dwarf.attr_string(&unit, entry_name).expect("DW_AT_name");
            if entry_name.slice() != name.as_bytes() {
                continue;
            }
            let Some(gimli::AttributeValue::Exprloc(expr)) =
                entry.attr_value(gimli::DW_AT_location)
            else {
                continue;
            };
            let mut ops = expr.operations(unit.encoding());
            while let Some(op) = ops.next().expect("DWARF location operation") {
                match op {
                    gimli::Operation::Address { address } => return address,
                    gimli::Operation::AddressIndex { index } => {
                        return dwarf.address(&unit, index).expect("DWARF address index");
                    }
                    _ => {}
                }
            }
        }
    }
    panic!("no DWARF variable named {name} with a static address")
}
