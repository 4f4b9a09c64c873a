//! A module's DWARF, read with gimli from the custom sections [`ModuleInfo::parse`] located:
//! where those sections lie ([`DwarfSections`]), where source lines start in the code
//! ([`LineTable`]), for `monitor disasm` and for choosing the pc a stop is shown at, and where a
//! global variable lives ([`static_address`]). The tests find lines and variables through this
//! module too, so there is one DWARF reader in the project.
//!
//! The DWARF is untrusted like the rest of the module: damaged or misplaced sections yield a
//! table that records the problem, never a panic.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

use gimli::{EndianSlice, LittleEndian};

use crate::wasm_module::ModuleInfo;

/// Where one module's DWARF lies in its bytes, noted by [`ModuleInfo::parse`] so that reading the
/// DWARF needs no second walk over the module's sections.
#[derive(Debug, Clone, Default)]
pub struct DwarfSections {
    /// Module offset of the Code section's contents: where Wasm DWARF code addresses count from.
    code_start: Option<u32>,
    /// Each `.debug_*` custom section's contents, by name, as a range of module offsets.
    sections: Vec<(Box<str>, Range<u32>)>,
}

impl DwarfSections {
    pub(crate) fn set_code_start(&mut self, offset: u32) {
        self.code_start = Some(offset);
    }

    /// Records a custom section; only `.debug_*` ones are DWARF. A repeated name keeps the last,
    /// as a reader that walks the sections in order and overwrites would.
    pub(crate) fn note_section(&mut self, name: &str, data: Range<u32>) {
        if !name.starts_with(".debug_") {
            return;
        }
        match self.sections.iter_mut().find(|(known, _)| **known == *name) {
            Some((_, range)) => *range = data,
            None => self.sections.push((name.into(), data)),
        }
    }

    /// Whether there is a `.debug_info` section: what makes a module one "with DWARF".
    pub fn has_debug_info(&self) -> bool {
        self.find(".debug_info").is_some()
    }

    /// Module offset of the Code section's contents, if the module has one.
    pub fn code_start(&self) -> Option<u32> {
        self.code_start
    }

    fn find(&self, name: &str) -> Option<&Range<u32>> {
        self.sections
            .iter()
            .find(|(known, _)| **known == *name)
            .map(|(_, range)| range)
    }

    /// The contents of section `name` within `module`.
    fn data<'a>(&self, module: &'a [u8], name: &str) -> Option<&'a [u8]> {
        let range = self.find(name)?;
        module.get(range.start as usize..range.end as usize)
    }
}

/// Where source lines start in one module's code, from its DWARF `.debug_line`.
#[derive(Debug, Default, Clone)]
pub struct LineTable {
    files: Vec<String>,
    /// Module-relative offset → (index into `files`, line).
    starts: BTreeMap<u32, (u32, u32)>,
    /// Why (part of) the table could not be read.
    problem: Option<String>,
}

/// A line row kept while its sequence is read: DWARF address, file, line.
type PendingRow = (u64, u32, u32);

impl LineTable {
    /// Reads the line programs of every compilation unit from the DWARF sections
    /// [`ModuleInfo::parse`] found in `module` (the bytes it parsed). Wasm DWARF addresses count
    /// from the start of the Code section's contents, so each is moved by that section's module
    /// offset. Damaged DWARF keeps what was read before the damage and records the problem.
    pub fn read(module: &[u8], sections: &DwarfSections) -> LineTable {
        let mut table = LineTable::default();
        if sections.find(".debug_line").is_none() {
            return table;
        }
        let Some(code_start) = sections.code_start else {
            table.problem = Some("the module has DWARF but no code section".to_string());
            return table;
        };
        let dwarf = match load(module, sections) {
            Ok(dwarf) => dwarf,
            Err(problem) => {
                table.problem = Some(problem);
                return table;
            }
        };
        let mut units = dwarf.units();
        loop {
            let header = match units.next() {
                Ok(Some(header)) => header,
                Ok(None) => break,
                Err(e) => {
                    table.note(format!("DWARF unit list: {e}"));
                    break;
                }
            };
            match dwarf.unit(header) {
                Ok(unit) => table.read_unit(&dwarf, &unit, code_start, module.len()),
                Err(e) => table.note(format!("DWARF unit: {e}")),
            }
        }
        table
    }

