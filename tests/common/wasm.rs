//! Facts read straight from a core module's binary with `wasmparser`, independently of the stub:
//! where each named function starts and where its first instruction is.

use std::collections::HashMap;

use wasmparser::{Name, Parser, Payload};

/// Where a defined function lies, as module offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// The body's locals declarations, just after its size prefix: the function's address for
    /// LLVM's DWARF (`low_pc`) and so for LLDB.
    pub start: u32,
    /// The first instruction, after the locals declarations.
    pub entry: u32,
    /// One past the body's last byte.
    pub end: u32,
}

/// Every named defined function's first instruction (after its locals), as a module offset.
pub fn function_entries(wasm: &[u8]) -> HashMap<String, u32> {
    function_layouts(wasm)
        .into_iter()
        .map(|(name, layout)| (name, layout.entry))
        .collect()
}

/// Every named defined function's [`Layout`].
pub fn function_layouts(wasm: &[u8]) -> HashMap<String, Layout> {
    let mut names: HashMap<u32, String> = HashMap::new();
    let mut entries: Vec<Layout> = Vec::new();
    let mut imported = 0u32;
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.expect("a valid core module") {
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    if matches!(
                        import.expect("import").ty,
                        wasmparser::TypeRef::Func(_) | wasmparser::TypeRef::FuncExact(_)
                    ) {
                        imported += 1;
                    }
                }
            }
            Payload::CodeSectionEntry(body) => {
                let ops = body.get_operators_reader().expect("function body");
                entries.push(Layout {
                    start: body.range().start as u32,
                    entry: ops.original_position() as u32,
                    end: body.range().end as u32,
                });
            }
            Payload::CustomSection(section) => {
                if let wasmparser::KnownCustom::Name(reader) = section.as_known() {
                    for subsection in reader.into_iter().flatten() {
                        if let Name::Function(map) = subsection {
                            for naming in map.into_iter().flatten() {
                                names.insert(naming.index, naming.name.to_string());
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    names
        .into_iter()
        .filter_map(|(index, name)| {
            let defined = index.checked_sub(imported)? as usize;
            Some((name, *entries.get(defined)?))
        })
        .collect()
}

/// The first instruction of the function named `name`; panics naming the module if there is none.
pub fn function_entry(wasm: &[u8], name: &str) -> u32 {
    *function_entries(wasm)
        .get(name)
        .unwrap_or_else(|| panic!("no function named {name} in the module's name section"))
}
