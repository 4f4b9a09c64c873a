//! The stub's view of the paused debuggee: its modules (bytecode fetched once and cached), their
//! protocol indices, the call stack at the current stop, and access to locals, globals, operand
//! stacks and linear memory. Everything read from the host at a stop is kept until the program
//! resumes, so each host query is made at most once per stop.

use crate::addr::{self, ModuleTraits, Site};
use crate::dwarf::LineTable;
use crate::host::{Host, HostError, Value};
use crate::wasm_module::ModuleInfo;
use std::cell::RefCell;
use std::collections::HashMap;

/// One core module of the debuggee, by protocol index.
pub struct Module<M> {
    pub handle: M,
    pub bytes: Vec<u8>,
    /// `None` when the bytecode did not parse; such a module is served but not analysed.
    pub info: Option<ModuleInfo>,
    pub name: String,
    /// Where source lines start, read from the DWARF on first use.
    lines: std::sync::OnceLock<LineTable>,
}

impl<M> Module<M> {
    /// The module's line table (empty without DWARF), read on first use from the sections the
    /// module's analysis located: module bytecode never changes during a run.
    pub fn line_table(&self) -> &LineTable {
        self.lines.get_or_init(|| match self.info.as_ref() {
            Some(info) if info.has_dwarf() => LineTable::read(&self.bytes, info.dwarf_sections()),
            _ => LineTable::default(),
        })
    }
}

/// One frame of the stack at the current stop, innermost first.
pub struct Frame<H: Host> {
    /// `None` for a caller taken over from the last stop (see
    /// [`Debuggee::keep_callers_after_step`]) until a request needs it.
    handle: RefCell<Option<H::Frame>>,
    pub site: Site,
    /// `None` when the program's only instance is the frame's (see `Debuggee::sole_instance`).
    pub instance: Option<H::Instance>,
}

/// Values read from one frame at this stop.
#[derive(Default)]
struct FrameValues {
    locals: Option<Option<Vec<Value>>>,
    /// Locals read one by one (see [`Debuggee::local`]).
    single_locals: HashMap<usize, Option<Value>>,
    operands: Option<Option<Vec<Value>>>,
}

pub struct Debuggee<H: Host> {
    pub host: H,
    pub modules: Vec<Module<H::Module>>,
    index_by_id: HashMap<u64, u32>,
    /// The first instance of each module, for memory accesses that name no frame.
    instances: HashMap<u32, H::Instance>,
    pub stack: Vec<Frame<H>>,
    /// Whether `stack` was read to its end.
    stack_complete: bool,
    /// Whether `stack` is one activation with every frame in it: each frame is then its
    /// predecessor's parent, so callers kept after a step can be found again by walking up.
    stack_is_one_chain: bool,
    /// The stack at the last stop, kept while the program runs (its frame handles are stale)
    /// for [`Debuggee::keep_callers_after_step`].
    previous_stack: Vec<Frame<H>>,
    module_of_instance: HashMap<u64, u32>,
    /// Locals and operand stacks read at this stop, by frame (LLDB asks one local per packet).
    values: RefCell<HashMap<usize, FrameValues>>,
    /// What of `values` still holds if the next stop is in the same activation (see
    /// [`Debuggee::keep_callers_after_step`]): the callers' values, and the innermost frame's
    /// locals that can no longer change.
    previous_values: HashMap<usize, FrameValues>,
    /// Linear memory read at this stop.
    memory: RefCell<MemoryCache>,
}

/// Reads of linear memory at one stop: memory sizes by module, and the pages read so far. LLDB
/// reads variables a few bytes at a time, mostly from the same stack frames; each host read is a
/// hand-off to the debuggee's thread.
#[derive(Default)]
struct MemoryCache {
    sizes: HashMap<u32, Option<(u64, u64)>>,
    pages: HashMap<(u32, u64), Vec<u8>>,
}

