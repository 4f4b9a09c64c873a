//! The stub's view of the paused debuggee: its modules (bytecode fetched once and cached), their
//! protocol indices, the call stack at the current stop, and access to locals, globals, operand
//! stacks and linear memory.

use crate::addr::{self, ModuleTraits};
use crate::bytecode::ModuleInfo;
use crate::host;
use crate::monitor_text::LineTable;
use crate::stepping::FrameSite;
use std::collections::HashMap;

/// One core module of the debuggee, by protocol index.
pub struct Module {
    pub handle: host::Module,
    pub bytes: Vec<u8>,
    /// `None` when the bytecode did not parse; such a module is served but not analysed.
    pub info: Option<ModuleInfo>,
    pub name: String,
    /// Where source lines start, read from the DWARF on first use.
    lines: std::sync::OnceLock<LineTable>,
}

impl Module {
    /// The module's line table (empty without DWARF), parsed on first use: module bytecode never
    /// changes during a run.
    pub fn line_table(&self) -> &LineTable {
        self.lines.get_or_init(|| {
            if self.info.as_ref().is_some_and(|i| i.has_dwarf()) {
                LineTable::parse(&self.bytes)
            } else {
                LineTable::default()
            }
        })
    }
}

/// A module as the host lists it, with its bytecode and analysis.
type Fetched = (host::Module, Vec<u8>, Option<ModuleInfo>);

/// One frame of the stack at the current stop, innermost first.
pub struct Frame {
    pub handle: host::Frame,
    pub module: u32,
    pub pc: u32,
    pub instance: Option<host::Instance>,
}

pub struct Debuggee<'d> {
    pub host: &'d host::Debuggee,
    pub modules: Vec<Module>,
    index_by_id: HashMap<u64, u32>,
    /// The first instance of each module, for memory accesses that name no frame.
    instances: HashMap<u32, host::Instance>,
    pub stack: Vec<Frame>,
    /// Whether `stack` was read to its end.
    stack_complete: bool,
    /// A resumption is pending: the host takes no other request until it has finished.
    resumed: bool,
    module_of_instance: HashMap<u64, u32>,
}

/// Why a debuggee access failed (mapped to an `E..` reply by the protocol layer).
#[derive(Debug)]
pub enum AccessError {
    NoSuchModule,
    NoMemory,
    OutOfBounds,
    /// The debuggee is running: the host takes no request until it stops.
    Running,
    Host(#[allow(dead_code)] host::Error),
}

impl<'d> Debuggee<'d> {
    /// Reads the module list and every module's bytecode. Called once, while the debuggee is
    /// paused before any guest code runs (Wasmtime registers all modules up front).
    pub fn new(host: &'d host::Debuggee) -> Self {
        let handles = host.all_modules();
        let mut fetched: Vec<Fetched> = handles
            .into_iter()
            .map(|m| {
                let bytes = m.bytecode().unwrap_or_default();
                let info = ModuleInfo::parse(&bytes).ok();
                (m, bytes, info)
            })
            .collect();
        let traits: Vec<ModuleTraits> = fetched
            .iter()
            .map(|(_, bytes, info)| ModuleTraits {
                has_dwarf: info.as_ref().is_some_and(|i| i.has_dwarf()),
                has_entry: info.as_ref().is_some_and(|i| i.entry_func().is_some()),
                size: bytes.len(),
            })
            .collect();
        let order = addr::module_order(&traits);
        let mut slots: Vec<Option<Fetched>> = fetched.drain(..).map(Some).collect();
        let mut modules = Vec::with_capacity(order.len());
        let mut used_names: HashMap<String, u32> = HashMap::new();
        for (index, host_pos) in order.into_iter().enumerate() {
            let Some((handle, bytes, info)) = slots.get_mut(host_pos).and_then(Option::take) else {
                continue;
            };
            let name = unique_name(module_name(index, info.as_ref()), &mut used_names);
            modules.push(Module {
                handle,
                bytes,
                info,
                name,
                lines: Default::default(),
            });
        }
        let index_by_id = modules
            .iter()
            .enumerate()
            .map(|(i, m)| (m.handle.unique_id(), i as u32))
            .collect();
        let mut debuggee = Debuggee {
            host,
            modules,
            index_by_id,
            instances: HashMap::new(),
            stack: Vec::new(),
            stack_complete: false,
            resumed: false,
            module_of_instance: HashMap::new(),
        };
        debuggee.refresh_instances();
        debuggee
    }

    fn refresh_instances(&mut self) {
        for instance in self.host.all_instances() {
            let module = instance.get_module(self.host);
            if let Some(&index) = self.index_by_id.get(&module.unique_id()) {
                self.instances.entry(index).or_insert(instance);
            }
        }
    }

    pub fn module_index(&self, module: &host::Module) -> Option<u32> {
        self.index_by_id.get(&module.unique_id()).copied()
    }

    pub fn module(&self, index: u32) -> Option<&Module> {
        self.modules.get(index as usize)
    }

