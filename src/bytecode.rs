//! Static analysis of one core Wasm module's bytecode: function layout and names, instruction
//! decoding and disassembly, and why an instruction traps. Where an instruction can transfer
//! control (for emulating a step with temporary breakpoints) is decided in
//! [`crate::control_flow`], from each function's control structure, which this module decodes
//! once per function and keeps.
//!
//! Every offset is a `u32` relative to the start of the module binary, the same "module-relative
//! offset" Wasmtime reports as a frame's pc and LLDB uses as the code address within a module.
//!
//! [`ModuleInfo::parse`] only records small per-module metadata (body ranges, signatures, names,
//! which functions can be called indirectly), so it stays fast on large modules. The module bytes
//! are passed to every query rather than stored, because the caller already owns a copy; they
//! must be the bytes the module was parsed from. Malformed input of any kind yields a
//! [`BytecodeError`], never a panic.

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::sync::OnceLock;

use crate::control_flow::{self, Callees, Decoded, FunctionFlow, Operators};

use wasmparser::{
    BlockType, BrTable, Catch, CompositeInnerType, ElementItems, Encoding, ExternalKind, FuncType,
    Handle, HeapType, Ieee32, Ieee64, KnownCustom, MemArg, MemArgTarget, Name, Operator,
    OperatorsReader, Ordering, Parser, Payload, RefType, ResumeTable, TableInit, TryTable, TypeRef,
    V128, ValType,
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
    has_dwarf: bool,
    num_imported_funcs: u32,
    /// Signature id of every function (imports first), `None` if its type is not a function
    /// type. Equal ids mean structurally equal signatures.
    func_sig: Vec<Option<u32>>,
    /// Signature id of every type index.
    type_sig: Vec<Option<u32>>,
    /// Defined functions in code-section order, which is also ascending offset order.
    bodies: Vec<Body>,
    /// Sorted by function index, unique.
    func_names: Vec<(u32, Box<str>)>,
    /// Functions that may end up in a table or a `funcref` at run time: sorted, unique.
    referenced: Vec<u32>,
    has_element_section: bool,
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

/// Coarse control-flow class of an instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstrKind {
    /// Falls through to the next instruction (or traps).
    Plain,
    /// `block`, `loop`, `if`, `try_table`, legacy `try`.
    BlockStart,
    /// `else`, legacy `catch` / `catch_all`: the end of the clause before them.
    Else,
    /// `end` (or legacy `delegate`) of a construct inside the function.
    End,
    /// The `end` that closes the function body.
    FunctionEnd,
    /// `br`, `br_if`, `br_table`, `br_on_*`.
    Branch,
    Return,
    /// `call`, `call_indirect`, `call_ref`.
    Call,
    /// `return_call`, `return_call_indirect`, `return_call_ref`.
    TailCall,
    /// `throw`, `throw_ref`, legacy `rethrow`.
    Throw,
    Unreachable,
}

/// Where execution can be after executing exactly one instruction: the places a debugger must
/// plant temporary breakpoints to emulate a single step.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StepTargets {
    /// Pcs in the same function activation; sorted, unique.
    pub same_frame: Vec<u32>,
    /// Entry pcs of defined functions the instruction may call (one activation deeper); sorted,
    /// unique.
    pub callee_entries: Vec<u32>,
    /// Execution may continue in the caller (or, for exceptions, further out).
    pub leaves_frame: bool,
}

/// The likely cause of a trap, judged from the instruction at the trapping pc.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrapReason {
    Unreachable,
    /// `div_u` / `rem_s` / `rem_u`: only a zero divisor traps.
    IntegerDivideByZero,
    /// `div_s`: a zero divisor or `MIN / -1`.
    IntegerOverflowOrDivideByZero,
    /// Non-saturating float-to-int truncation of NaN or an out-of-range value.
    InvalidConversionToInteger,
    /// Loads, stores, bulk memory, SIMD memory access.
    MemoryOutOfBounds,
    /// Atomic memory access: out of bounds or misaligned.
    AtomicMemoryAccess,
    /// `table.get` / `set` / `copy` / `init` / `fill`.
    TableOutOfBounds,
    /// `call_indirect`: out-of-bounds or null table entry, or signature mismatch.
    IndirectCall,
    /// `call_ref`, struct access, `ref.as_non_null`, ... on a null reference.
    NullReference,
    /// Array access out of bounds (or on a null array).
    ArrayOutOfBounds,
    /// `ref.cast` failed.
    CastFailure,
    /// Anything else, including a stack overflow at a call and pcs that cannot be decoded.
    Unknown,
}

const SIGILL: u8 = 4;
const SIGFPE: u8 = 8;
const SIGSEGV: u8 = 11;