/// Granule of the memory cache.
const PAGE: u64 = 4096;
/// Reads longer than this go straight to the host (bulk reads are rarely repeated).
const MAX_CACHED_READ: usize = 64 * 1024;

/// Why a debuggee access failed; the text is what the client is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessError {
    NoSuchModule(u32),
    NoMemory(u32),
    OutOfBounds {
        offset: u64,
        len: usize,
        size: u64,
    },
    /// The debuggee is running: the host takes no request until it stops.
    Running,
    Host(HostError),
}

impl std::fmt::Display for AccessError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AccessError::NoSuchModule(m) => write!(f, "no module {m}"),
            AccessError::NoMemory(m) => write!(f, "module {m} has no linear memory"),
            AccessError::OutOfBounds { offset, len, size } => write!(
                f,
                "{len} bytes at {offset:#x} are outside linear memory ({size:#x} bytes)"
            ),
            AccessError::Running => f.write_str("the program is running"),
            AccessError::Host(e) => write!(f, "wasmtime refused: {e}"),
        }
    }
}

impl<H: Host> Debuggee<H> {
    /// Reads the module list and every module's bytecode. Called once, while the debuggee is
    /// paused before any guest code runs (Wasmtime registers all modules up front).
    pub fn new(host: H) -> Self {
        let mut fetched: Vec<(H::Module, Vec<u8>, Option<ModuleInfo>)> = host
            .modules()
            .into_iter()
            .map(|m| {
                let bytes = host.bytecode(&m);
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
        let mut slots: Vec<Option<_>> = fetched.drain(..).map(Some).collect();
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
            .map(|(i, m)| (host.module_id(&m.handle), i as u32))
            .collect();
        let mut debuggee = Debuggee {
            host,
            modules,
            index_by_id,
            instances: HashMap::new(),
            stack: Vec::new(),
            stack_complete: false,
            stack_is_one_chain: false,
            previous_stack: Vec::new(),
            module_of_instance: HashMap::new(),
            values: Default::default(),
            previous_values: HashMap::new(),
            memory: Default::default(),
        };
        debuggee.refresh_instances();
        debuggee
    }

    fn refresh_instances(&mut self) {
        for instance in self.host.instances() {
            if let Some(&index) = self
                .index_by_id
                .get(&self.host.instance_module_id(&instance))
            {
                self.instances.entry(index).or_insert(instance);
            }
        }
    }

    pub fn module(&self, index: u32) -> Option<&Module<H::Module>> {
        self.modules.get(index as usize)
    }

    /// Forgets everything read at the last stop: the program is about to run.
    pub fn forget_stop(&mut self) {
        let mut values = std::mem::take(self.values.get_mut());
        if !self.stack.is_empty() {
            self.previous_values.clear();
            let reusable = self.stack_complete && self.stack_is_one_chain;
            if reusable {
                let top = self.stack[0].site;
                if let Some(mut innermost) = values.remove(&0) {
                    let settled = |index: usize| {
                        self.module(top.module)
                            .and_then(|m| Some((m, m.info.as_ref()?)))
                            .is_some_and(|(m, info)| {
                                u32::try_from(index)
                                    .is_ok_and(|i| info.local_settled_at(&m.bytes, top.pc, i))
                            })
                    };
                    innermost
                        .single_locals
                        .retain(|&index, value| value.is_some() && settled(index));
                    let kept = FrameValues {
                        single_locals: innermost.single_locals,
                        ..FrameValues::default()
                    };
                    values.insert(0, kept);
                }
                self.previous_values = values;
            }
            let stack = std::mem::take(&mut self.stack);
            self.previous_stack = if reusable { stack } else { Vec::new() };
        }
        self.stack_complete = false;
        self.stack_is_one_chain = false;
        *self.memory.get_mut() = MemoryCache::default();
    }

    /// Re-reads the call stack; call at every stop. Frames whose module or pc cannot be read are
    /// skipped rather than failing the stop.
    pub fn refresh_stack(&mut self) {
        self.read_stack(usize::MAX);
    }

    /// Reads only the innermost frame, for the many stops that are decided by it alone (a watched
    /// store that misses). `stack` then holds just that frame until the next refresh.
    pub fn refresh_top(&mut self) -> Option<Site> {
        self.read_stack(1);
        self.stack.first().map(|f| f.site)
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

    /// Whether [`Debuggee::stack`] holds every frame (not just the innermost ones a quick check
    /// read).
    pub fn stack_is_complete(&self) -> bool {
        self.stack_complete
    }

    fn read_stack(&mut self, limit: usize) {
        self.forget_stop();
        if self.instances.len() < self.modules.len() {
            self.refresh_instances();
        }
        let sole_instance = self.sole_instance();
        let exits = self.host.exit_frames();
        let mut one_chain = exits.len() == 1;
        for exit in exits {
            let mut next = Some(exit);
            while let Some(frame) = next {
                if self.stack.len() >= limit {
                    return;
                }
                let (instance, module) = if sole_instance {
                    (None, Some(0))
                } else {
                    let instance = self.host.frame_instance(&frame);
                    let module = instance.as_ref().and_then(|i| self.instance_module(i));
                    (instance, module)
                };
                let found = module.zip(self.host.frame_pc(&frame));
                // The parent is asked for only when the walk goes on past this frame.
                let walk_on = found.is_none() || self.stack.len() + 1 < limit;
                next = if walk_on {
                    self.host.parent_frame(&frame)
                } else {
                    None
                };
                let Some((module, pc)) = found else {
                    one_chain = false;
                    continue;
                };
                self.stack.push(Frame {
                    handle: RefCell::new(Some(frame)),
                    site: Site { module, pc },
                    instance,
                });
                if !walk_on {
                    return;
                }
            }
        }
        self.stack_complete = true;
        self.stack_is_one_chain = one_chain;
    }

    /// After a step of an instruction that stays in its activation (see
    /// `ModuleInfo::stays_in_activation`), the program can only have stopped in that activation,
    /// so its callers are those of the last stop: takes them over under the innermost frame just
    /// read (the caller checked that it is where the step could land). Walking the stack costs
    /// two host requests per frame, and LLDB asks for the whole stack at every stop; the callers'
    /// handles are fetched only if a request needs them. Returns false, changing nothing, unless
    /// the last stop's whole stack is known and only the innermost frame has been read since.
    pub fn keep_callers_after_step(&mut self) -> bool {
        if self.stack.len() != 1 || self.previous_stack.is_empty() {
            return false;
        }
        let previous = std::mem::take(&mut self.previous_stack);
        let same_function = previous.first().is_some_and(|before| {
            let now = self.stack[0].site;
            before.site.module == now.module
                && self
                    .module(now.module)
                    .and_then(|m| m.info.as_ref())
                    .is_some_and(|info| {
                        info.func_containing(before.site.pc) == info.func_containing(now.pc)
                    })
        });
        for mut caller in previous.into_iter().skip(1) {
            *caller.handle.get_mut() = None;
            self.stack.push(caller);
        }
        self.stack_complete = true;
        self.stack_is_one_chain = true;
        // The same activation: its callers did not run, and its settled locals did not change.
        let mut kept = std::mem::take(&mut self.previous_values);
        if !same_function {
            kept.remove(&0);
        }
        *self.values.get_mut() = kept;
        true
    }

    /// Runs `f` on frame `frame`'s handle, first walking up from the nearest known frame to fetch
    /// a caller kept from the last stop. A walked frame whose pc differs from the kept one means
    /// the stack is not what was assumed: nothing is read from it (logged, as it is a bug).
    fn with_frame<R>(&self, frame: usize, f: impl FnOnce(&H::Frame) -> R) -> Option<R> {
        let known = (0..=frame).rev().find(|&i| {
            self.stack
                .get(i)
                .is_some_and(|fr| fr.handle.borrow().is_some())
        })?;
        for i in known + 1..=frame {
            let parent = {
                let child = self.stack[i - 1].handle.borrow();
                self.host.parent_frame(child.as_ref()?)?
            };
            let expected = self.stack[i].site.pc;
            if self.host.frame_pc(&parent) != Some(expected) {
                log::warn!("frame {i} is not at {expected:#x} as kept from the last stop");
                return None;
            }
            *self.stack[i].handle.borrow_mut() = Some(parent);
        }
        let handle = self.stack.get(frame)?.handle.borrow();
        Some(f(handle.as_ref()?))
    }

    /// Whether the program is one module with one instance (a core module run by `wasmtime
    /// run`), so that every frame is in that instance: one request then spares asking each frame
    /// for its instance, a round trip into Wasmtime per frame at every stop. Asked at every stop,
    /// since an embedder may instantiate a module again at any time.
    fn sole_instance(&mut self) -> bool {
        if self.modules.len() != 1 {
            return false;
        }
        let mut all = self.host.instances();
        if all.len() != 1 {
            return false;
        }
        self.instances.insert(0, all.remove(0));
        true
    }

    /// The protocol index of an instance's module, remembered per instance: every stop asks it
    /// for every frame.
    fn instance_module(&mut self, instance: &H::Instance) -> Option<u32> {
        let id = self.host.instance_id(instance);
        if let Some(&module) = self.module_of_instance.get(&id) {
            return Some(module);
        }
        let module = *self
            .index_by_id
            .get(&self.host.instance_module_id(instance))?;
        self.module_of_instance.insert(id, module);
        Some(module)
    }

    /// Each frame's site, innermost first.
    pub fn frame_sites(&self) -> Vec<Site> {
        self.stack.iter().map(|f| f.site).collect()
    }

    /// Where the program will start: the entry function of the primary module, shown at the
    /// initial stop before any guest code has run (there is no frame yet).
    pub fn entry_site(&self) -> Option<Site> {
        self.modules.iter().enumerate().find_map(|(i, m)| {
            let info = m.info.as_ref()?;
            let pc = info.func_entry(info.entry_func()?)?;
            Some(Site::new(i as u32, pc))
        })
    }

    /// The instance whose memory and globals accesses tagged with `module` mean: the one on the
    /// stack (a module instantiated twice: the running one), else the module's first instance.
    pub fn instance_of(&self, module: u32) -> Option<&H::Instance> {
        self.stack
            .iter()
            .find(|f| f.site.module == module)
            .and_then(|f| f.instance.as_ref())
            .or_else(|| self.instances.get(&module))
    }

    /// Size and page size, in bytes, of the memory that accesses tagged with `module` reach;
    /// `None` when that module's instance has no memory.
    pub fn memory_info(&self, module: u32) -> Option<(u64, u64)> {
        if let Some(&known) = self.memory.borrow().sizes.get(&module) {
            return known;
        }
        let info = self.host.memory_size(self.instance_of(module)?);
        self.memory.borrow_mut().sizes.insert(module, info);
        info
    }

    pub fn memory_size(&self, module: u32) -> Result<u64, AccessError> {
        self.memory_info(module)
            .map(|(size, _)| size)
            .ok_or(AccessError::NoMemory(module))
    }

    fn memory_range(
        &self,
        module: u32,
        offset: u64,
        len: usize,
    ) -> Result<&H::Instance, AccessError> {
        let instance = self
            .instance_of(module)
            .ok_or(AccessError::NoMemory(module))?;
        let size = self.memory_size(module)?;
        addr::exact_range(offset, len, size).ok_or(AccessError::OutOfBounds {
            offset,
            len,
            size,
        })?;
        Ok(instance)
    }

    pub fn read_memory(
        &self,
        module: u32,
        offset: u64,
        len: usize,
    ) -> Result<Vec<u8>, AccessError> {
        if len == 0 || len > MAX_CACHED_READ {
            let instance = self.memory_range(module, offset, len)?;
            return self
                .host
                .read_memory(instance, offset, len as u64)
                .map_err(AccessError::Host);
        }
        let end = offset
            .checked_add(len as u64)
            .ok_or_else(|| AccessError::OutOfBounds {
                offset,
                len,
                size: self.memory_size(module).unwrap_or(0),
            })?;
        let (first, last) = (offset / PAGE, (end - 1) / PAGE);
        let missing =
            (first..=last).any(|p| !self.memory.borrow().pages.contains_key(&(module, p)));
        if missing {
            let instance = self
                .instance_of(module)
                .ok_or(AccessError::NoMemory(module))?;
            // Whole pages are read without first asking the memory's size, a host request of its
            // own: with Wasm's 64 KiB pages a 4 KiB page is wholly inside the memory or wholly
            // outside. Only a failed read asks, to say why, or to read the end of a memory with
            // custom (smaller) pages, which may end inside a cached page.
            let span =
                match self
                    .host
                    .read_memory(instance, first * PAGE, (last + 1 - first) * PAGE)
                {
                    Ok(span) => span,
                    Err(_) => {
                        let instance = self.memory_range(module, offset, len)?;
                        let span_end = ((last + 1) * PAGE).min(self.memory_size(module)?);
                        self.host
                            .read_memory(instance, first * PAGE, span_end - first * PAGE)
                            .map_err(AccessError::Host)?
                    }
                };
            let mut cache = self.memory.borrow_mut();
            for (i, page) in span.chunks(PAGE as usize).enumerate() {
                cache
                    .pages
                    .insert((module, first + i as u64), page.to_vec());
            }
        }
        let cache = self.memory.borrow();
        let mut out = Vec::with_capacity(len);
        for p in first..=last {
            let page = cache
                .pages
                .get(&(module, p))
                .ok_or_else(|| AccessError::Host(HostError("short memory read".into())))?;
            let from = if p == first {
                (offset - p * PAGE) as usize
            } else {
                0
            };
            let to = if p == last {
                (end - p * PAGE) as usize
            } else {
                page.len()
            };
            out.extend_from_slice(
                page.get(from..to)
                    .ok_or_else(|| AccessError::Host(HostError("short memory read".into())))?,
            );
        }
        Ok(out)
    }

    pub fn write_memory(&self, module: u32, offset: u64, data: &[u8]) -> Result<(), AccessError> {
        let instance = self.memory_range(module, offset, data.len())?;
        // Whatever was read of this memory may now be stale.
        self.memory
            .borrow_mut()
            .pages
            .retain(|&(m, _), _| m != module);
        self.host
            .write_memory(instance, offset, data)
            .map_err(AccessError::Host)
    }

    /// Frame `frame`'s locals, read from the host once per stop.
    pub fn locals(&self, frame: usize) -> Option<Vec<Value>> {
        self.frame_values(frame, |v| &mut v.locals, |host, handle| host.locals(handle))
    }

    /// Local `index` of frame `frame`, read from the host once per stop. The first local asked
    /// of a frame is read alone (LLDB mostly wants just the frame base, in functions that may have
    /// thousands of locals); asking for another reads them all.
    pub fn local(&self, frame: usize, index: usize) -> Option<Value> {
        let read_all = match self.values.borrow().get(&frame) {
            Some(values) => {
                if let Some(Some(all)) = &values.locals {
                    return all.get(index).cloned();
                }
                if let Some(known) = values.single_locals.get(&index) {
                    return known.clone();
                }
                !values.single_locals.is_empty()
            }
            None => false,
        };
        if read_all {
            return self.locals(frame)?.get(index).cloned();
        }
        let value = self.with_frame(frame, |handle| self.host.local(handle, index))?;
        self.values
            .borrow_mut()
            .entry(frame)
            .or_default()
            .single_locals
            .insert(index, value.clone());
        value
    }

    /// Frame `frame`'s operand stack, bottom first, read from the host once per stop.
    pub fn operand_stack(&self, frame: usize) -> Option<Vec<Value>> {
        self.frame_values(
            frame,
            |v| &mut v.operands,
            |host, handle| host.operand_stack(handle),
        )
    }

    /// One kind of frame `frame`'s values (`slot` of its cache entry), read with `read` once per
    /// stop. A frame that cannot be reached is not remembered, so a later request tries again.
    fn frame_values(
        &self,
        frame: usize,
        slot: fn(&mut FrameValues) -> &mut Option<Option<Vec<Value>>>,
        read: impl FnOnce(&H, &H::Frame) -> Option<Vec<Value>>,
    ) -> Option<Vec<Value>> {
        if let Some(known) = self
            .values
            .borrow_mut()
            .get_mut(&frame)
            .and_then(|v| slot(v).clone())
        {
            return known;
        }
        let values = self.with_frame(frame, |handle| read(&self.host, handle))?;
        *slot(self.values.borrow_mut().entry(frame).or_default()) = Some(values.clone());
        values
    }

    pub fn global(&self, frame: usize, index: u32) -> Option<Value> {
        let instance = match self.stack.get(frame) {
            Some(f) => f
                .instance
                .as_ref()
                .or_else(|| self.instances.get(&f.site.module))?,
            // No frame yet (initial stop): the primary module's globals.
            None if frame == 0 => self.instances.get(&0)?,
            None => return None,
        };
        self.host.global(instance, index)
    }

    /// Plants a host breakpoint. Only the core calls this, and only while the program is paused.
    pub fn add_breakpoint(&self, site: Site) -> Result<(), AccessError> {
        let m = self
            .module(site.module)
            .ok_or(AccessError::NoSuchModule(site.module))?;
        self.host
            .add_breakpoint(&m.handle, site.pc)
            .map_err(AccessError::Host)
    }

    pub fn remove_breakpoint(&self, site: Site) -> Result<(), AccessError> {
        let m = self
            .module(site.module)
            .ok_or(AccessError::NoSuchModule(site.module))?;
        self.host
            .remove_breakpoint(&m.handle, site.pc)
            .map_err(AccessError::Host)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake_host::{FakeFrame, FakeHost};

    #[test]
    fn memory_is_read_from_the_host_once_per_stop_and_page() {
        let host = FakeHost::new(vec![Vec::new()]);
        host.state.borrow_mut().memories[0][5000..5008].copy_from_slice(b"abcdefgh");
        host.state.borrow_mut().stack = vec![FakeFrame::at(0, 0)];
        let mut debuggee = Debuggee::new(host);
        debuggee.refresh_stack();
        let before = debuggee.host.state.borrow().requests;
        assert_eq!(debuggee.read_memory(0, 5000, 4).unwrap(), b"abcd");
        assert_eq!(debuggee.read_memory(0, 5004, 4).unwrap(), b"efgh");
        // Across a page boundary, then inside the pages already read.
        assert_eq!(debuggee.read_memory(0, 4094, 4).unwrap(), [0, 0, 0, 0]);
        assert_eq!(debuggee.read_memory(0, 4090, 2000).unwrap().len(), 2000);
        // The first page once, the page before it once; the size is not needed.
        assert_eq!(debuggee.host.state.borrow().requests - before, 2);
        debuggee.write_memory(0, 5000, b"X").unwrap();
        assert_eq!(debuggee.read_memory(0, 5000, 2).unwrap(), b"Xb");
        assert!(debuggee.read_memory(0, 65535, 2).is_err());
        debuggee.refresh_stack();
        let before = debuggee.host.state.borrow().requests;
        assert_eq!(debuggee.read_memory(0, 5000, 2).unwrap(), b"Xb");
        assert_eq!(debuggee.host.state.borrow().requests - before, 1);
        // Past the end: the failed read asks the size, to say so.
        match debuggee.read_memory(0, 65534, 4) {
            Err(AccessError::OutOfBounds { size: 65536, .. }) => {}
            other => panic!("{other:?}"),
        }
    }
}