    /// Re-reads the call stack; call at every stop. Frames whose module or pc cannot be read are
    /// skipped rather than failing the stop.
    pub fn refresh_stack(&mut self) {
        self.read_stack(usize::MAX);
    }

    /// Reads only the innermost frame, for the many stops that are decided by it alone (a watched
    /// store that misses). `stack` then holds just that frame until the next refresh.
    pub fn refresh_top(&mut self) -> Option<FrameSite> {
        self.read_stack(1);
        self.stack.first().map(|f| FrameSite {
            module: f.module,
            pc: f.pc,
        })
    }

    /// Where LLDB is shown a frame whose pc is `pc` of `module`: an address where execution is in
    /// the same state, chosen so that LLDB's stepping decisions come out as they do natively.
    ///
    /// - At a function's first instruction: the function's start as LLVM's DWARF gives it
    ///   (`low_pc`, the body's locals declarations, where nothing executes), if a source line
    ///   starts there. LLDB's step-in moves on past a callee's prologue to its first statement
    ///   only when it stops exactly at the function's start address. A function without a
    ///   prologue has its first line at its first instruction, and keeps it.
    /// - Just after `block`s and `loop`s (which compute nothing): the one of them where a source
    ///   line starts. A branch back to a loop lands after its `loop`, while the loop's first
    ///   statement starts at the `loop`, and LLDB ends a `next` only at the start of a line, as
    ///   natively, where the branch goes to the line's first instruction.
    ///
    /// Resuming from the shown address resumes at `pc`: `si` still executes one instruction.
    pub fn shown_pc(&self, module: u32, pc: u32) -> u32 {
        let Some(m) = self.module(module) else {
            return pc;
        };
        let Some(info) = m.info.as_ref() else {
            return pc;
        };
        let lines = m.line_table();
        let starts_line = |at: u32| lines.is_empty() || lines.line_start(at).is_some();
        let Some(func) = info.func_containing(pc) else {
            return pc;
        };
        if info.func_entry(func) == Some(pc) {
            return info
                .func_body_range(func)
                .map(|body| body.start)
                .filter(|&start| starts_line(start))
                .unwrap_or(pc);
        }
        if lines.is_empty() || lines.line_start(pc).is_some() {
            return pc;
        }
        info.labels_before(&m.bytes, pc)
            .into_iter()
            .find(|&label| lines.line_start(label).is_some())
            .unwrap_or(pc)
    }

    /// Records whether a resumption is pending (see [`Debuggee::is_resumed`]).
    pub fn set_resumed(&mut self, resumed: bool) {
        self.resumed = resumed;
    }

    /// Whether a resumption is pending. Wasmtime 48 fails the whole run ("Attempt to use
    /// debuggee API while a future is pending") if any other debuggee request comes meanwhile, so
    /// every edit checks this first.
    pub fn is_resumed(&self) -> bool {
        self.resumed
    }

    /// Whether [`Debuggee::stack`] holds every frame (not just the innermost ones a quick check
    /// read).
    pub fn stack_is_complete(&self) -> bool {
        self.stack_complete
    }

    fn read_stack(&mut self, limit: usize) {
        self.stack.clear();
        self.stack_complete = false;
        if self.instances.len() < self.modules.len() {
            self.refresh_instances();
        }
        for exit in self.host.exit_frames() {
            let mut next = Some(exit);
            while let Some(frame) = next {
                if self.stack.len() >= limit {
                    return;
                }
                next = frame.parent_frame(self.host).ok().flatten();
                let instance = frame.get_instance(self.host).ok();
                let module = instance.as_ref().and_then(|i| self.instance_module(i));
                let (Some(module), Ok(pc)) = (module, frame.get_pc(self.host)) else {
                    continue;
                };
                self.stack.push(Frame {
                    handle: frame,
                    module,
                    pc,
                    instance,
                });
            }
        }
        self.stack_complete = true;
    }

    /// The protocol index of an instance's module, remembered per instance: every stop asks it
    /// for every frame.
    fn instance_module(&mut self, instance: &host::Instance) -> Option<u32> {
        let id = instance.unique_id();
        if let Some(&module) = self.module_of_instance.get(&id) {
            return Some(module);
        }
        let module = self.module_index(&instance.get_module(self.host))?;
        self.module_of_instance.insert(id, module);
        Some(module)
    }

    pub fn frame_sites(&self) -> Vec<FrameSite> {
        self.stack
            .iter()
            .map(|f| FrameSite {
                module: f.module,
                pc: f.pc,
            })
            .collect()
    }

    /// Where the program will start: the entry function of the primary module, shown at the
    /// initial stop before any guest code has run (there is no frame yet).
    pub fn entry_site(&self) -> Option<FrameSite> {
        self.modules.iter().enumerate().find_map(|(i, m)| {
            let info = m.info.as_ref()?;
            let pc = info.func_entry(info.entry_func()?)?;
            Some(FrameSite {
                module: i as u32,
                pc,
            })
        })
    }