    /// [`LineTable::read`] for a caller that has not parsed the module; a module that does not
    /// parse has no table, and the problem says why.
    pub fn parse(module: &[u8]) -> LineTable {
        match ModuleInfo::parse(module) {
            Ok(info) => LineTable::read(module, info.dwarf_sections()),
            Err(e) => LineTable {
                problem: Some(format!("module does not parse: {e}")),
                ..LineTable::default()
            },
        }
    }

    fn note(&mut self, problem: String) {
        self.problem.get_or_insert(problem);
    }

    fn read_unit(
        &mut self,
        dwarf: &gimli::Dwarf<EndianSlice<'_, LittleEndian>>,
        unit: &gimli::Unit<EndianSlice<'_, LittleEndian>>,
        code_start: u32,
        module_len: usize,
    ) {
        let Some(program) = unit.line_program.clone() else {
            return;
        };
        let mut rows = program.rows();
        let mut file_ids: HashMap<u64, u32> = HashMap::new();
        let mut sequence: Vec<PendingRow> = Vec::new();
        let mut sequence_start: Option<u64> = None;
        let mut previous: Option<(u64, u64)> = None;
        loop {
            let (header, row) = match rows.next_row() {
                Ok(Some(next)) => next,
                Ok(None) => break,
                Err(e) => {
                    self.note(format!("DWARF line program: {e}"));
                    break;
                }
            };
            let start = *sequence_start.get_or_insert(row.address());
            if row.end_sequence() {
                // A sequence at address 0 is code the linker dropped (old wasm-ld tombstone);
                // its rows would otherwise land on whatever really lives at the section start.
                if start != 0 {
                    self.commit(&mut sequence, code_start, module_len);
                }
                sequence.clear();
                sequence_start = None;
                previous = None;
                continue;
            }
            let Some(line) = row.line() else {
                // Line 0 is compiler-generated code: the line after it starts afresh.
                previous = None;
                continue;
            };
            let key = (row.file_index(), line.get());
            if !row.is_stmt() || previous == Some(key) {
                continue;
            }
            previous = Some(key);
            let file = match file_ids.get(&row.file_index()) {
                Some(&id) => id,
                None => {
                    let id = self.intern(file_name(dwarf, unit, header, row.file_index()));
                    file_ids.insert(row.file_index(), id);
                    id
                }
            };
            sequence.push((
                row.address(),
                file,
                u32::try_from(line.get()).unwrap_or(u32::MAX),
            ));
        }
    }

    fn commit(&mut self, rows: &mut Vec<PendingRow>, code_start: u32, module_len: usize) {
        for (address, file, line) in rows.drain(..) {
            let offset = u32::try_from(address)
                .ok()
                .and_then(|a| code_start.checked_add(a));
            // Addresses past the module are tombstones of dropped code (wasm-ld writes -1).
            if let Some(offset) = offset.filter(|&o| (o as usize) < module_len) {
                self.starts.insert(offset, (file, line));
            }
        }
    }

    fn intern(&mut self, name: String) -> u32 {
        if let Some(i) = self.files.iter().position(|f| *f == name) {
            return u32::try_from(i).unwrap_or(u32::MAX);
        }
        self.files.push(name);
        u32::try_from(self.files.len() - 1).unwrap_or(u32::MAX)
    }

    /// The source line that starts at module offset `offset`, if one does.
    pub fn line_start(&self, offset: u32) -> Option<(&str, u32)> {
        let &(file, line) = self.starts.get(&offset)?;
        let name = self.files.get(file as usize).map_or("?", String::as_str);
        Some((name, line))
    }

    pub fn is_empty(&self) -> bool {
        self.starts.is_empty()
    }

