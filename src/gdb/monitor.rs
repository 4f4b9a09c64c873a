//! `qRcmd` (LLDB's `process plugin packet monitor <command>`): reads what each monitor command
//! needs from the paused debuggee and hands it to `crate::monitor_text`, which parses the command
//! and formats the answer. A bad command gets usage text as console output and an `OK`, never an
//! error: a typo must not end the session.

use super::{Fatal, GdbTarget};
use crate::addr::Site;
use crate::host::{Host, Value};
use crate::monitor_text::{
    self as text, Command, DisasmLine, GlobalValue, MAX_GLOBALS, MemoryRow, ModuleRow,
};
use gdbstub::output;
use gdbstub::target::ext::monitor_cmd::{ConsoleOutput, MonitorCmd};

/// Wasmtime creates instances only once the program starts, and memories and globals live in
/// instances.
const NOT_STARTED: &str =
    "the program has not started yet: no instances, memories or globals exist\n";

impl<H: Host> MonitorCmd for GdbTarget<'_, H> {
    fn handle_monitor_cmd(&mut self, cmd: &[u8], mut out: ConsoleOutput<'_>) -> Result<(), Fatal> {
        log::info!("monitor {}", String::from_utf8_lossy(cmd));
        let reply = match text::parse(cmd) {
            Ok(command) => self.run_monitor(command),
            Err(usage) => usage,
        };
        output!(out, "{reply}");
        Ok(())
    }
}

