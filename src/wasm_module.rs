//! One core Wasm module as the debugger reads it: where each function's body and first
//! instruction lie, function and module names, imported functions, the function the program
//! starts in, what a module a component build adds is for, which functions a call can reach,
//! and where the DWARF custom sections lie. [`ModuleInfo`] also keeps each function's control
//! structure ([`crate::control_flow`]), decoded on the first query into that function, and finds
//! and decodes the instruction at a pc for the analyses that judge it: control flow, traps
//! ([`crate::traps`]), memory accesses ([`crate::memory_access`]) and disassembly
//! ([`crate::disassembly`]).
//!
//! Every offset is a `u32` relative to the start of the module binary, the same "module-relative
//! offset" Wasmtime reports as a frame's pc and LLDB uses as the code address within a module.
//!
//! [`ModuleInfo::parse`] only records small per-module metadata (body ranges, signatures, names,
//! which functions can be called indirectly, section ranges), so it stays fast on large modules.
//! The module bytes are passed to every query rather than stored, because the caller already owns
//! a copy; they must be the bytes the module was parsed from. Malformed input of any kind yields a
//! [`BytecodeError`], never a panic.

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::sync::OnceLock;

use crate::control_flow::{self, Callees, Decoded, FunctionFlow, InstrKind, Operators};
use crate::dwarf::DwarfSections;

use wasmparser::{
    CompositeInnerType, ElementItems, ElementKind, Encoding, ExternalKind, FuncType, KnownCustom,
    Name, Operator, OperatorsReader, Parser, Payload, TableInit, TypeRef,
};

/// Why a query could not be answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BytecodeError {
    /// The bytes are not a well-formed core module (message and offset from the decoder).
    Malformed { offset: u64, message: String },
    /// Well-formed, but not something this module handles (e.g. a component).
    Unsupported(&'static str),
    /// The binary is too large for 32-bit offsets.
    TooLarge,
    /// No function has this index.
    NoSuchFunction(u32),
    /// The function is imported, so it has no body in this module.
    ImportedFunction(u32),
    /// The pc lies outside every function body.
    NotInFunction(u32),
    /// The pc is inside a function body but not at the start of an instruction.
    NotInstructionBoundary(u32),
    /// The instruction at the pc is the function's final `end`; nothing follows it.
    NoNextInstruction(u32),
    /// The bytes passed to a query do not cover a body recorded by [`ModuleInfo::parse`]
    /// (they are not the bytes the module was parsed from).
    BytesMismatch,
}

impl fmt::Display for BytecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed { offset, message } => {
                write!(f, "malformed module at offset {offset:#x}: {message}")
            }
            Self::Unsupported(what) => write!(f, "unsupported: {what}"),
            Self::TooLarge => f.write_str("module too large for 32-bit offsets"),
            Self::NoSuchFunction(i) => write!(f, "no function with index {i}"),
            Self::ImportedFunction(i) => write!(f, "function {i} is imported and has no body"),
            Self::NotInFunction(pc) => write!(f, "offset {pc:#x} is not inside a function body"),
            Self::NotInstructionBoundary(pc) => {
                write!(f, "offset {pc:#x} is not the start of an instruction")
            }
            Self::NoNextInstruction(pc) => {
                write!(f, "offset {pc:#x} is the function's final instruction")
            }
            Self::BytesMismatch => f.write_str("bytes do not match the parsed module"),
        }
    }
}

impl std::error::Error for BytecodeError {}

impl From<wasmparser::BinaryReaderError> for BytecodeError {
    fn from(e: wasmparser::BinaryReaderError) -> Self {
        Self::Malformed {
            offset: e.offset(),
            message: e.message().to_string(),
        }
    }
}

fn to_u32(offset: u64) -> Result<u32, BytecodeError> {
    u32::try_from(offset).map_err(|_| BytecodeError::TooLarge)
}

/// Where a defined function's body lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Body {
    /// The body's size prefix: where DWARF's `low_pc` (and so LLDB's function address) points.
    header: u32,
    /// First byte of the body proper (its locals declarations), after the size prefix.
    start: u32,
    /// First instruction.
    entry: u32,
    /// One past the final `end`.
    end: u32,
}