    /// The source line the code at `offset` belongs to: the last line that starts at or before
    /// it and not before `floor` (the start of its function, so no line of another function is
    /// taken). Compiler-generated code (line 0) counts as part of the line before it.
    pub fn line_containing(&self, offset: u32, floor: u32) -> Option<(&str, u32)> {
        let (_, &(file, line)) = self.starts.range(floor..=offset).next_back()?;
        let name = self.files.get(file as usize).map_or("?", String::as_str);
        Some((name, line))
    }

    /// The source row holding `offset` as LLDB may disassemble it: from the last line start at
    /// or before it to the next one after it, within `bounds` (its function). Rows of line 0 and
    /// repeats of a line are kept inside the row before them, so this covers LLDB's own row.
    pub fn row_around(&self, offset: u32, bounds: Range<u32>) -> Range<u32> {
        let start = self
            .starts
            .range(bounds.start..=offset)
            .next_back()
            .map_or(bounds.start, |(&o, _)| o);
        let end = self
            .starts
            .range(offset.saturating_add(1)..bounds.end)
            .next()
            .map_or(bounds.end, |(&o, _)| o);
        start..end
    }

    /// Whether any line starts in `range` (a function with debug info has one).
    pub fn has_lines_in(&self, range: Range<u32>) -> bool {
        self.starts.range(range).next().is_some()
    }

    /// Each line of the files whose path ends with `file_suffix` (of every file when `None`),
    /// with the lowest module offset where it starts: where a breakpoint on that line goes.
    pub fn lines_in(&self, file_suffix: Option<&str>) -> BTreeMap<u32, u32> {
        let mut lines = BTreeMap::new();
        // Ascending offsets, so the first start seen for a line is its lowest.
        for (&offset, &(file, line)) in &self.starts {
            let name = self.files.get(file as usize).map_or("", String::as_str);
            if file_suffix.is_none_or(|suffix| name.ends_with(suffix)) {
                lines.entry(line).or_insert(offset);
            }
        }
        lines
    }

    /// Every module offset where `line` of the files whose path ends with `file_suffix` starts.
    pub fn starts_of(&self, file_suffix: &str, line: u32) -> Vec<u32> {
        self.starts
            .iter()
            .filter(|&(_, &(file, l))| {
                l == line
                    && self
                        .files
                        .get(file as usize)
                        .is_some_and(|name| name.ends_with(file_suffix))
            })
            .map(|(&offset, _)| offset)
            .collect()
    }

    /// Why the table is missing or incomplete.
    pub fn problem(&self) -> Option<&str> {
        self.problem.as_deref()
    }
}

type Dwarf<'a> = gimli::Dwarf<EndianSlice<'a, LittleEndian>>;

/// The DWARF of `module` (the bytes [`ModuleInfo::parse`] read `sections` from), or why it
/// cannot be read.
fn load<'a>(module: &'a [u8], sections: &DwarfSections) -> Result<Dwarf<'a>, String> {
    if sections.sections.iter().any(|(_, range)| {
        module
            .get(range.start as usize..range.end as usize)
            .is_none()
    }) {
        return Err("the DWARF sections lie outside the module's bytes".to_string());
    }
    gimli::Dwarf::load(|id| -> Result<_, gimli::Error> {
        Ok(EndianSlice::new(
            sections.data(module, id.name()).unwrap_or(&[]),
            LittleEndian,
        ))
    })
    .map_err(|e| format!("DWARF: {e}"))
}