impl<H: Host> GdbTarget<'_, H> {
    fn run_monitor(&mut self, command: Command) -> String {
        match command {
            Command::Help => text::help(),
            Command::Modules => self.monitor_modules(),
            Command::Memories => self.monitor_memories(),
            Command::Globals { module } => self.monitor_globals(module),
            Command::Disasm { addr, count } => self.monitor_disasm(addr, count),
            Command::Breakpoints => self.monitor_breakpoints(),
            Command::Log { level } => {
                let before = crate::logging::verbosity();
                crate::logging::set_verbosity(level);
                format!("log level {level} (was {before})\n")
            }
            Command::Stats => text::format_stats(
                own_memory_bytes(),
                &self.core.debuggee.host.take_request_tallies(),
            ),
        }
    }

    fn monitor_modules(&self) -> String {
        let rows: Vec<ModuleRow<'_>> = (0u32..)
            .zip(&self.core.debuggee.modules)
            .map(|(index, m)| ModuleRow {
                index,
                name: &m.name,
                size: m.bytes.len(),
                funcs: m.info.as_ref().map(|i| i.num_funcs()),
                dwarf: m.info.as_ref().map(|i| i.has_dwarf()),
            })
            .collect();
        text::format_modules(&rows)
    }

    fn monitor_memories(&self) -> String {
        let rows: Vec<MemoryRow> = (0u32..)
            .take(self.core.debuggee.modules.len())
            .filter_map(|module| {
                let (size, page_size) = self.core.debuggee.memory_info(module)?;
                Some(MemoryRow {
                    module,
                    size,
                    page_size,
                })
            })
            .collect();
        if rows.is_empty() && self.core.debuggee.stack.is_empty() {
            return NOT_STARTED.to_string();
        }
        text::format_memories(&rows)
    }

    fn monitor_globals(&self, module: Option<u32>) -> String {
        let module = module.unwrap_or_else(|| {
            self.core
                .debuggee
                .stack
                .first()
                .map_or(0, |f| f.site.module)
        });
        let Some(m) = self.core.debuggee.module(module) else {
            return format!(
                "globals: no module {module} (there are {})\nusage: globals [MODULE]\n",
                self.core.debuggee.modules.len()
            );
        };
        let debuggee = &self.core.debuggee;
        let Some(instance) = debuggee.instance_of(module) else {
            return if debuggee.stack.is_empty() {
                NOT_STARTED.to_string()
            } else {
                format!("module {module} ({}) has no instance\n", m.name)
            };
        };
        let mut values = Vec::new();
        let mut truncated = true;
        for index in 0..MAX_GLOBALS {
            match debuggee.host.global(instance, index) {
                Some(value) => values.push(global_value(&value)),
                None => {
                    truncated = false;
                    break;
                }
            }
        }
        text::format_globals(&format!("module {module} ({})", m.name), &values, truncated)
    }

    fn monitor_disasm(&self, addr: Option<u64>, count: usize) -> String {
        let Site { module, pc: offset } =
            match text::resolve_code_addr(addr, self.core.current_pc()) {
                Ok(site) => site,
                Err(message) => return message,
            };
        let debuggee = &self.core.debuggee;
        let Some(m) = debuggee.module(module) else {
            return format!(
                "disasm: no module {module} (there are {})\n",
                debuggee.modules.len()
            );
        };
        let Some(info) = m.info.as_ref() else {
            return format!(
                "disasm: module {module} ({}) could not be analysed\n",
                m.name
            );
        };
        let Some(func) = info.func_containing(offset) else {
            return format!(
                "disasm: offset {offset:#x} is not inside a function body of module {module} \
                 ({})\n",
                m.name
            );
        };
        let listing = match info.disassemble(&m.bytes, func) {
            Ok(listing) => listing,
            Err(e) => return format!("disasm: function {func} of module {module}: {e}\n"),
        };
        let offsets: Vec<u32> = listing.iter().map(|(o, _)| *o).collect();
        let (window, current) = text::disasm_window(&offsets, offset, count);
        let table = m.line_table();
        let lines: Vec<DisasmLine> = listing
            .get(window.clone())
            .unwrap_or_default()
            .iter()
            .zip(window)
            .map(|((pc, instr), i)| DisasmLine {
                addr: crate::addr::code_addr(module, *pc),
                text: instr.clone(),
                current: Some(i) == current,
                source: table
                    .line_start(*pc)
                    .map(|(file, line)| format!("{file}:{line}")),
            })
            .collect();
        let func_name = info
            .func_name(func)
            .map_or_else(String::new, |n| format!(" <{n}>"));
        let header = format!("{}: function {func}{func_name}", m.name);
        let mut notes = Vec::new();
        if current
            .and_then(|i| offsets.get(i))
            .is_some_and(|&start| start != offset)
        {
            notes.push(format!(
                "{:#x} is inside the marked instruction",
                crate::addr::code_addr(module, offset)
            ));
        }
        match table.problem() {
            Some(problem) => notes.push(format!("line table incomplete: {problem}")),
            None if info.has_dwarf() && table.is_empty() => {
                notes.push("the DWARF has no line table".to_string())
            }
            None => {}
        }
        let note = (!notes.is_empty()).then(|| notes.join("; "));
        text::format_disasm(&header, &lines, note.as_deref())
    }

    fn monitor_breakpoints(&self) -> String {
        let user: Vec<_> = self
            .core
            .breakpoints
            .user_sites()
            .map(|(s, b)| (*s, b.clone()))
            .collect();
        let bps = &self.core.breakpoints;
        let planted: Vec<(Site, bool)> = bps
            .planted()
            .iter()
            .map(|&s| (s, bps.is_lingering(s)))
            .collect();
        let label = |site: Site| {
            let m = self.core.debuggee.module(site.module)?;
            let info = m.info.as_ref()?;
            let func = info.func_containing(site.pc)?;
            // Relative to the function's address as LLDB shows it (DWARF's low_pc, the locals).
            let delta = site.pc.checked_sub(info.func_body_range(func)?.start)?;
            let name = info
                .func_name(func)
                .map_or_else(|| format!("func[{func}]"), str::to_string);
            Some(format!("{}`{name}+{delta:#x}", m.name))
        };
        text::format_breakpoints(
            &user,
            self.core.breakpoints.step_targets(),
            &planted,
            &self.core.breakpoints.pending(),
            &label,
        )
    }
}

/// The component's own linear memory (memory 0 of its core module), for `stats`.
fn own_memory_bytes() -> Option<u64> {
    #[cfg(target_arch = "wasm32")]
    return Some(core::arch::wasm32::memory_size(0) as u64 * 65536);
    #[cfg(not(target_arch = "wasm32"))]
    None
}

fn global_value(value: &Value) -> GlobalValue {
    match *value {
        Value::I32(v) => GlobalValue::I32(v),
        Value::I64(v) => GlobalValue::I64(v),
        Value::F32(bits) => GlobalValue::F32(f32::from_bits(bits)),
        Value::F64(bits) => GlobalValue::F64(f64::from_bits(bits)),
        Value::V128(bytes) => GlobalValue::V128(bytes.to_vec()),
        Value::FuncRef => GlobalValue::FuncRef,
        Value::ExnRef => GlobalValue::ExnRef,
    }
}