/// The start of the LEB128 size prefix that ends just before `body_start`: its last byte has the
/// continuation bit clear, the (at most four) bytes before it have it set.
fn size_prefix_start(bytes: &[u8], body_start: u64) -> u64 {
    let mut start = body_start.saturating_sub(1);
    while start > 0
        && body_start - start < 5
        && usize::try_from(start - 1)
            .ok()
            .and_then(|i| bytes.get(i))
            .is_some_and(|b| b & 0x80 != 0)
    {
        start -= 1;
    }
    start
}

/// Per-module metadata needed to answer pc queries. See the module docs.
#[derive(Debug, Clone, Default)]
pub struct ModuleInfo {
    module_name: Option<String>,
    dwarf: DwarfSections,
    num_imported_funcs: u32,
    /// Signature id of every function (imports first), `None` if its type is not a function
    /// type. Equal ids mean structurally equal signatures.
    func_sig: Vec<Option<u32>>,
    /// Signature id of every type index.
    type_sig: Vec<Option<u32>>,
    /// (params, results) of every type index that is a function type.
    type_arity: Vec<Option<(u32, u32)>>,
    /// Type index of every function, imports first.
    func_type: Vec<u32>,
    /// Globals the module imports (they come first in the global index space).
    num_imported_globals: u32,
    /// The `i32.const` initial value of each defined global that has one.
    global_init: Vec<Option<u64>>,
    /// The global the name section calls `__stack_pointer` (LLVM's shadow stack pointer).
    stack_pointer_global: Option<u32>,
    /// Defined functions in code-section order, which is also ascending offset order.
    bodies: Vec<Body>,
    /// Sorted by function index, unique.
    func_names: Vec<(u32, Box<str>)>,
    /// Functions that may end up in a table or a `funcref` at run time: sorted, unique.
    referenced: Vec<u32>,
    has_element_section: bool,
    /// What the active element segments put in table 0 at instantiation: (first slot, function
    /// indices). C, C++ and Rust code never change the table afterwards; `call_indirect` and
    /// function pointers are slots in it.
    table0_segments: Vec<(u32, Vec<Option<u32>>)>,
    start_func: Option<u32>,
    start_export: Option<u32>,
    run_export: Option<u32>,
    /// `module.field` of each imported function, in function index order.
    import_names: Vec<(Box<str>, Box<str>)>,
    /// What the module is for inside a component, when its exports or imports say so.
    component_role: Option<&'static str>,
    /// Each defined function's control structure, decoded on its first query.
    flows: Vec<OnceLock<Result<FunctionFlow, BytecodeError>>>,
}

/// One decoded instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instr {
    pub offset: u32,
    /// Offset just past this instruction's encoding.
    pub next: u32,
    pub func_index: u32,
    /// Readable text, as in [`ModuleInfo::disassemble`].
    pub text: String,
    pub kind: InstrKind,
}