/// The linear-memory address of the global variable named `name` (its `DW_AT_name`, so a Rust
/// static is found by its plain name too), from a `DW_AT_location` that is a static address.
/// `Ok(None)` if no such variable has one; `Err` says why the DWARF could not be read.
pub fn static_address(
    module: &[u8],
    sections: &DwarfSections,
    name: &str,
) -> Result<Option<u64>, String> {
    let dwarf = load(module, sections)?;
    let mut units = dwarf.units();
    while let Some(header) = units.next().map_err(|e| format!("DWARF unit list: {e}"))? {
        let unit = dwarf.unit(header).map_err(|e| format!("DWARF unit: {e}"))?;
        let mut entries = unit.entries();
        while let Some(entry) = entries
            .next_dfs()
            .map_err(|e| format!("DWARF entry: {e}"))?
        {
            if entry.tag() != gimli::DW_TAG_variable {
                continue;
            }
            let named = entry
                .attr_value(gimli::DW_AT_name)
                .and_then(|value| dwarf.attr_string(&unit, value).ok())
                .is_some_and(|entry_name| entry_name.slice() == name.as_bytes());
            let Some(gimli::AttributeValue::Exprloc(expr)) =
                entry.attr_value(gimli::DW_AT_location).filter(|_| named)
            else {
                continue;
            };
            let mut ops = expr.operations(unit.encoding());
            while let Ok(Some(op)) = ops.next() {
                match op {
                    gimli::Operation::Address { address } => return Ok(Some(address)),
                    gimli::Operation::AddressIndex { index } => {
                        let address = dwarf
                            .address(&unit, index)
                            .map_err(|e| format!("DWARF address index: {e}"))?;
                        return Ok(Some(address));
                    }
                    _ => {}
                }
            }
        }
    }
    Ok(None)
}

/// A line-table file's path as LLDB would show it: the name, under its directory, under the
/// unit's compilation directory, stopping as soon as the path is absolute.
fn file_name(
    dwarf: &gimli::Dwarf<EndianSlice<'_, LittleEndian>>,
    unit: &gimli::Unit<EndianSlice<'_, LittleEndian>>,
    header: &gimli::LineProgramHeader<EndianSlice<'_, LittleEndian>>,
    index: u64,
) -> String {
    let Some(file) = header.file(index) else {
        return format!("<file {index}>");
    };
    let text = |attr| {
        dwarf
            .attr_string(unit, attr)
            .ok()
            .map(|s| s.to_string_lossy().into_owned())
    };
    let mut path = text(file.path_name()).unwrap_or_else(|| format!("<file {index}>"));
    if let Some(dir) = file.directory(header).and_then(text) {
        path = join_path(&dir, &path);
    }
    if let Some(comp_dir) = unit.comp_dir {
        path = join_path(&comp_dir.to_string_lossy(), &path);
    }
    path
}

/// `rel` under `base`, unless `rel` is already absolute; `./` prefixes add nothing and go.
fn join_path(base: &str, rel: &str) -> String {
    if is_absolute(rel) || base.is_empty() || base == "." {
        return rel.to_string();
    }
    let mut rel = rel;
    while let Some(rest) = rel.strip_prefix("./") {
        rel = rest;
    }
    format!("{}/{rel}", base.trim_end_matches('/'))
}