impl TrapReason {
    pub fn description(&self) -> &'static str {
        match self {
            Self::Unreachable => "wasm trap: wasm `unreachable` instruction executed",
            Self::IntegerDivideByZero => "wasm trap: integer divide by zero",
            Self::IntegerOverflowOrDivideByZero => {
                "wasm trap: integer divide by zero or integer overflow"
            }
            Self::InvalidConversionToInteger => {
                "wasm trap: invalid conversion to integer or integer overflow"
            }
            Self::MemoryOutOfBounds => "wasm trap: out of bounds memory access",
            Self::AtomicMemoryAccess => {
                "wasm trap: out of bounds or misaligned atomic memory access"
            }
            Self::TableOutOfBounds => "wasm trap: out of bounds table access",
            Self::IndirectCall => {
                "wasm trap: indirect call to a null or out of bounds table entry, or signature mismatch"
            }
            Self::NullReference => "wasm trap: null reference",
            Self::ArrayOutOfBounds => "wasm trap: out of bounds array access or null array",
            Self::CastFailure => "wasm trap: cast failure",
            Self::Unknown => "wasm trap",
        }
    }

    /// GDB signal number to report the trap with.
    pub fn signal(&self) -> u8 {
        match self {
            Self::Unreachable | Self::Unknown => SIGILL,
            Self::IntegerDivideByZero
            | Self::IntegerOverflowOrDivideByZero
            | Self::InvalidConversionToInteger => SIGFPE,
            Self::MemoryOutOfBounds
            | Self::AtomicMemoryAccess
            | Self::TableOutOfBounds
            | Self::IndirectCall
            | Self::NullReference
            | Self::ArrayOutOfBounds
            | Self::CastFailure => SIGSEGV,
        }
    }
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
                                    let next_id = u32::try_from(sig_ids.len())
                                        .map_err(|_| BytecodeError::TooLarge)?;
                                    Some(*sig_ids.entry(ty).or_insert(next_id))
                                }
                                _ => None,
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
                        collect_ref_funcs(
                            global?.init_expr.get_operators_reader(),
                            &mut info.referenced,
                        )?;
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
                        match element?.items {
                            ElementItems::Functions(funcs) => {
                                for func in funcs {
                                    info.referenced.push(func?);
                                }
                            }
                            ElementItems::Expressions(_, exprs) => {
                                for expr in exprs {
                                    collect_ref_funcs(
                                        expr?.get_operators_reader(),
                                        &mut info.referenced,
                                    )?;
                                }
                            }
                        }
                    }
                }
                Payload::CodeSectionStart { count, size, .. } => {
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
                Payload::CustomSection(section) => match section.name() {
                    ".debug_info" => info.has_dwarf = true,
                    "name" => {
                        if let KnownCustom::Name(reader) = section.as_known() {
                            info.read_names(reader);
                        }
                    }
                    _ => {}
                },
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
        self.has_dwarf
    }

    pub fn num_imported_funcs(&self) -> u32 {
        self.num_imported_funcs
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

    /// The function a direct `call` at `pc` calls; `None` for any other instruction.
    pub fn direct_callee(&self, bytes: &[u8], pc: u32) -> Option<u32> {
        let instr = self.instruction_at(bytes, pc).ok()?;
        if instr.kind != InstrKind::Call {
            return None;
        }
        let encoded = bytes.get(usize::try_from(pc).ok()?..usize::try_from(instr.next).ok()?)?;
        let reader = wasmparser::BinaryReader::new(encoded, u64::from(pc));
        match wasmparser::OperatorsReader::new(reader).read().ok()? {
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
    fn flow(&self, bytes: &[u8], func_index: u32) -> Result<&FunctionFlow, BytecodeError> {
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

    /// Decodes the instruction at `pc`, checking that `pc` starts one.
    fn decode<'a>(
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
    fn operators<'a>(
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
            kind: instr_kind(&decoded.op, flow.nesting_at(pc)?),
        })
    }

    /// Offset of the instruction after the one at `pc`, in code order (not control flow).
    pub fn next_instruction(&self, bytes: &[u8], pc: u32) -> Result<u32, BytecodeError> {
        let (_, flow, decoded) = self.decode(bytes, pc)?;
        if matches!(decoded.op, Operator::End) && flow.nesting_at(pc)? == 1 {
            return Err(BytecodeError::NoNextInstruction(pc));
        }
        Ok(decoded.next)
    }

    /// The instruction before the one at `pc` in code order, if `pc` starts an instruction that
    /// is not its function's first.
    pub fn previous_instruction(&self, bytes: &[u8], pc: u32) -> Option<u32> {
        let func_index = self.func_containing(pc)?;
        self.flow(bytes, func_index).ok()?.previous(pc)
    }

    /// The instructions just before `pc` that Wasmtime has no stop for (dead code), nearest first:
    /// a breakpoint planted at one of them is reported at `pc`.
    pub fn stopless_before(&self, bytes: &[u8], pc: u32) -> Vec<u32> {
        let Some(func_index) = self.func_containing(pc) else {
            return Vec::new();
        };
        match self.flow(bytes, func_index) {
            Ok(flow) => flow.stopless_before(pc).collect(),
            Err(_) => Vec::new(),
        }
    }

    /// The `block`s and `loop`s just before `pc`, nearest first (see
    /// [`FunctionFlow::labels_before`]).
    pub fn labels_before(&self, bytes: &[u8], pc: u32) -> Vec<u32> {
        self.func_containing(pc)
            .and_then(|func_index| self.flow(bytes, func_index).ok())
            .map(|flow| flow.labels_before(pc).collect())
            .unwrap_or_default()
    }

    /// Where back edges land into the loops a line starting at `pc` opens (see
    /// [`FunctionFlow::loop_landings_from`]).
    pub fn loop_landings_from(&self, bytes: &[u8], pc: u32) -> Vec<u32> {
        self.func_containing(pc)
            .and_then(|func_index| self.flow(bytes, func_index).ok())
            .map(|flow| flow.loop_landings_from(pc))
            .unwrap_or_default()
    }

    /// Whether Wasmtime can stop before the instruction at `pc`: it has no stop in dead code.
    pub fn has_stop(&self, bytes: &[u8], pc: u32) -> bool {
        self.func_containing(pc)
            .and_then(|func_index| self.flow(bytes, func_index).ok())
            .is_some_and(|flow| flow.has_stop(pc))
    }

    /// Offsets of every instruction of a defined function, final `end` included.
    pub fn instruction_boundaries(
        &self,
        bytes: &[u8],
        func_index: u32,
    ) -> Result<Vec<u32>, BytecodeError> {
        Ok(self.flow(bytes, func_index)?.offsets().collect())
    }

    /// Every instruction of a defined function that reads or writes linear memory.
    pub fn memory_accesses(
        &self,
        bytes: &[u8],
        func_index: u32,
    ) -> Result<Vec<(u32, crate::memory_access::Access)>, BytecodeError> {
        let mut ops = self.operators(bytes, func_index)?;
        let mut accesses = Vec::new();
        while let Some(decoded) = ops.read()? {
            if let Some(access) = crate::memory_access::classify(&decoded.op) {
                accesses.push((decoded.offset, access));
            }
        }
        Ok(accesses)
    }

    /// The memory access of the instruction at `pc`, if it makes one.
    pub fn memory_access_at(&self, bytes: &[u8], pc: u32) -> Option<crate::memory_access::Access> {
        let (_, _, decoded) = self.decode(bytes, pc).ok()?;
        crate::memory_access::classify(&decoded.op)
    }

    /// Every instruction of a defined function as (offset, text), e.g. `i32.add`,
    /// `call 3 <fact>`, `br_if 1`, `local.get 0`.
    pub fn disassemble(
        &self,
        bytes: &[u8],
        func_index: u32,
    ) -> Result<Vec<(u32, String)>, BytecodeError> {
        let mut ops = self.operators(bytes, func_index)?;
        let mut lines = Vec::new();
        while let Some(decoded) = ops.read()? {
            lines.push((decoded.offset, self.instr_text(&decoded.op)));
        }
        Ok(lines)
    }

    /// Why executing the instruction at `pc` trapped; [`TrapReason::Unknown`] if it cannot tell.
    pub fn trap_reason(&self, bytes: &[u8], pc: u32) -> TrapReason {
        match self.decode(bytes, pc) {
            Ok((_, _, decoded)) => trap_reason_of(&decoded.op),
            Err(_) => TrapReason::Unknown,
        }
    }

    /// Where one instruction at `pc` can transfer control (see [`crate::control_flow`] for the
    /// landing rules). The function's control structure is decoded once, on its first step.
    pub fn step_targets(&self, bytes: &[u8], pc: u32) -> Result<StepTargets, BytecodeError> {
        let (_, flow, decoded) = self.decode(bytes, pc)?;
        flow.successors(&decoded, self)
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

    fn func_label(&self, func_index: u32) -> String {
        match self.func_name(func_index) {
            Some(name) => format!("{func_index} <{name}>"),
            None => func_index.to_string(),
        }
    }

    fn instr_text(&self, op: &Operator<'_>) -> String {
        match op {
            Operator::Call { function_index } => {
                format!("call {}", self.func_label(*function_index))
            }
            Operator::ReturnCall { function_index } => {
                format!("return_call {}", self.func_label(*function_index))
            }
            Operator::RefFunc { function_index } => {
                format!("ref.func {}", self.func_label(*function_index))
            }
            Operator::CallIndirect {
                type_index,
                table_index,
            }
            | Operator::ReturnCallIndirect {
                type_index,
                table_index,
            } => {
                let name = mnemonic(visit_name(op));
                if *table_index == 0 {
                    format!("{name} (type {type_index})")
                } else {
                    format!("{name} {table_index} (type {type_index})")
                }
            }
            Operator::RefTestNonNull { hty } => format!("ref.test (ref {})", heap_type_text(hty)),
            Operator::RefTestNullable { hty } => {
                format!("ref.test (ref null {})", heap_type_text(hty))
            }
            Operator::RefCastNonNull { hty } => format!("ref.cast (ref {})", heap_type_text(hty)),
            Operator::RefCastNullable { hty } => {
                format!("ref.cast (ref null {})", heap_type_text(hty))
            }
            _ => {
                let mut text = mnemonic(visit_name(op));
                write_immediates(op, &mut text);
                text
            }
        }
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

fn instr_kind(op: &Operator<'_>, stack_depth: usize) -> InstrKind {
    match op {
        Operator::Unreachable => InstrKind::Unreachable,
        Operator::Block { .. }
        | Operator::Loop { .. }
        | Operator::If { .. }
        | Operator::TryTable { .. }
        | Operator::Try { .. } => InstrKind::BlockStart,
        Operator::Else | Operator::Catch { .. } | Operator::CatchAll => InstrKind::Else,
        Operator::End if stack_depth == 1 => InstrKind::FunctionEnd,
        Operator::End | Operator::Delegate { .. } => InstrKind::End,
        Operator::Br { .. }
        | Operator::BrIf { .. }
        | Operator::BrTable { .. }
        | Operator::BrOnNull { .. }
        | Operator::BrOnNonNull { .. }
        | Operator::BrOnCast { .. }
        | Operator::BrOnCastFail { .. }
        | Operator::BrOnCastDescEq { .. }
        | Operator::BrOnCastDescEqFail { .. } => InstrKind::Branch,
        Operator::Return => InstrKind::Return,
        Operator::Call { .. } | Operator::CallIndirect { .. } | Operator::CallRef { .. } => {
            InstrKind::Call
        }
        Operator::ReturnCall { .. }
        | Operator::ReturnCallIndirect { .. }
        | Operator::ReturnCallRef { .. } => InstrKind::TailCall,
        Operator::Throw { .. } | Operator::ThrowRef | Operator::Rethrow { .. } => InstrKind::Throw,
        _ => InstrKind::Plain,
    }
}

fn trap_reason_of(op: &Operator<'_>) -> TrapReason {
    use Operator as O;
    match op {
        O::Unreachable => TrapReason::Unreachable,
        O::I32DivS | O::I64DivS => TrapReason::IntegerOverflowOrDivideByZero,
        O::I32DivU | O::I64DivU | O::I32RemS | O::I32RemU | O::I64RemS | O::I64RemU => {
            TrapReason::IntegerDivideByZero
        }
        O::I32TruncF32S
        | O::I32TruncF32U
        | O::I32TruncF64S
        | O::I32TruncF64U
        | O::I64TruncF32S
        | O::I64TruncF32U
        | O::I64TruncF64S
        | O::I64TruncF64U => TrapReason::InvalidConversionToInteger,
        O::MemoryCopy { .. } | O::MemoryFill { .. } | O::MemoryInit { .. } => {
            TrapReason::MemoryOutOfBounds
        }
        O::TableGet { .. }
        | O::TableSet { .. }
        | O::TableCopy { .. }
        | O::TableInit { .. }
        | O::TableFill { .. }
        | O::TableAtomicGet { .. }
        | O::TableAtomicSet { .. }
        | O::TableAtomicRmwXchg { .. }
        | O::TableAtomicRmwCmpxchg { .. } => TrapReason::TableOutOfBounds,
        O::CallIndirect { .. } | O::ReturnCallIndirect { .. } => TrapReason::IndirectCall,
        O::CallRef { .. }
        | O::ReturnCallRef { .. }
        | O::RefAsNonNull
        | O::ArrayLen
        | O::I31GetS
        | O::I31GetU
        | O::ThrowRef
        | O::RefGetDesc { .. } => TrapReason::NullReference,
        O::RefCastNonNull { .. }
        | O::RefCastNullable { .. }
        | O::RefCastDescEqNonNull { .. }
        | O::RefCastDescEqNullable { .. } => TrapReason::CastFailure,
        _ => {
            let name = visit_name(op);
            match memarg_target(op) {
                Some(MemArgTarget::Memory(_)) if name.contains("atomic") => {
                    TrapReason::AtomicMemoryAccess
                }
                Some(MemArgTarget::Memory(_)) => TrapReason::MemoryOutOfBounds,
                Some(MemArgTarget::Array(_)) => TrapReason::ArrayOutOfBounds,
                None if name.starts_with("visit_struct_")
                    && !name.starts_with("visit_struct_new") =>
                {
                    TrapReason::NullReference
                }
                None if name.starts_with("visit_array_")
                    && !matches!(
                        name,
                        "visit_array_new" | "visit_array_new_default" | "visit_array_new_fixed"
                    ) =>
                {
                    TrapReason::ArrayOutOfBounds
                }
                None => TrapReason::Unknown,
            }
        }
    }
}

/// Text-format rendering of one instruction immediate.
trait Immediate {
    fn write_to(&self, out: &mut String);

    fn memarg_target(&self) -> Option<MemArgTarget> {
        None
    }
}

fn push_word(out: &mut String, word: impl fmt::Display) {
    use fmt::Write;
    let _ = write!(out, " {word}");
}

macro_rules! display_immediates {
    ($($t:ty),*) => {
        $(impl Immediate for $t {
            fn write_to(&self, out: &mut String) {
                push_word(out, self);
            }
        })*
    };
}

display_immediates!(u8, u32, i32, i64, ValType, RefType);

impl Immediate for Ieee32 {
    fn write_to(&self, out: &mut String) {
        push_word(out, f32::from_bits(self.bits()));
    }
}

impl Immediate for Ieee64 {
    fn write_to(&self, out: &mut String) {
        push_word(out, f64::from_bits(self.bits()));
    }
}

impl Immediate for V128 {
    fn write_to(&self, out: &mut String) {
        let value = self.i128() as u128;
        out.push_str(" i32x4");
        for lane in 0..4 {
            push_word(out, format_args!("{:#010x}", (value >> (32 * lane)) as u32));
        }
    }
}

impl Immediate for [u8; 16] {
    fn write_to(&self, out: &mut String) {
        for lane in self {
            push_word(out, lane);
        }
    }
}

impl Immediate for MemArg {
    fn write_to(&self, out: &mut String) {
        match self.target {
            MemArgTarget::Memory(0) => {}
            MemArgTarget::Memory(m) => push_word(out, m),
            MemArgTarget::Array(t) => push_word(out, format_args!("(array {t})")),
        }
        if self.offset != 0 {
            push_word(out, format_args!("offset={}", self.offset));
        }
        if self.align != self.max_align {
            match 1u64.checked_shl(u32::from(self.align)) {
                Some(bytes) => push_word(out, format_args!("align={bytes}")),
                None => push_word(out, format_args!("align=2**{}", self.align)),
            }
        }
    }

    fn memarg_target(&self) -> Option<MemArgTarget> {
        Some(self.target)
    }
}

impl Immediate for BlockType {
    fn write_to(&self, out: &mut String) {
        match self {
            BlockType::Empty => {}
            BlockType::Type(ty) => push_word(out, format_args!("(result {ty})")),
            BlockType::FuncType(index) => push_word(out, format_args!("(type {index})")),
        }
    }
}

impl Immediate for BrTable<'_> {
    fn write_to(&self, out: &mut String) {
        for target in self.targets() {
            match target {
                Ok(depth) => push_word(out, depth),
                Err(_) => push_word(out, "<malformed>"),
            }
        }
        push_word(out, self.default());
    }
}

fn heap_type_text(hty: &HeapType) -> String {
    match hty {
        HeapType::Abstract { shared: false, ty } => format!("{ty:?}").to_ascii_lowercase(),
        HeapType::Abstract { shared: true, ty } => {
            format!("(shared {})", format!("{ty:?}").to_ascii_lowercase())
        }
        HeapType::Concrete(index) => index.to_string(),
        HeapType::Exact(index) => format!("(exact {index})"),
    }
}

impl Immediate for HeapType {
    fn write_to(&self, out: &mut String) {
        push_word(out, heap_type_text(self));
    }
}

impl Immediate for TryTable {
    fn write_to(&self, out: &mut String) {
        self.ty.write_to(out);
        for catch in &self.catches {
            match catch {
                Catch::One { tag, label } => push_word(out, format_args!("(catch {tag} {label})")),
                Catch::OneRef { tag, label } => {
                    push_word(out, format_args!("(catch_ref {tag} {label})"))
                }
                Catch::All { label } => push_word(out, format_args!("(catch_all {label})")),
                Catch::AllRef { label } => push_word(out, format_args!("(catch_all_ref {label})")),
            }
        }
    }
}

impl Immediate for Ordering {
    fn write_to(&self, out: &mut String) {
        push_word(
            out,
            match self {
                Ordering::AcqRel => "acq_rel",
                Ordering::SeqCst => "seq_cst",
            },
        );
    }
}

impl Immediate for Vec<ValType> {
    fn write_to(&self, out: &mut String) {
        out.push_str(" (result");
        for ty in self {
            push_word(out, ty);
        }
        out.push(')');
    }
}

impl Immediate for ResumeTable {
    fn write_to(&self, out: &mut String) {
        for handle in &self.handlers {
            match handle {
                Handle::OnLabel { tag, label } => {
                    push_word(out, format_args!("(on {tag} {label})"))
                }
                Handle::OnSwitch { tag } => push_word(out, format_args!("(on {tag} switch)")),
            }
        }
    }
}

// One table, generated from wasmparser's operator list, so every operator (including ones this
// module never special-cases) has a name, printable immediates, and its memory target if any.
macro_rules! operator_tables {
    ($( @$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*) )*) => {
        fn visit_name(op: &Operator<'_>) -> &'static str {
            match op {
                $( Operator::$op { .. } => stringify!($visit), )*
                _ => "visit_unknown",
            }
        }

        fn write_immediates(op: &Operator<'_>, out: &mut String) {
            match op {
                $( Operator::$op $({ $($arg),* })? => { $($( $arg.write_to(out); )*)? } )*
                _ => {}
            }
        }

        fn memarg_target(op: &Operator<'_>) -> Option<MemArgTarget> {
            match op {
                $( Operator::$op $({ $($arg),* })? => {
                    $($( if let Some(target) = $arg.memarg_target() { return Some(target); } )*)?
                    None
                } )*
                _ => None,
            }
        }
    };
}

wasmparser::for_each_operator!(operator_tables);

/// Turns a wasmparser visitor name into the text-format mnemonic, e.g. `visit_i32_add` ->
/// `i32.add`, `visit_i32_atomic_rmw8_add_u` -> `i32.atomic.rmw8.add_u`, `visit_br_if` -> `br_if`.
fn mnemonic(visit: &str) -> String {
    const NAMESPACES: &[&str] = &[
        "i32", "i64", "f32", "f64", "v128", "i8x16", "i16x8", "i32x4", "i64x2", "f32x4", "f64x2",
        "local", "global", "memory", "table", "ref", "struct", "array", "elem", "data", "i31",
        "any", "extern", "cont", "atomic",
    ];
    let name = visit.strip_prefix("visit_").unwrap_or(visit);
    if name.starts_with("typed_select") {
        return "select".to_string();
    }
    let Some((head, rest)) = name
        .split_once('_')
        .filter(|(head, _)| NAMESPACES.contains(head))
    else {
        return name.to_string();
    };
    let mut out = String::with_capacity(name.len());
    out.push_str(head);
    out.push('.');
    let rest = match rest.strip_prefix("atomic_") {
        Some(after) => {
            out.push_str("atomic.");
            after
        }
        None => rest,
    };
    match rest
        .split_once('_')
        .filter(|(word, _)| word.starts_with("rmw"))
    {
        Some((rmw, op)) => {
            out.push_str(rmw);
            out.push('.');
            out.push_str(op);
        }
        None => out.push_str(rest),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every defined function's operators with their offsets, read independently of the code
    /// under test.
    fn code_ops(bytes: &[u8]) -> Vec<Vec<(u32, Operator<'_>)>> {
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
    fn nth(
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
    fn after(ops: &[Vec<(u32, Operator<'_>)>], func: usize, pc: u32) -> u32 {
        let i = ops[func].iter().position(|(off, _)| *off == pc).unwrap();
        ops[func][i + 1].0
    }

    fn build(wat: &str) -> (Vec<u8>, ModuleInfo) {
        let bytes = wat::parse_str(wat).unwrap();
        let info = ModuleInfo::parse(&bytes).unwrap();
        (bytes, info)
    }

    fn same(pcs: &[u32]) -> StepTargets {
        let mut same_frame = pcs.to_vec();
        same_frame.sort_unstable();
        same_frame.dedup();
        StepTargets {
            same_frame,
            callee_entries: vec![],
            leaves_frame: false,
        }
    }

    const LEAVES: StepTargets = StepTargets {
        same_frame: vec![],
        callee_entries: vec![],
        leaves_frame: true,
    };

    #[test]
    fn fallthrough() {
        let (bytes, info) = build("(module (func i32.const 1 drop nop))");
        let ops = code_ops(&bytes);
        let c = nth(&ops, 0, 0, |op| matches!(op, Operator::I32Const { .. }));
        let d = nth(&ops, 0, 0, |op| matches!(op, Operator::Drop));
        assert_eq!(info.step_targets(&bytes, c).unwrap(), same(&[d]));
        assert_eq!(info.next_instruction(&bytes, c).unwrap(), d);
    }

    #[test]
    fn br_if_taken_and_not_taken() {
        let (bytes, info) = build(
            "(module (func (param i32)
                block
                  local.get 0
                  br_if 0
                  nop
                end
                nop))",
        );
        let ops = code_ops(&bytes);
        let br_if = nth(&ops, 0, 0, |op| matches!(op, Operator::BrIf { .. }));
        let nop = nth(&ops, 0, 0, |op| matches!(op, Operator::Nop));
        let end = nth(&ops, 0, 0, |op| matches!(op, Operator::End));
        // Taken, the branch lands after the block's `end`: Wasmtime has no stop on an `end`
        // reached by a branch.
        assert_eq!(
            info.step_targets(&bytes, br_if).unwrap(),
            same(&[nop, after(&ops, 0, end)])
        );
        // The block's end, reached by falling through, just falls through.
        assert_eq!(
            info.step_targets(&bytes, end).unwrap(),
            same(&[after(&ops, 0, end)])
        );
    }

    #[test]
    fn br_if_to_function_label_leaves() {
        let (bytes, info) = build("(module (func (param i32) local.get 0 br_if 0 nop))");
        let ops = code_ops(&bytes);
        let br_if = nth(&ops, 0, 0, |op| matches!(op, Operator::BrIf { .. }));
        let nop = nth(&ops, 0, 0, |op| matches!(op, Operator::Nop));
        let t = info.step_targets(&bytes, br_if).unwrap();
        assert_eq!(t.same_frame, vec![nop]);
        assert!(t.leaves_frame);
    }

    #[test]
    fn br_table_targets() {
        let (bytes, info) = build(
            "(module (func (param i32)
                block
                  block
                    block
                      local.get 0
                      br_table 0 1 0 2 3
                    end
                    nop
                  end
                  nop
                end
                nop))",
        );
        let ops = code_ops(&bytes);
        let table = nth(&ops, 0, 0, |op| matches!(op, Operator::BrTable { .. }));
        let ends: Vec<u32> = (0..3)
            .map(|n| nth(&ops, 0, n, |op| matches!(op, Operator::End)))
            .collect();
        let after_ends: Vec<u32> = ends.iter().map(|&end| after(&ops, 0, end)).collect();
        let t = info.step_targets(&bytes, table).unwrap();
        assert_eq!(t.same_frame, after_ends);
        assert!(t.callee_entries.is_empty());
        // Depth 3 is the function label.
        assert!(t.leaves_frame);
    }

    #[test]
    fn if_with_else() {
        let (bytes, info) = build(
            "(module (func (param i32) (result i32)
                local.get 0
                if (result i32)
                  i32.const 1
                else
                  i32.const 2
                end))",
        );
        let ops = code_ops(&bytes);
        let if_ = nth(&ops, 0, 0, |op| matches!(op, Operator::If { .. }));
        let one = nth(&ops, 0, 0, |op| {
            matches!(op, Operator::I32Const { value: 1 })
        });
        let else_ = nth(&ops, 0, 0, |op| matches!(op, Operator::Else));
        let two = nth(&ops, 0, 0, |op| {
            matches!(op, Operator::I32Const { value: 2 })
        });
        let end = nth(&ops, 0, 0, |op| matches!(op, Operator::End));
        assert_eq!(two, after(&ops, 0, else_));
        assert_eq!(info.step_targets(&bytes, if_).unwrap(), same(&[one, two]));
        // The then-arm meets `else`, which continues after the `end`, not on it.
        let after_end = after(&ops, 0, end);
        assert_eq!(
            info.step_targets(&bytes, else_).unwrap(),
            same(&[after_end])
        );
        assert_eq!(info.step_targets(&bytes, two).unwrap(), same(&[end]));
    }

    #[test]
    fn if_without_else_taken_false_goes_after_end() {
        let (bytes, info) = build(
            "(module (func (param i32)
                local.get 0
                if
                  nop
                end
                nop))",
        );
        let ops = code_ops(&bytes);
        let if_ = nth(&ops, 0, 0, |op| matches!(op, Operator::If { .. }));
        let then = nth(&ops, 0, 0, |op| matches!(op, Operator::Nop));
        let end = nth(&ops, 0, 0, |op| matches!(op, Operator::End));
        assert_eq!(
            info.step_targets(&bytes, if_).unwrap(),
            same(&[then, after(&ops, 0, end)])
        );
    }

    #[test]
    fn multi_value_block_and_nesting() {
        let (bytes, info) = build(
            "(module
               (type $pair (func (param i32) (result i32 i32)))
               (func (param i32) (result i32 i32)
                 local.get 0
                 block (type $pair)
                   loop (type $pair)
                     local.get 0
                     br_if 1
                     i32.const 7
                   end
                 end))",
        );
        let ops = code_ops(&bytes);
        let br_if = nth(&ops, 0, 0, |op| matches!(op, Operator::BrIf { .. }));
        let seven = nth(&ops, 0, 0, |op| {
            matches!(op, Operator::I32Const { value: 7 })
        });
        // The block's `end` is the function's last instruction but one: the branch lands on the
        // final `end`.
        let block_end = nth(&ops, 0, 1, |op| matches!(op, Operator::End));
        assert_eq!(
            info.step_targets(&bytes, br_if).unwrap(),
            same(&[seven, after(&ops, 0, block_end)])
        );
    }

    #[test]
    fn loop_back_edge() {
        let (bytes, info) = build(
            "(module (func (param i32)
                loop
                  local.get 0
                  br_if 0
                end))",
        );
        let ops = code_ops(&bytes);
        let loop_ = nth(&ops, 0, 0, |op| matches!(op, Operator::Loop { .. }));
        let first_inside = after(&ops, 0, loop_);
        let br_if = nth(&ops, 0, 0, |op| matches!(op, Operator::BrIf { .. }));
        let loop_end = nth(&ops, 0, 0, |op| matches!(op, Operator::End));
        assert_eq!(
            info.step_targets(&bytes, br_if).unwrap(),
            same(&[first_inside, loop_end])
        );
        assert_eq!(
            info.step_targets(&bytes, loop_).unwrap(),
            same(&[first_inside])
        );
    }

    #[test]
    fn return_final_end_and_br_to_function() {
        let (bytes, info) = build(
            "(module
               (func return)
               (func nop)
               (func br 0))",
        );
        let ops = code_ops(&bytes);
        let ret = nth(&ops, 0, 0, |op| matches!(op, Operator::Return));
        assert_eq!(info.step_targets(&bytes, ret).unwrap(), LEAVES);
        let final_end = nth(&ops, 1, 0, |op| matches!(op, Operator::End));
        assert_eq!(info.step_targets(&bytes, final_end).unwrap(), LEAVES);
        assert_eq!(
            info.next_instruction(&bytes, final_end),
            Err(BytecodeError::NoNextInstruction(final_end))
        );
        assert_eq!(
            info.instruction_at(&bytes, final_end).unwrap().kind,
            InstrKind::FunctionEnd
        );
        let br = nth(&ops, 2, 0, |op| matches!(op, Operator::Br { .. }));
        assert_eq!(info.step_targets(&bytes, br).unwrap(), LEAVES);
    }

    #[test]
    fn unreachable_has_no_targets() {
        let (bytes, info) = build("(module (func unreachable))");
        let ops = code_ops(&bytes);
        let u = nth(&ops, 0, 0, |op| matches!(op, Operator::Unreachable));
        assert_eq!(
            info.step_targets(&bytes, u).unwrap(),
            StepTargets::default()
        );
    }

    const CALLS: &str = r#"(module $calls
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

    #[test]
    fn calls_to_defined_and_imported_functions() {
        let (bytes, info) = build(CALLS);
        let ops = code_ops(&bytes);
        assert_eq!(info.num_imported_funcs(), 1);
        assert_eq!(info.num_funcs(), 5);
        // fact is function 1 (defined 0); its entry is after its locals declarations.
        let fact_entry = ops[0][0].0;
        assert_eq!(info.func_entry(1), Some(fact_entry));
        assert_eq!(info.func_entry(0), None);
        let body = info.func_body_range(1).unwrap();
        assert!(body.start < fact_entry && fact_entry < body.end);

        let call_fact = nth(&ops, 1, 0, |op| matches!(op, Operator::Call { .. }));
        assert_eq!(
            info.step_targets(&bytes, call_fact).unwrap(),
            StepTargets {
                same_frame: vec![],
                callee_entries: vec![fact_entry],
                leaves_frame: false
            }
        );
        let call_ext = nth(&ops, 0, 0, |op| {
            matches!(op, Operator::Call { function_index: 0 })
        });
        assert_eq!(
            info.step_targets(&bytes, call_ext).unwrap(),
            same(&[after(&ops, 0, call_ext)])
        );

        let tail_defined = nth(&ops, 2, 0, |op| matches!(op, Operator::ReturnCall { .. }));
        assert_eq!(
            info.step_targets(&bytes, tail_defined).unwrap(),
            StepTargets {
                same_frame: vec![],
                callee_entries: vec![fact_entry],
                leaves_frame: false
            }
        );
        let tail_import = nth(&ops, 3, 0, |op| matches!(op, Operator::ReturnCall { .. }));
        assert_eq!(info.step_targets(&bytes, tail_import).unwrap(), LEAVES);
        assert_eq!(
            info.instruction_at(&bytes, tail_import).unwrap().kind,
            InstrKind::TailCall
        );
    }

    #[test]
    fn names_and_disassembly() {
        let (bytes, info) = build(CALLS);
        assert_eq!(info.name(), Some("calls"));
        assert_eq!(info.func_name(0), Some("ext"));
        assert_eq!(info.func_name(1), Some("fact"));
        assert_eq!(info.func_name(9), None);
        let text: Vec<String> = info
            .disassemble(&bytes, 1)
            .unwrap()
            .into_iter()
            .map(|(_, t)| t)
            .collect();
        assert_eq!(
            text,
            ["local.get 0", "call 0 <ext>", "call 1 <fact>", "end"]
        );
        let ops = code_ops(&bytes);
        let offsets: Vec<u32> = ops[0].iter().map(|(o, _)| *o).collect();
        assert_eq!(info.instruction_boundaries(&bytes, 1).unwrap(), offsets);
        assert_eq!(
            info.disassemble(&bytes, 0),
            Err(BytecodeError::ImportedFunction(0))
        );
        assert_eq!(
            info.disassemble(&bytes, 5),
            Err(BytecodeError::NoSuchFunction(5))
        );
    }

    #[test]
    fn disassembly_of_assorted_instructions() {
        let (bytes, info) = build(
            "(module (memory 1)
               (func (param i32) (result i32)
                 block
                   local.get 0
                   br_if 0
                 end
                 local.get 0
                 i32.load offset=8
                 local.get 0
                 i32.atomic.rmw8.add_u
                 i32.add
                 f64.const 1.5
                 drop
                 i64.load8_s align=1
                 drop))",
        );
        let text: Vec<String> = info
            .disassemble(&bytes, 0)
            .unwrap()
            .into_iter()
            .map(|(_, t)| t)
            .collect();
        assert_eq!(
            text,
            [
                "block",
                "local.get 0",
                "br_if 0",
                "end",
                "local.get 0",
                "i32.load offset=8",
                "local.get 0",
                "i32.atomic.rmw8.add_u",
                "i32.add",
                "f64.const 1.5",
                "drop",
                "i64.load8_s",
                "drop",
                "end",
            ]
        );
    }

    #[test]
    fn call_indirect_candidates() {
        let (bytes, info) = build(
            r#"(module
                 (type $t (func (param i32) (result i32)))
                 (type $t2 (func (param i32) (result i32)))
                 (type $other (func (result i32)))
                 (import "env" "imp" (func $imp (type $t)))
                 (table 4 funcref)
                 (elem (i32.const 0) func $in_elem $other_sig $same_sig_other_index $imp)
                 (func $in_elem (type $t) local.get 0)
                 (func $not_referenced (type $t) local.get 0)
                 (func $other_sig (type $other) i32.const 0)
                 (func $same_sig_other_index (type $t2) local.get 0)
                 (func $exported (export "e") (type $t) local.get 0)
                 (func $caller (param i32) (result i32)
                   local.get 0
                   i32.const 1
                   call_indirect (type $t)))"#,
        );
        let ops = code_ops(&bytes);
        let ci = nth(&ops, 5, 0, |op| matches!(op, Operator::CallIndirect { .. }));
        let t = info.step_targets(&bytes, ci).unwrap();
        let mut expected = vec![
            info.func_entry(1).unwrap(),
            info.func_entry(4).unwrap(),
            info.func_entry(5).unwrap(),
        ];
        expected.sort_unstable();
        assert_eq!(t.callee_entries, expected);
        assert_eq!(t.same_frame, vec![after(&ops, 5, ci)]);
        assert!(!t.leaves_frame);
    }

    #[test]
    fn call_indirect_without_elements_considers_every_function_of_the_type() {
        let (bytes, info) = build(
            "(module
               (type $t (func))
               (table 1 funcref)
               (func $a (type $t))
               (func $b (param i32))
               (func $c (type $t)
                 i32.const 0
                 call_indirect (type $t))
               (func $d (type $t)
                 i32.const 0
                 return_call_indirect (type $t)))",
        );
        let ops = code_ops(&bytes);
        let ci = nth(&ops, 2, 0, |op| matches!(op, Operator::CallIndirect { .. }));
        let entries = vec![
            info.func_entry(0).unwrap(),
            info.func_entry(2).unwrap(),
            info.func_entry(3).unwrap(),
        ];
        let t = info.step_targets(&bytes, ci).unwrap();
        assert_eq!(t.callee_entries, entries);
        let rci = nth(&ops, 3, 0, |op| {
            matches!(op, Operator::ReturnCallIndirect { .. })
        });
        assert_eq!(
            info.step_targets(&bytes, rci).unwrap(),
            StepTargets {
                same_frame: vec![],
                callee_entries: entries,
                leaves_frame: true
            }
        );
    }

    #[test]
    fn exceptions_reach_try_table_catches() {
        let (bytes, info) = build(
            "(module
               (tag $e)
               (func
                 block $all
                   try_table (catch_all $all)
                     throw $e
                   end
                 end)
               (func
                 block $one
                   try_table (catch $e $one)
                     throw $e
                   end
                 end))",
        );
        let ops = code_ops(&bytes);
        let throw0 = nth(&ops, 0, 0, |op| matches!(op, Operator::Throw { .. }));
        let outer_end0 = nth(&ops, 0, 1, |op| matches!(op, Operator::End));
        assert_eq!(
            info.step_targets(&bytes, throw0).unwrap(),
            same(&[after(&ops, 0, outer_end0)])
        );
        let throw1 = nth(&ops, 1, 0, |op| matches!(op, Operator::Throw { .. }));
        let outer_end1 = nth(&ops, 1, 1, |op| matches!(op, Operator::End));
        assert_eq!(
            info.step_targets(&bytes, throw1).unwrap(),
            StepTargets {
                same_frame: vec![after(&ops, 1, outer_end1)],
                callee_entries: vec![],
                leaves_frame: true
            }
        );
        let try_table = nth(&ops, 1, 0, |op| matches!(op, Operator::TryTable { .. }));
        assert_eq!(
            info.step_targets(&bytes, try_table).unwrap(),
            same(&[throw1])
        );
    }

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
    fn trap_reasons() {
        let (bytes, info) = build(
            "(module (memory 1)
               (type $v (func))
               (table 1 funcref)
               (func (param i32 f32)
                 unreachable
                 local.get 0 local.get 0 i32.div_s drop
                 local.get 0 local.get 0 i32.div_u drop
                 local.get 0 i32.load drop
                 local.get 1 i32.trunc_f32_s drop
                 local.get 0 call_indirect (type $v)
                 local.get 0 local.get 0 i32.atomic.rmw.add drop
                 call 0))",
        );
        let ops = code_ops(&bytes);
        let at =
            |pred: &dyn Fn(&Operator<'_>) -> bool| info.trap_reason(&bytes, nth(&ops, 0, 0, pred));
        assert_eq!(
            at(&|op| matches!(op, Operator::Unreachable)),
            TrapReason::Unreachable
        );
        assert_eq!(
            at(&|op| matches!(op, Operator::I32DivS)),
            TrapReason::IntegerOverflowOrDivideByZero
        );
        assert_eq!(
            at(&|op| matches!(op, Operator::I32DivU)),
            TrapReason::IntegerDivideByZero
        );
        assert_eq!(
            at(&|op| matches!(op, Operator::I32Load { .. })),
            TrapReason::MemoryOutOfBounds
        );
        assert_eq!(
            at(&|op| matches!(op, Operator::I32TruncF32S)),
            TrapReason::InvalidConversionToInteger
        );
        assert_eq!(
            at(&|op| matches!(op, Operator::CallIndirect { .. })),
            TrapReason::IndirectCall
        );
        assert_eq!(
            at(&|op| matches!(op, Operator::I32AtomicRmwAdd { .. })),
            TrapReason::AtomicMemoryAccess
        );
        assert_eq!(
            at(&|op| matches!(op, Operator::Call { .. })),
            TrapReason::Unknown
        );
        let load = nth(&ops, 0, 0, |op| matches!(op, Operator::I32Load { .. }));
        assert_eq!(info.trap_reason(&bytes, load + 1), TrapReason::Unknown);
        assert_eq!(info.trap_reason(&bytes, 0), TrapReason::Unknown);

        assert_eq!(TrapReason::Unreachable.signal(), 4);
        assert_eq!(TrapReason::IntegerDivideByZero.signal(), 8);
        assert_eq!(TrapReason::MemoryOutOfBounds.signal(), 11);
        assert_eq!(
            TrapReason::IntegerDivideByZero.description(),
            "wasm trap: integer divide by zero"
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
    fn mnemonics() {
        assert_eq!(mnemonic("visit_i32_add"), "i32.add");
        assert_eq!(mnemonic("visit_br_if"), "br_if");
        assert_eq!(mnemonic("visit_local_get"), "local.get");
        assert_eq!(
            mnemonic("visit_i64_atomic_rmw32_cmpxchg_u"),
            "i64.atomic.rmw32.cmpxchg_u"
        );
        assert_eq!(
            mnemonic("visit_memory_atomic_wait32"),
            "memory.atomic.wait32"
        );
        assert_eq!(mnemonic("visit_atomic_fence"), "atomic.fence");
        assert_eq!(mnemonic("visit_i32_trunc_sat_f32_s"), "i32.trunc_sat_f32_s");
        assert_eq!(mnemonic("visit_call_indirect"), "call_indirect");
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