impl ModuleInfo {
    /// Reads the module's sections without decoding any function body's operators.
    pub fn parse(bytes: &[u8]) -> Result<ModuleInfo, BytecodeError> {
        u32::try_from(bytes.len()).map_err(|_| BytecodeError::TooLarge)?;
        let mut info = ModuleInfo::default();
        let mut sig_ids: HashMap<FuncType, u32> = HashMap::new();
        let mut import_types: Vec<u32> = Vec::new();
        let mut defined_types: Vec<u32> = Vec::new();
        for payload in Parser::new(0).parse_all(bytes) {
            match payload? {
                Payload::Version { encoding, .. } if encoding != Encoding::Module => {
                    return Err(BytecodeError::Unsupported("components"));
                }
                Payload::TypeSection(reader) => {
                    for group in reader {
                        for sub in group?.into_types() {
                            let sig = match sub.composite_type.inner {
                                CompositeInnerType::Func(ty) => {
                                    info.type_arity.push(Some((
                                        u32::try_from(ty.params().len()).unwrap_or(u32::MAX),
                                        u32::try_from(ty.results().len()).unwrap_or(u32::MAX),
                                    )));
                                    let next_id = u32::try_from(sig_ids.len())
                                        .map_err(|_| BytecodeError::TooLarge)?;
                                    Some(*sig_ids.entry(ty).or_insert(next_id))
                                }
                                _ => {
                                    info.type_arity.push(None);
                                    None
                                }
                            };
                            info.type_sig.push(sig);
                        }
                    }
                }
                Payload::ImportSection(reader) => {
                    for import in reader.into_imports() {
                        let import = import?;
                        // wit-component's fixup module fills the shim's table of lowered imports.
                        if matches!(import.ty, TypeRef::Table(_)) && import.name == "$imports" {
                            info.component_role = Some("component-fixups");
                        }
                        if let TypeRef::Global(_) = import.ty {
                            info.num_imported_globals += 1;
                        }
                        if let TypeRef::Func(t) | TypeRef::FuncExact(t) = import.ty {
                            import_types.push(t);
                            info.import_names
                                .push((import.module.into(), import.name.into()));
                        }
                    }
                }
                Payload::FunctionSection(reader) => {
                    for ty in reader {
                        defined_types.push(ty?);
                    }
                }
                Payload::TableSection(reader) => {
                    for table in reader {
                        if let TableInit::Expr(expr) = table?.init {
                            collect_ref_funcs(expr.get_operators_reader(), &mut info.referenced)?;
                        }
                    }
                }
                Payload::GlobalSection(reader) => {
                    for global in reader {
                        let global = global?;
                        collect_ref_funcs(
                            global.init_expr.get_operators_reader(),
                            &mut info.referenced,
                        )?;
                        info.global_init.push(
                            match global.init_expr.get_operators_reader().read() {
                                Ok(Operator::I32Const { value }) => Some(u64::from(value as u32)),
                                _ => None,
                            },
                        );
                    }
                }
                Payload::ExportSection(reader) => {
                    for export in reader {
                        let export = export?;
                        if export.kind == ExternalKind::Table && export.name == "$imports" {
                            info.component_role = Some("component-shim");
                        }
                        if export.name == "fd_write" && info.component_role.is_none() {
                            info.component_role = Some("wasi-preview1-adapter");
                        }
                        if matches!(export.kind, ExternalKind::Func | ExternalKind::FuncExact) {
                            info.referenced.push(export.index);
                            if export.name == "_start" {
                                info.start_export = Some(export.index);
                            } else if export.name.starts_with("wasi:cli/run@")
                                && export.name.ends_with("#run")
                            {
                                info.run_export = Some(export.index);
                            }
                        }
                    }
                }
                Payload::StartSection { func, .. } => info.start_func = Some(func),
                Payload::ElementSection(reader) => {
                    info.has_element_section = true;
                    for element in reader {
                        let element = element?;
                        let first_slot = match &element.kind {
                            ElementKind::Active {
                                table_index,
                                offset_expr,
                            } if table_index.unwrap_or(0) == 0 => {
                                let mut ops = offset_expr.get_operators_reader();
                                match ops.read() {
                                    Ok(Operator::I32Const { value }) => u32::try_from(value).ok(),
                                    _ => None,
                                }
                            }
                            _ => None,
                        };
                        match element.items {
                            ElementItems::Functions(funcs) => {
                                let mut slots = Vec::new();
                                for func in funcs {
                                    let func = func?;
                                    info.referenced.push(func);
                                    slots.push(Some(func));
                                }
                                if let Some(first) = first_slot {
                                    info.table0_segments.push((first, slots));
                                }
                            }
                            ElementItems::Expressions(_, exprs) => {
                                let mut slots = Vec::new();
                                for expr in exprs {
                                    let expr = expr?;
                                    collect_ref_funcs(
                                        expr.get_operators_reader(),
                                        &mut info.referenced,
                                    )?;
                                    slots.push(match expr.get_operators_reader().read() {
                                        Ok(Operator::RefFunc { function_index }) => {
                                            Some(function_index)
                                        }
                                        _ => None,
                                    });
                                }
                                if let Some(first) = first_slot {
                                    info.table0_segments.push((first, slots));
                                }
                            }
                        }
                    }
                }
                Payload::CodeSectionStart {
                    count,
                    size,
                    unchecked_range,
                } => {
                    info.dwarf.set_code_start(to_u32(unchecked_range.start)?);
                    // The count is untrusted: a body takes at least 3 bytes (size, locals count,
                    // `end`), so the section size bounds how many can really follow.
                    let plausible = count.min(size / 3);
                    info.bodies.reserve(usize::try_from(plausible).unwrap_or(0));
                }
                Payload::CodeSectionEntry(body) => {
                    let range = body.range();
                    let entry = body.get_binary_reader_for_operators()?.original_position();
                    info.bodies.push(Body {
                        header: to_u32(size_prefix_start(bytes, range.start))?,
                        start: to_u32(range.start)?,
                        entry: to_u32(entry)?,
                        end: to_u32(range.end)?,
                    });
                }
                Payload::CustomSection(section) => {
                    if section.name() == "name" {
                        if let KnownCustom::Name(reader) = section.as_known() {
                            info.read_names(reader);
                        }
                    } else {
                        let data = section.data_range();
                        info.dwarf
                            .note_section(section.name(), to_u32(data.start)?..to_u32(data.end)?);
                    }
                }
                _ => {}
            }
        }
        if defined_types.len() != info.bodies.len() {
            return Err(BytecodeError::Malformed {
                offset: bytes.len() as u64,
                message: "function and code section have inconsistent lengths".to_string(),
            });
        }
        info.num_imported_funcs =
            u32::try_from(import_types.len()).map_err(|_| BytecodeError::TooLarge)?;
        u32::try_from(import_types.len().saturating_add(defined_types.len()))
            .map_err(|_| BytecodeError::TooLarge)?;
        info.func_sig = import_types
            .iter()
            .chain(defined_types.iter())
            .map(|&t| info.type_sig.get(t as usize).copied().flatten())
            .collect();
        info.func_type = import_types
            .iter()
            .chain(defined_types.iter())
            .copied()
            .collect();
        info.referenced.sort_unstable();
        info.referenced.dedup();
        info.func_names.sort_by_key(|(index, _)| *index);
        info.func_names.dedup_by_key(|(index, _)| *index);
        info.flows = info.bodies.iter().map(|_| OnceLock::new()).collect();
        Ok(info)
    }