/// Absolute on the machine that built the module: a Unix or Windows path, or a URL-like prefix
/// such as wasi-sdk's `wasisdk://`.
fn is_absolute(path: &str) -> bool {
    let bytes = path.as_bytes();
    let drive = bytes.len() > 2
        && bytes[0].is_ascii_alphabetic()
        && bytes[1] == b':'
        && matches!(bytes[2], b'/' | b'\\');
    path.starts_with('/') || path.starts_with('\\') || drive || path.contains("://")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_join_until_absolute() {
        assert_eq!(join_path("/work", "tests/app.c"), "/work/tests/app.c");
        assert_eq!(join_path("/work/", "./app.c"), "/work/app.c");
        assert_eq!(join_path("/work", "/abs/app.c"), "/abs/app.c");
        assert_eq!(join_path("", "app.c"), "app.c");
        assert_eq!(join_path(".", "app.c"), "app.c");
        assert_eq!(
            join_path("/build", "wasisdk://v30/src/crt1.c"),
            "wasisdk://v30/src/crt1.c"
        );
        assert_eq!(join_path("/build", "C:\\src\\a.c"), "C:\\src\\a.c");
    }

    fn leb(out: &mut Vec<u8>, mut value: u64) {
        loop {
            let byte = (value & 0x7f) as u8;
            value >>= 7;
            if value == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }

    fn custom_section(out: &mut Vec<u8>, name: &str, data: &[u8]) {
        let mut payload = Vec::new();
        leb(&mut payload, name.len() as u64);
        payload.extend_from_slice(name.as_bytes());
        payload.extend_from_slice(data);
        out.push(0);
        leb(out, payload.len() as u64);
        out.extend_from_slice(&payload);
    }

    /// A module with two functions plus DWARF whose line rows are `(address, line, is_stmt)`
    /// in one sequence per `sequences` entry (each starting at its first row's address).
    fn module_with_lines(sequences: &[&[(u64, u64, bool)]]) -> Vec<u8> {
        module_with(sequences, &[])
    }

    /// [`module_with_lines`], plus global variables `(name, address)` in the unit.
    fn module_with(sequences: &[&[(u64, u64, bool)]], variables: &[(&str, u64)]) -> Vec<u8> {
        use gimli::write::{
            Address, AttributeValue, DwarfUnit, EndianVec, Expression, LineProgram, LineString,
            Sections,
        };
        let mut wasm = wat::parse_str(
            r#"(module
                (func $a (result i32) i32.const 1 i32.const 2 i32.add)
                (func $b nop nop nop nop nop nop nop nop))"#,
        )
        .expect("wat");
        let encoding = gimli::Encoding {
            format: gimli::Format::Dwarf32,
            version: 5,
            address_size: 4,
        };
        let mut dwarf = DwarfUnit::new(encoding);
        let mut program = LineProgram::new(
            encoding,
            gimli::LineEncoding::default(),
            LineString::String(b"/src".to_vec()),
            None,
            LineString::String(b"app.c".to_vec()),
            None,
        );
        let dir = program.default_directory();
        let file = program.add_file(LineString::String(b"app.c".to_vec()), dir, None);
        for rows in sequences {
            let base = rows[0].0;
            program.begin_sequence(Some(Address::Constant(base)));
            for &(address, line, is_stmt) in *rows {
                let row = program.row();
                row.address_offset = address - base;
                row.file = file;
                row.line = line;
                row.is_statement = is_stmt;
                program.generate_row();
            }
            let last = rows[rows.len() - 1].0;
            program.end_sequence(last - base + 1);
        }
        dwarf.unit.line_program = program;
        let root = dwarf.unit.root();
        for &(name, address) in variables {
            let id = dwarf.unit.add(root, gimli::DW_TAG_variable);
            let entry = dwarf.unit.get_mut(id);
            entry.set(
                gimli::DW_AT_name,
                AttributeValue::String(name.as_bytes().to_vec()),
            );
            let mut location = Expression::new();
            location.op_addr(Address::Constant(address));
            entry.set(gimli::DW_AT_location, AttributeValue::Exprloc(location));
        }
        let mut sections = Sections::new(EndianVec::new(LittleEndian));
        dwarf.write(&mut sections).expect("write DWARF");
        sections
            .for_each(|id, data| -> Result<(), ()> {
                if !data.slice().is_empty() {
                    custom_section(&mut wasm, id.name(), data.slice());
                }
                Ok(())
            })
            .expect("sections");
        wasm
    }

    fn code_start(wasm: &[u8]) -> u32 {
        ModuleInfo::parse(wasm)
            .expect("parse")
            .dwarf_sections()
            .code_start()
            .expect("code section")
    }

    #[test]
    fn dwarf_addresses_count_from_the_code_section_contents() {
        // Function $a's body starts 1 byte into the section contents (after the count).
        let wasm = module_with_lines(&[&[
            (1, 10, true),
            (4, 11, true),
            (6, 11, false),
            (8, 11, true),
            (9, 12, true),
        ]]);
        let start = code_start(&wasm);
        let table = LineTable::parse(&wasm);
        assert_eq!(table.problem(), None);
        assert_eq!(table.line_start(start + 1), Some(("/src/app.c", 10)));
        assert_eq!(table.line_start(start + 4), Some(("/src/app.c", 11)));
        // Same line again (and a non-statement row) is not a new start.
        assert_eq!(table.line_start(start + 6), None);
        assert_eq!(table.line_start(start + 8), None);
        assert_eq!(table.line_start(start + 9), Some(("/src/app.c", 12)));
        assert_eq!(
            table.line_start(4),
            None,
            "raw DWARF addresses are not module offsets"
        );
    }

    #[test]
    fn dropped_code_sequences_are_ignored() {
        // A sequence at 0 (old tombstone) and one past the module (wasm-ld's -1 tombstone).
        let wasm = module_with_lines(&[
            &[(0, 50, true), (3, 51, true)],
            &[(0xffff_fff0, 60, true)],
            &[(1, 5, true)],
        ]);
        let start = code_start(&wasm);
        let table = LineTable::parse(&wasm);
        assert_eq!(table.line_start(start), None);
        assert_eq!(table.line_start(start + 3), None);
        assert_eq!(table.line_start(start + 1), Some(("/src/app.c", 5)));
    }

    #[test]
    fn modules_without_or_with_broken_dwarf() {
        let plain = wat::parse_str("(module (func nop))").expect("wat");
        let table = LineTable::parse(&plain);
        assert!(table.is_empty());
        assert_eq!(table.problem(), None);

        let mut broken = plain.clone();
        custom_section(&mut broken, ".debug_info", &[0xff, 0xff, 0xff, 0xff, 0x01]);
        custom_section(&mut broken, ".debug_line", &[1, 2, 3]);
        let table = LineTable::parse(&broken);
        assert!(table.is_empty());
        assert!(table.problem().is_some());

        assert!(LineTable::parse(b"not wasm").problem().is_some());
        assert!(LineTable::parse(&[]).is_empty());
        // Truncating a module with DWARF anywhere never panics.
        let good = module_with_lines(&[&[(1, 10, true), (4, 11, true)]]);
        for len in 0..good.len() {
            let _ = LineTable::parse(&good[..len]);
        }
    }

    #[test]
    fn the_table_is_read_from_the_sections_the_module_parse_found() {
        let wasm = module_with_lines(&[&[(1, 10, true), (4, 11, true)]]);
        let info = ModuleInfo::parse(&wasm).expect("parse");
        let sections = info.dwarf_sections();
        assert!(sections.has_debug_info());
        let table = LineTable::read(&wasm, sections);
        assert_eq!(table.problem(), None);
        let start = code_start(&wasm);
        assert_eq!(table.line_start(start + 4), Some(("/src/app.c", 11)));
        // Bytes other than the ones parsed (here cut short) are refused, not read past.
        let short = LineTable::read(&wasm[..wasm.len() - 1], sections);
        assert!(short.is_empty());
        assert!(short.problem().is_some());
    }

    #[test]
    fn lines_of_a_file_start_at_their_lowest_offset() {
        let wasm = module_with_lines(&[&[
            (1, 10, true),
            (4, 11, true),
            (6, 10, true),
            (7, 12, false),
            (9, 13, true),
        ]]);
        let start = code_start(&wasm);
        let table = LineTable::parse(&wasm);
        let lines = table.lines_in(Some("app.c"));
        assert_eq!(
            lines.into_iter().collect::<Vec<_>>(),
            [(10, start + 1), (11, start + 4), (13, start + 9)],
            "a line met twice keeps its first start; non-statement rows start nothing"
        );
        assert_eq!(table.lines_in(None).len(), 3);
        assert!(table.lines_in(Some("other.c")).is_empty());
    }

    #[test]
    fn static_variables_are_found_by_name() {
        let wasm = module_with(&[&[(1, 10, true)]], &[("g_counter", 0x1234), ("COUNT", 8)]);
        let info = ModuleInfo::parse(&wasm).expect("parse");
        let sections = info.dwarf_sections();
        assert_eq!(
            static_address(&wasm, sections, "g_counter"),
            Ok(Some(0x1234))
        );
        assert_eq!(static_address(&wasm, sections, "COUNT"), Ok(Some(8)));
        assert_eq!(static_address(&wasm, sections, "g_count"), Ok(None));
        assert!(static_address(&wasm[..wasm.len() - 1], sections, "COUNT").is_err());
    }
}