    fn memory_of(&self, module: u32) -> Result<host::Memory, AccessError> {
        // Prefer the instance on the stack (a module instantiated twice: the running one).
        let instance = self
            .stack
            .iter()
            .find(|f| f.module == module)
            .and_then(|f| f.instance.as_ref())
            .or_else(|| self.instances.get(&module))
            .ok_or(AccessError::NoMemory)?;
        instance
            .get_memory(self.host, 0)
            .map_err(|_| AccessError::NoMemory)
    }

    /// Size and page size, in bytes, of the memory that accesses tagged with `module` reach;
    /// `None` when that module's instance has no memory.
    pub fn memory_info(&self, module: u32) -> Option<(u64, u64)> {
        let memory = self.memory_of(module).ok()?;
        Some((
            memory.size_bytes(self.host),
            memory.page_size_bytes(self.host),
        ))
    }

    pub fn memory_size(&self, module: u32) -> Result<u64, AccessError> {
        Ok(self.memory_of(module)?.size_bytes(self.host))
    }

    pub fn read_memory(
        &self,
        module: u32,
        offset: u64,
        len: usize,
    ) -> Result<Vec<u8>, AccessError> {
        let memory = self.memory_of(module)?;
        let size = memory.size_bytes(self.host);
        addr::exact_range(offset, len, size).ok_or(AccessError::OutOfBounds)?;
        memory
            .get_bytes(self.host, offset, len as u64)
            .map_err(AccessError::Host)
    }

    pub fn write_memory(&self, module: u32, offset: u64, data: &[u8]) -> Result<(), AccessError> {
        let memory = self.memory_of(module)?;
        let size = memory.size_bytes(self.host);
        addr::exact_range(offset, data.len(), size).ok_or(AccessError::OutOfBounds)?;
        memory
            .set_bytes(self.host, offset, data)
            .map_err(AccessError::Host)
    }

    pub fn locals(&self, frame: usize) -> Option<Vec<host::WasmValue>> {
        self.stack.get(frame)?.handle.get_locals(self.host).ok()
    }

    pub fn operand_stack(&self, frame: usize) -> Option<Vec<host::WasmValue>> {
        self.stack.get(frame)?.handle.get_stack(self.host).ok()
    }

    pub fn global(&self, frame: usize, index: u32) -> Option<host::WasmValue> {
        let instance = match self.stack.get(frame) {
            Some(f) => f.instance.as_ref()?,
            // No frame yet (initial stop): the primary module's globals.
            None if frame == 0 => self.instances.get(&0)?,
            None => return None,
        };
        instance
            .get_global(self.host, index)
            .ok()?
            .get(self.host)
            .ok()
    }

    pub fn add_breakpoint(&self, module: u32, pc: u32) -> Result<(), AccessError> {
        if self.resumed {
            return Err(AccessError::Running);
        }
        let m = self.module(module).ok_or(AccessError::NoSuchModule)?;
        m.handle
            .add_breakpoint(self.host, pc)
            .map_err(AccessError::Host)
    }

    pub fn remove_breakpoint(&self, module: u32, pc: u32) -> Result<(), AccessError> {
        if self.resumed {
            return Err(AccessError::Running);
        }
        let m = self.module(module).ok_or(AccessError::NoSuchModule)?;
        m.handle
            .remove_breakpoint(self.host, pc)
            .map_err(AccessError::Host)
    }
}

/// Little-endian bytes of a Wasm value, as LLDB's `qWasmLocal`/`qWasmGlobal` expect.
pub fn value_bytes(value: &host::WasmValue) -> Vec<u8> {
    use host::WasmType;
    match value.get_type() {
        WasmType::WasmI32 => value.unwrap_i32().to_le_bytes().to_vec(),
        WasmType::WasmI64 => value.unwrap_i64().to_le_bytes().to_vec(),
        WasmType::WasmF32 => value.unwrap_f32().to_le_bytes().to_vec(),
        WasmType::WasmF64 => value.unwrap_f64().to_le_bytes().to_vec(),
        WasmType::WasmV128 => value.unwrap_v128(),
        // References have no address LLDB could use; show them as null.
        WasmType::WasmFuncref | WasmType::WasmExnref => 0u32.to_le_bytes().to_vec(),
    }
}

fn module_name(index: usize, info: Option<&ModuleInfo>) -> String {
    let from_name_section = info
        .and_then(|i| i.name())
        .map(sanitize)
        .filter(|n| !n.is_empty());
    match from_name_section {
        Some(name) if name.ends_with(".wasm") => name,
        Some(name) => format!("{name}.wasm"),
        None => match info.and_then(|i| i.component_role()) {
            Some(role) => format!("{role}.wasm"),
            None if index == 0 => "main.wasm".to_string(),
            None => format!("module{index}.wasm"),
        },
    }
}

/// Library names become file names on LLDB's side: keep them to one path component.
fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn unique_name(name: String, used: &mut HashMap<String, u32>) -> String {
    let count = used.entry(name.clone()).or_insert(0);
    *count += 1;
    if *count == 1 {
        name
    } else {
        let stem = name.strip_suffix(".wasm").unwrap_or(&name);
        format!("{stem}-{count}.wasm")
    }
}