    /// Names are a debugging aid, so a damaged name section keeps what was read before the
    /// damage instead of failing the whole module.
    fn read_names(&mut self, reader: wasmparser::NameSectionReader<'_>) {
        for name in reader {
            match name {
                Ok(Name::Module { name, .. }) => self.module_name = Some(name.to_string()),
                Ok(Name::Function(map)) => {
                    for naming in map {
                        let Ok(naming) = naming else { break };
                        self.func_names.push((naming.index, naming.name.into()));
                    }
                }
                Ok(Name::Global(map)) => {
                    for naming in map {
                        let Ok(naming) = naming else { break };
                        if naming.name == "__stack_pointer" {
                            self.stack_pointer_global = Some(naming.index);
                        }
                    }
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
    }

    /// The module name from the `name` custom section.
    pub fn name(&self) -> Option<&str> {
        self.module_name.as_deref()
    }

    /// Whether the module carries DWARF (a `.debug_info` custom section).
    pub fn has_dwarf(&self) -> bool {
        self.dwarf.has_debug_info()
    }

    /// Where the module's DWARF sections lie, for [`crate::dwarf::LineTable::read`].
    pub fn dwarf_sections(&self) -> &DwarfSections {
        &self.dwarf
    }

    pub fn num_imported_funcs(&self) -> u32 {
        self.num_imported_funcs
    }

    /// (params, results) of function `func_index`'s type.
    pub fn func_arity(&self, func_index: u32) -> Option<(u32, u32)> {
        let ty = *self.func_type.get(usize::try_from(func_index).ok()?)?;
        self.type_arity(ty)
    }

    /// (params, results) of type `type_index`, if it is a function type.
    pub fn type_arity(&self, type_index: u32) -> Option<(u32, u32)> {
        *self.type_arity.get(usize::try_from(type_index).ok()?)?
    }

    /// LLVM's shadow stack pointer and its value at instantiation: every address derived from it
    /// lies in the stack, below that value (the stack grows down from it).
    pub fn stack_pointer(&self) -> Option<(u32, u64)> {
        let global = self.stack_pointer_global?;
        let defined = global.checked_sub(self.num_imported_globals)?;
        let initial = (*self.global_init.get(usize::try_from(defined).ok()?)?)?;
        Some((global, initial))
    }

    /// Imported plus defined functions.
    pub fn num_funcs(&self) -> u32 {
        // parse() checked that the sum fits.
        u32::try_from(self.func_sig.len()).unwrap_or(u32::MAX)
    }

    /// The function's name from the `name` custom section.
    pub fn func_name(&self, func_index: u32) -> Option<&str> {
        let i = self
            .func_names
            .binary_search_by_key(&func_index, |(index, _)| *index)
            .ok()?;
        self.func_names.get(i).map(|(_, name)| &**name)
    }

    /// The function where the program starts: the start-section function, else the `_start`
    /// export (WASI command), else a `wasi:cli/run@...#run` export (component main module).
    /// Only defined functions qualify, since only they have an entry pc.
    pub fn entry_func(&self) -> Option<u32> {
        [self.start_func, self.start_export, self.run_export]
            .into_iter()
            .flatten()
            .find(|&f| self.body(f).is_some())
    }

    fn body(&self, func_index: u32) -> Option<&Body> {
        let defined = func_index.checked_sub(self.num_imported_funcs)?;
        self.bodies.get(defined as usize)
    }

    fn body_or_err(&self, func_index: u32) -> Result<&Body, BytecodeError> {
        if func_index < self.num_imported_funcs {
            return Err(BytecodeError::ImportedFunction(func_index));
        }
        self.body(func_index)
            .ok_or(BytecodeError::NoSuchFunction(func_index))
    }

    /// The defined function whose body (locals declarations included) contains `pc`.
    pub fn func_containing(&self, pc: u32) -> Option<u32> {
        let after = self.bodies.partition_point(|b| b.start <= pc);
        let defined = after.checked_sub(1)?;
        let body = self.bodies.get(defined)?;
        if pc >= body.end {
            return None;
        }
        self.num_imported_funcs
            .checked_add(u32::try_from(defined).ok()?)
    }

    /// Offset of the first instruction of a defined function; `None` for imports.
    pub fn func_entry(&self, func_index: u32) -> Option<u32> {
        self.body(func_index).map(|b| b.entry)
    }

    /// The function in slot `index` of table 0 as the module's active element segments fill it
    /// (a C function pointer's value); `None` for an empty or unknown slot.
    pub fn table_function(&self, index: u32) -> Option<u32> {
        self.table0_segments
            .iter()
            .rev()
            .find_map(|(first, funcs)| {
                let at = index.checked_sub(*first)?;
                *funcs.get(usize::try_from(at).ok()?)?
            })
    }

    /// The function a direct `call` at `pc` calls; `None` for any other instruction.
    pub fn direct_callee(&self, bytes: &[u8], pc: u32) -> Option<u32> {
        match self.decode(bytes, pc).ok()?.2.op {
            Operator::Call { function_index } => Some(function_index),
            _ => None,
        }
    }

    /// A name for a module a component build adds (`component-shim`, `component-fixups`,
    /// `wasi-preview1-adapter`), recognised by what it imports or exports.
    pub fn component_role(&self) -> Option<&'static str> {
        self.component_role
    }

    /// The module and field names of an imported function.
    pub fn import_name(&self, func_index: u32) -> Option<(&str, &str)> {
        let (module, field) = self.import_names.get(usize::try_from(func_index).ok()?)?;
        Some((module, field))
    }

    /// The defined function whose start address ([`ModuleInfo::func_start`]) is exactly `pc`.
    pub fn func_starting_at(&self, pc: u32) -> Option<u32> {
        let defined = self.bodies.binary_search_by_key(&pc, |b| b.header).ok()?;
        self.num_imported_funcs
            .checked_add(u32::try_from(defined).ok()?)
    }

    /// Bytes of function bodies, the part of the module Wasmtime compiles to machine code.
    pub fn code_size(&self) -> u32 {
        self.bodies
            .iter()
            .map(|b| b.end.saturating_sub(b.header))
            .fold(0u32, u32::saturating_add)
    }

    /// Where the function starts for DWARF and LLDB: its body's size prefix. `None` for imports.
    pub fn func_start(&self, func_index: u32) -> Option<u32> {
        self.body(func_index).map(|b| b.header)
    }

    /// The function body: from its locals declarations (just after the body-size prefix) to one
    /// past its final `end`. `None` for imports.
    pub fn func_body_range(&self, func_index: u32) -> Option<Range<u32>> {
        self.body(func_index).map(|b| b.start..b.end)
    }

    /// A defined function's instructions, the first at module offset `body.entry`.
    fn code<'a>(&self, bytes: &'a [u8], body: &Body) -> Result<&'a [u8], BytecodeError> {
        bytes
            .get(body.entry as usize..body.end as usize)
            .ok_or(BytecodeError::BytesMismatch)
    }

    /// The function's control structure, decoded on first use and kept.
    pub(crate) fn flow(
        &self,
        bytes: &[u8],
        func_index: u32,
    ) -> Result<&FunctionFlow, BytecodeError> {
        let body = self.body_or_err(func_index)?;
        let code = self.code(bytes, body)?;
        let cell = usize::try_from(func_index - self.num_imported_funcs)
            .ok()
            .and_then(|defined| self.flows.get(defined))
            .ok_or(BytecodeError::NoSuchFunction(func_index))?;
        cell.get_or_init(|| FunctionFlow::decode(code, body.entry))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Decodes the instruction at `pc`, checking that `pc` starts one; with the index and
    /// control structure of the function it is in.
    pub(crate) fn decode<'a>(
        &self,
        bytes: &'a [u8],
        pc: u32,
    ) -> Result<(u32, &FunctionFlow, Decoded<'a>), BytecodeError> {
        let func_index = self
            .func_containing(pc)
            .ok_or(BytecodeError::NotInFunction(pc))?;
        let flow = self.flow(bytes, func_index)?;
        flow.index_of(pc)?;
        let body = self.body_or_err(func_index)?;
        let decoded = control_flow::decode_at(self.code(bytes, body)?, body.entry, pc)?;
        Ok((func_index, flow, decoded))
    }

    /// Every operator of a defined function, in code order.
    pub(crate) fn operators<'a>(
        &self,
        bytes: &'a [u8],
        func_index: u32,
    ) -> Result<Operators<'a>, BytecodeError> {
        let body = self.body_or_err(func_index)?;
        Ok(Operators::new(self.code(bytes, body)?, body.entry))
    }

    /// Decodes the instruction that starts at `pc`.
    pub fn instruction_at(&self, bytes: &[u8], pc: u32) -> Result<Instr, BytecodeError> {
        let (func_index, flow, decoded) = self.decode(bytes, pc)?;
        Ok(Instr {
            offset: decoded.offset,
            next: decoded.next,
            func_index,
            text: self.instr_text(&decoded.op),
            kind: InstrKind::of(&decoded.op, flow.nesting_at(pc)?),
        })
    }

    /// Entries of the defined functions an indirect call through `type_index` may reach: same
    /// signature and referenceable. A valid module can only put functions into tables and
    /// `funcref`s that appear in an element segment, an export or a global/table initialiser
    /// (`ref.func` in code must name one of those), so that set is collected at parse time.
    /// Without any element section every function of the signature is assumed reachable.
    fn indirect_callees(&self, type_index: u32) -> Vec<u32> {
        let Some(sig) = self.type_sig.get(type_index as usize).copied().flatten() else {
            return Vec::new();
        };
        let imported = self.num_imported_funcs as usize;
        self.bodies
            .iter()
            .enumerate()
            .filter(|&(defined, _)| {
                let func_index = imported.saturating_add(defined);
                self.func_sig.get(func_index).copied().flatten() == Some(sig)
                    && (!self.has_element_section
                        || u32::try_from(func_index)
                            .is_ok_and(|f| self.referenced.binary_search(&f).is_ok()))
            })
            .map(|(_, body)| body.entry)
            .collect()
    }
}

impl Callees for ModuleInfo {
    fn entry(&self, func_index: u32) -> Option<u32> {
        self.func_entry(func_index)
    }

    fn indirect(&self, type_index: u32) -> Vec<u32> {
        self.indirect_callees(type_index)
    }
}

/// Collects `ref.func` indices from a constant expression.
fn collect_ref_funcs(reader: OperatorsReader<'_>, out: &mut Vec<u32>) -> Result<(), BytecodeError> {
    for op in reader {
        if let Operator::RefFunc { function_index } = op? {
            out.push(function_index);
        }
    }
    Ok(())
}

/// Test helpers shared by the unit tests of the modules that analyse a [`ModuleInfo`].
#[cfg(test)]
pub(crate) mod testing {
    use super::ModuleInfo;
    use wasmparser::{Operator, Parser, Payload};

    /// Every defined function's operators with their offsets, read independently of the code
    /// under test.
    pub fn code_ops(bytes: &[u8]) -> Vec<Vec<(u32, Operator<'_>)>> {
        let mut funcs = Vec::new();
        for payload in Parser::new(0).parse_all(bytes) {
            if let Payload::CodeSectionEntry(body) = payload.unwrap() {
                let ops = body
                    .get_operators_reader()
                    .unwrap()
                    .into_iter_with_offsets()
                    .map(|r| r.map(|(op, off)| (off as u32, op)).unwrap())
                    .collect();
                funcs.push(ops);
            }
        }
        funcs
    }

    /// Offset of the `n`th (0-based) operator in defined function `func` matching `pred`.
    pub fn nth(
        ops: &[Vec<(u32, Operator<'_>)>],
        func: usize,
        n: usize,
        pred: impl Fn(&Operator<'_>) -> bool,
    ) -> u32 {
        ops[func]
            .iter()
            .filter(|(_, op)| pred(op))
            .nth(n)
            .expect("operator not found")
            .0
    }

    /// Offset of the operator following the one at `pc` in code order.
    pub fn after(ops: &[Vec<(u32, Operator<'_>)>], func: usize, pc: u32) -> u32 {
        let i = ops[func].iter().position(|(off, _)| *off == pc).unwrap();
        ops[func][i + 1].0
    }

    pub fn build(wat: &str) -> (Vec<u8>, ModuleInfo) {
        let bytes = wat::parse_str(wat).unwrap();
        let info = ModuleInfo::parse(&bytes).unwrap();
        (bytes, info)
    }

    /// Calls between defined functions, to an import, and tail calls of both.
    pub const CALLS: &str = r#"(module $calls
        (import "env" "ext" (func $ext (param i32) (result i32)))
        (func $fact (param i32) (result i32)
          (local i64 i32)
          local.get 0
          call $ext
          call $fact)
        (func $caller (result i32)
          i32.const 5
          call $fact)
        (func $tail_defined (param i32) (result i32)
          local.get 0
          return_call $fact)
        (func $tail_import (param i32) (result i32)
          local.get 0
          return_call $ext))"#;
}

#[cfg(test)]
mod tests {
    use super::testing::{CALLS, after, build, code_ops, nth};
    use super::*;

    #[test]
    fn function_start_is_the_size_prefix() {
        let (bytes, info) = build(CALLS);
        let first = info.num_imported_funcs();
        for func in first..info.num_funcs() {
            let start = info.func_start(func).unwrap();
            let body = info.func_body_range(func).unwrap();
            assert!(start < body.start && body.start - start <= 5);
            // The prefix encodes the body's length.
            let mut reader =
                wasmparser::BinaryReader::new(&bytes[start as usize..], u64::from(start));
            assert_eq!(reader.read_var_u32().unwrap(), body.end - body.start);
            assert_eq!(info.func_starting_at(start), Some(func));
        }
        assert_eq!(info.func_starting_at(0), None);
    }

    #[test]
    fn func_containing_and_boundaries() {
        let (bytes, info) = build(CALLS);
        let ops = code_ops(&bytes);
        for (defined, func_ops) in ops.iter().enumerate() {
            let func = defined as u32 + 1;
            for (off, _) in func_ops {
                assert_eq!(info.func_containing(*off), Some(func));
            }
            let range = info.func_body_range(func).unwrap();
            assert_eq!(info.func_containing(range.start), Some(func));
            assert_eq!(info.func_containing(range.end - 1), Some(func));
        }
        assert_eq!(info.func_containing(0), None);
        assert_eq!(info.func_containing(bytes.len() as u32 + 10), None);

        // Inside fact's locals declarations: in the function, but not an instruction.
        let start = info.func_body_range(1).unwrap().start;
        assert_eq!(
            info.instruction_at(&bytes, start),
            Err(BytecodeError::NotInstructionBoundary(start))
        );
        // Inside an instruction's immediate (call's function index).
        let call = nth(&ops, 0, 0, |op| matches!(op, Operator::Call { .. }));
        assert_eq!(
            info.step_targets(&bytes, call + 1),
            Err(BytecodeError::NotInstructionBoundary(call + 1))
        );
        assert_eq!(
            info.instruction_at(&bytes, 0),
            Err(BytecodeError::NotInFunction(0))
        );

        let instr = info.instruction_at(&bytes, call).unwrap();
        assert_eq!(instr.func_index, 1);
        assert_eq!(instr.kind, InstrKind::Call);
        assert_eq!(instr.next, after(&ops, 0, call));
        assert_eq!(
            info.next_instruction(&bytes, call).unwrap(),
            after(&ops, 0, call)
        );
    }

    #[test]
    fn dwarf_detection() {
        let (_, plain) = build("(module (func))");
        assert!(!plain.has_dwarf());
        let (_, with_dwarf) = build(r#"(module (@custom ".debug_info" "\00\01") (func))"#);
        assert!(with_dwarf.has_dwarf());
    }

    #[test]
    fn entry_function() {
        let (_, info) =
            build(r#"(module (import "env" "f" (func)) (func $main) (func (export "_start")) )"#);
        assert_eq!(info.entry_func(), Some(2));
        let (_, started) = build("(module (func) (func) (start 1))");
        assert_eq!(started.entry_func(), Some(1));
        let (_, run) = build(r#"(module (func) (func (export "wasi:cli/run@0.2.3#run")))"#);
        assert_eq!(run.entry_func(), Some(1));
        let (_, none) = build(r#"(module (import "env" "f" (func)) (start 0) (func))"#);
        assert_eq!(none.entry_func(), None);
    }

    #[test]
    fn rejects_garbage_and_components() {
        assert!(ModuleInfo::parse(b"").is_err());
        assert!(ModuleInfo::parse(b"\0asm").is_err());
        let component = [0, b'a', b's', b'm', 0x0d, 0, 1, 0];
        assert!(ModuleInfo::parse(&component).is_err());
    }

    /// xorshift64*: deterministic, dependency-free pseudo-random bytes.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }
    }

    /// Runs every query over every plausible pc; only panics matter here.
    fn exercise(bytes: &[u8], other_bytes: &[u8]) {
        let Ok(info) = ModuleInfo::parse(bytes) else {
            return;
        };
        let _ = (info.name(), info.has_dwarf(), info.entry_func());
        for f in 0..info.num_funcs().saturating_add(2) {
            let _ = (
                info.func_name(f),
                info.func_entry(f),
                info.func_body_range(f),
            );
            let _ = info.instruction_boundaries(bytes, f);
            let _ = info.disassemble(bytes, f);
            let _ = info.disassemble(other_bytes, f);
        }
        for pc in 0..(bytes.len() as u32).saturating_add(2) {
            let _ = info.func_containing(pc);
            let _ = info.instruction_at(bytes, pc);
            let _ = info.next_instruction(bytes, pc);
            let _ = info.step_targets(bytes, pc);
            let _ = info.step_targets(other_bytes, pc);
            let _ = info.trap_reason(bytes, pc);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let valid = wat::parse_str(
            r#"(module $m
                 (type $t (func (param i32) (result i32)))
                 (import "env" "ext" (func $ext (type $t)))
                 (memory 1)
                 (table 2 funcref)
                 (tag $e)
                 (elem (i32.const 0) func $f $ext)
                 (func $f (type $t)
                   block $b
                     local.get 0
                     br_table 0 1 0
                   end
                   local.get 0
                   if (result i32)
                     local.get 0
                     i32.const 3
                     i32.div_s
                   else
                     local.get 0
                     i32.load offset=4
                   end
                   loop $l
                     local.get 0
                     br_if $l
                   end
                   block $h
                     try_table (catch $e $h)
                       throw $e
                     end
                   end
                   i32.const 0
                   call_indirect (type $t)
                   call $ext
                   return_call $f))"#,
        )
        .unwrap();
        exercise(&valid, &valid);
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut cases = 0;
        // Truncations of the valid module.
        for len in 0..valid.len() {
            exercise(&valid[..len], &valid);
            cases += 1;
        }
        // Single-byte corruptions, queried with both the corrupted and the original bytes.
        for _ in 0..2000 {
            let mut bytes = valid.clone();
            let i = rng.below(bytes.len());
            bytes[i] = rng.next() as u8;
            exercise(&bytes, &valid);
            exercise(&valid, &bytes);
            cases += 1;
        }
        // Random bytes, with and without a valid header.
        for _ in 0..2000 {
            let len = rng.below(64);
            let mut bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            if rng.below(2) == 0 {
                let mut with_header = valid[..8].to_vec();
                with_header.append(&mut bytes);
                bytes = with_header;
            }
            exercise(&bytes, &valid);
            cases += 1;
        }
        assert!(cases > 4000);
    }
}
