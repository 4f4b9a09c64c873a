//! The text side of the stub's `monitor` commands (`qRcmd`, which LLDB sends for
//! `process plugin packet monitor`): parsing what the user typed, choosing the instructions a
//! `disasm` shows, and formatting every command's output. Source lines for `disasm` come from
//! [`crate::dwarf`], instruction text from [`crate::disassembly`].
//!
//! Nothing here touches the debuggee, so it builds and is unit-tested on the host;
//! `gdb::monitor` reads the debuggee and hands the data to these functions. Every input is
//! untrusted: a bad command or number yields a message, never a panic.

use crate::addr::{Location, Site};
use crate::breakpoints::{Edits, StepTarget, UserBreakpoint};
use crate::host::{PROGRAM_RUNNING, RequestTally};
use std::fmt::Write;
use std::ops::Range;

/// Instructions `disasm` shows when no count is given.
pub const DEFAULT_DISASM_COUNT: usize = 16;
/// Keeps one reply to a size LLDB prints comfortably.
pub const MAX_DISASM_COUNT: usize = 1024;
pub const MAX_LOG_LEVEL: u8 = 2;
/// `globals` stops here even if the instance has more: the listing is for reading, not dumping.
pub const MAX_GLOBALS: u32 = 4096;

/// One parsed monitor command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Help,
    Modules,
    Memories,
    /// `None`: the current frame's module.
    Globals {
        module: Option<u32>,
    },
    /// `addr: None`: the current pc.
    Disasm {
        addr: Option<u64>,
        count: usize,
    },
    Breakpoints,
    Log {
        level: u8,
    },
    Stats,
}

struct Spec {
    name: &'static str,
    args: &'static str,
    about: &'static str,
}

const COMMANDS: &[Spec] = &[
    Spec {
        name: "help",
        args: "",
        about: "list these commands",
    },
    Spec {
        name: "modules",
        args: "",
        about: "core modules: protocol index, name, bytecode size, functions, DWARF",
    },
    Spec {
        name: "memories",
        args: "",
        about: "linear memory of each module's instance: size, page size",
    },
    Spec {
        name: "globals",
        args: "[MODULE]",
        about: "globals of a module's instance (default: the current frame's module)",
    },
    Spec {
        name: "disasm",
        args: "[ADDR|pc] [N]",
        about: "N instructions (default 16) around ADDR (default: the pc); ADDR: a code \
                address (0x4000...) or an offset in the current module",
    },
    Spec {
        name: "breakpoints",
        args: "",
        about: "user breakpoints and the internal ones of a step",
    },
    Spec {
        name: "log",
        args: "LEVEL",
        about: "stub logging to stderr: 0 off, 1 events, 2 details",
    },
    Spec {
        name: "stats",
        args: "",
        about: "the stub's own resource use: its linear memory, and its requests to Wasmtime \
                (count and time by kind) since the last `stats`",
    },
];

/// The list of commands with one-line usage.
pub fn help() -> String {
    let mut out = String::from("monitor commands:\n");
    let width = COMMANDS
        .iter()
        .map(|c| synopsis(c).len())
        .max()
        .unwrap_or(0);
    for spec in COMMANDS {
        let _ = writeln!(out, "  {:<width$}  {}", synopsis(spec), spec.about);
    }
    out
}

fn synopsis(spec: &Spec) -> String {
    if spec.args.is_empty() {
        spec.name.to_string()
    } else {
        format!("{} {}", spec.name, spec.args)
    }
}

/// A complaint about one command followed by how to use it.
fn usage_error(name: &str, problem: &str) -> String {
    match COMMANDS.iter().find(|c| c.name == name) {
        Some(spec) => format!(
            "{name}: {problem}\nusage: {}\n  {}\n",
            synopsis(spec),
            spec.about
        ),
        None => format!("{problem}\n{}", help()),
    }
}

/// Parses a command line. `Err` carries the text to show instead: what was wrong, then usage.
pub fn parse(raw: &[u8]) -> Result<Command, String> {
    let line = String::from_utf8_lossy(raw);
    let mut words = line.split_whitespace();
    let Some(first) = words.next() else {
        return Ok(Command::Help);
    };
    let args: Vec<&str> = words.collect();
    let name = first.to_ascii_lowercase();
    let expect_none = |command: Command| {
        if args.is_empty() {
            Ok(command)
        } else {
            Err(usage_error(
                &name,
                &format!("unexpected argument `{}`", args[0]),
            ))
        }
    };
    match name.as_str() {
        "help" | "?" => Ok(Command::Help),
        "modules" => expect_none(Command::Modules),
        "memories" => expect_none(Command::Memories),
        "breakpoints" => expect_none(Command::Breakpoints),
        "stats" => expect_none(Command::Stats),
        "globals" => match args.as_slice() {
            [] => Ok(Command::Globals { module: None }),
            [module] => match parse_number(module).and_then(|m| u32::try_from(m).ok()) {
                Some(module) => Ok(Command::Globals {
                    module: Some(module),
                }),
                None => Err(usage_error(
                    "globals",
                    &format!("bad module index `{module}`"),
                )),
            },
            [_, extra, ..] => Err(usage_error(
                "globals",
                &format!("unexpected argument `{extra}`"),
            )),
        },
        "disasm" => parse_disasm(&args),
        "log" => match args.as_slice() {
            [level] => match parse_number(level).and_then(|l| u8::try_from(l).ok()) {
                Some(level) if level <= MAX_LOG_LEVEL => Ok(Command::Log { level }),
                _ => Err(usage_error(
                    "log",
                    &format!("bad level `{level}` (0 to {MAX_LOG_LEVEL})"),
                )),
            },
            [] => Err(usage_error("log", "missing LEVEL")),
            [_, extra, ..] => Err(usage_error(
                "log",
                &format!("unexpected argument `{extra}`"),
            )),
        },
        _ => Err(usage_error("", &format!("unknown command `{first}`"))),
    }
}

fn parse_disasm(args: &[&str]) -> Result<Command, String> {
    let addr = match args.first() {
        None => None,
        Some(word) if word.eq_ignore_ascii_case("pc") => None,
        Some(word) => match parse_number(word) {
            Some(addr) => Some(addr),
            None => return Err(usage_error("disasm", &format!("bad address `{word}`"))),
        },
    };
    let count = match args.get(1) {
        None => DEFAULT_DISASM_COUNT,
        Some(word) => match parse_number(word).and_then(|n| usize::try_from(n).ok()) {
            Some(n) if (1..=MAX_DISASM_COUNT).contains(&n) => n,
            _ => {
                return Err(usage_error(
                    "disasm",
                    &format!("bad count `{word}` (1 to {MAX_DISASM_COUNT})"),
                ));
            }
        },
    };
    if let Some(extra) = args.get(2) {
        return Err(usage_error(
            "disasm",
            &format!("unexpected argument `{extra}`"),
        ));
    }
    Ok(Command::Disasm { addr, count })
}

/// A decimal or `0x`-prefixed hexadecimal number. Signs, blanks and overflow are rejected.
pub fn parse_number(word: &str) -> Option<u64> {
    let (digits, radix) = match word.strip_prefix("0x").or_else(|| word.strip_prefix("0X")) {
        Some(hex) => (hex, 16),
        None => (word, 10),
    };
    // from_str_radix alone would accept a leading `+`.
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

/// The module and offset `disasm` starts from. A protocol code address names both; a small number
/// (what the address space calls memory of module 0) is taken as an offset into the current
/// module, since nobody disassembles linear memory and offsets are what tools like objdump show.
pub fn resolve_code_addr(addr: Option<u64>, current_pc: u64) -> Result<Site, String> {
    let current = match Location::decode(current_pc) {
        Some(Location::Code(site)) => Some(site),
        _ => None,
    };
    match addr {
        None => current.ok_or_else(|| {
            "disasm: there is no current instruction (no frame and no entry point)\n".to_string()
        }),
        Some(raw) => match Location::decode(raw) {
            Some(Location::Code(site)) => Ok(site),
            Some(Location::Memory { module: 0, offset }) => {
                Ok(Site::new(current.map_or(0, |site| site.module), offset))
            }
            _ => Err(usage_error(
                "disasm",
                &format!("{raw:#x} is not a code address or a module offset"),
            )),
        },
    }
}

/// Which of a function's instructions (their offsets, ascending) a `disasm` of `count` shows for
/// `pc`, and the index of the instruction containing `pc` (`None` when `pc` lies before the first
/// instruction, among the locals declarations). A few instructions before `pc` give context; at
/// the function's edges the window shifts so it stays full.
pub fn disasm_window(offsets: &[u32], pc: u32, count: usize) -> (Range<usize>, Option<usize>) {
    let current = offsets.partition_point(|&o| o <= pc).checked_sub(1);
    let count = count.min(offsets.len());
    let before = (count / 4).min(4);
    let start = current
        .unwrap_or(0)
        .saturating_sub(before)
        .min(offsets.len() - count);
    (start..start + count, current)
}

/// One line of a `disasm` listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisasmLine {
    /// Protocol address of the instruction.
    pub addr: u64,
    pub text: String,
    pub current: bool,
    /// `file:line` when a source line starts at this instruction.
    pub source: Option<String>,
}

pub fn format_disasm(header: &str, lines: &[DisasmLine], note: Option<&str>) -> String {
    let mut out = format!("{header}\n");
    let width = lines.iter().map(|l| l.text.len()).max().unwrap_or(0);
    for line in lines {
        let marker = if line.current { "=>" } else { "  " };
        match &line.source {
            Some(source) => {
                let _ = writeln!(
                    out,
                    "{marker} {:#018x}: {:<width$}  ; {source}",
                    line.addr, line.text
                );
            }
            None => {
                let _ = writeln!(out, "{marker} {:#018x}: {}", line.addr, line.text);
            }
        }
    }
    if let Some(note) = note {
        let _ = writeln!(out, "({note})");
    }
    out
}

/// What `modules` shows for one module. `None` fields: the bytecode did not parse.
#[derive(Debug, Clone)]
pub struct ModuleRow<'a> {
    pub index: u32,
    pub name: &'a str,
    pub size: usize,
    pub funcs: Option<u32>,
    pub dwarf: Option<bool>,
}

pub fn format_modules(rows: &[ModuleRow<'_>]) -> String {
    if rows.is_empty() {
        return "no modules\n".to_string();
    }
    let width = rows
        .iter()
        .map(|r| r.name.len())
        .max()
        .unwrap_or(0)
        .max("name".len());
    let mut out = format!(
        "index  {:<width$}  {:>10}  {:>9}  dwarf\n",
        "name", "bytes", "functions"
    );
    for row in rows {
        let funcs = row.funcs.map_or_else(|| "?".to_string(), |n| n.to_string());
        let dwarf = match row.dwarf {
            Some(true) => "yes",
            Some(false) => "no",
            None => "?",
        };
        let _ = writeln!(
            out,
            "{:>5}  {:<width$}  {:>10}  {:>9}  {dwarf}",
            row.index, row.name, row.size, funcs
        );
    }
    out
}

/// What `memories` shows for one module whose instance has a linear memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryRow {
    pub module: u32,
    pub size: u64,
    pub page_size: u64,
}

pub fn format_memories(rows: &[MemoryRow]) -> String {
    if rows.is_empty() {
        return "no module instance has a linear memory\n".to_string();
    }
    let mut out = format!("module  {:>12}  {:>7}  page size\n", "bytes", "pages");
    for row in rows {
        let pages = row
            .size
            .checked_div(row.page_size)
            .map_or_else(|| "?".to_string(), |p| p.to_string());
        let _ = writeln!(
            out,
            "{:>6}  {:>12}  {pages:>7}  {}",
            row.module, row.size, row.page_size
        );
    }
    out
}

/// A global's value, copied out of the host's representation.
#[derive(Debug, Clone, PartialEq)]
pub enum GlobalValue {
    I32(u32),
    I64(u64),
    F32(f32),
    F64(f64),
    V128(Vec<u8>),
    FuncRef,
    ExnRef,
}

impl GlobalValue {
    fn type_name(&self) -> &'static str {
        match self {
            GlobalValue::I32(_) => "i32",
            GlobalValue::I64(_) => "i64",
            GlobalValue::F32(_) => "f32",
            GlobalValue::F64(_) => "f64",
            GlobalValue::V128(_) => "v128",
            GlobalValue::FuncRef => "funcref",
            GlobalValue::ExnRef => "exnref",
        }
    }

    fn text(&self) -> String {
        match self {
            GlobalValue::I32(v) => format!("{v:#010x} ({})", *v as i32),
            GlobalValue::I64(v) => format!("{v:#018x} ({})", *v as i64),
            GlobalValue::F32(v) => format!("{v:?} (bits {:#010x})", v.to_bits()),
            GlobalValue::F64(v) => format!("{v:?} (bits {:#018x})", v.to_bits()),
            // Little-endian lanes, shown as the one 128-bit number they encode.
            GlobalValue::V128(bytes) => {
                let digits: String = bytes.iter().rev().map(|b| format!("{b:02x}")).collect();
                format!("0x{digits}")
            }
            GlobalValue::FuncRef | GlobalValue::ExnRef => "(reference)".to_string(),
        }
    }
}

/// `globals` output. `truncated`: the listing stopped at [`MAX_GLOBALS`], not at the first index
/// the instance does not have.
pub fn format_globals(header: &str, values: &[GlobalValue], truncated: bool) -> String {
    let mut out = format!("{header}\n");
    if values.is_empty() {
        out.push_str("no globals\n");
        return out;
    }
    out.push_str("index  type     value\n");
    for (index, value) in values.iter().enumerate() {
        let _ = writeln!(
            out,
            "{index:>5}  {:<7}  {}",
            value.type_name(),
            value.text()
        );
    }
    if truncated {
        let _ = writeln!(out, "(first {MAX_GLOBALS} shown)");
    }
    out
}

/// `stats` output. `memory_bytes`: the component's linear memory, which only grows, so a
/// long session that keeps growing it is leaking (`None` off wasm32, where there is none).
/// `requests`: the requests made to Wasmtime since the last `stats`, by kind.
pub fn format_stats(memory_bytes: Option<u64>, requests: &[(&str, RequestTally)]) -> String {
    let mut text = match memory_bytes {
        Some(bytes) => format!(
            "stub memory: {bytes} bytes ({} pages of 64 KiB)\n",
            bytes / 65536
        ),
        None => "stub memory: unknown (not running as a wasm component)\n".to_string(),
    };
    let mut rows: Vec<&(&str, RequestTally)> = requests
        .iter()
        .filter(|(kind, _)| *kind != PROGRAM_RUNNING)
        .collect();
    rows.sort_by(|a, b| b.1.micros.cmp(&a.1.micros).then(a.0.cmp(b.0)));
    let count: u64 = rows.iter().map(|(_, t)| t.count).sum();
    let micros: u64 = rows.iter().map(|(_, t)| t.micros).sum();
    let ms = |micros: u64| micros as f64 / 1000.0;
    text += &format!(
        "requests to Wasmtime since the last `stats`: {count} in {:.3} ms\n",
        ms(micros)
    );
    for (kind, tally) in rows {
        text += &format!(
            "  {kind:<18} {:>8} {:>11.3} ms {:>8.1} us each\n",
            tally.count,
            ms(tally.micros),
            tally.micros as f64 / tally.count.max(1) as f64
        );
    }
    if let Some((_, running)) = requests.iter().find(|(kind, _)| *kind == PROGRAM_RUNNING) {
        text += &format!(
            "program running: {} resumptions, {:.3} ms from resumption to event\n",
            running.count,
            ms(running.micros)
        );
    }
    text
}

/// `breakpoints` output. `label` names a site's function when it can (e.g. `app.wasm`fact+0x12`).
pub fn format_breakpoints(
    user: &[(Site, UserBreakpoint)],
    step: &[StepTarget],
    planted: &[(Site, bool)],
    pending: &Edits,
    label: &dyn Fn(Site) -> Option<String>,
) -> String {
    let site_text = |site: Site| {
        let addr = site.addr();
        match label(site) {
            Some(label) => format!("{addr:#018x}  {label}"),
            None => format!("{addr:#018x}  module {} +{:#x}", site.module, site.pc),
        }
    };
    let mut out = String::new();
    if user.is_empty() {
        out.push_str("user breakpoints: none\n");
    } else {
        let _ = writeln!(out, "user breakpoints ({}):", user.len());
        for (site, bp) in user {
            let _ = match bp.only_at_depth {
                Some(depth) => {
                    writeln!(out, "  {}  (only at stack depth {depth})", site_text(*site))
                }
                None => writeln!(out, "  {}", site_text(*site)),
            };
        }
    }
    if step.is_empty() {
        out.push_str("step breakpoints: none\n");
    } else {
        let _ = writeln!(out, "step breakpoints ({}):", step.len());
        for target in step {
            let _ = writeln!(
                out,
                "  {}  (at stack depth {})",
                site_text(target.site),
                target.depth
            );
        }
    }
    if planted.is_empty() {
        out.push_str("planted in Wasmtime: none\n");
    } else {
        let _ = writeln!(out, "planted in Wasmtime ({}):", planted.len());
        for &(site, lingering) in planted {
            // Removing costs a recompilation, so the stub leaves these until they are hit.
            let note = if lingering {
                "  (no longer wanted; removed once the program stops there)"
            } else {
                ""
            };
            let _ = writeln!(out, "  {}{note}", site_text(site));
        }
    }
    // Edits reach Wasmtime just before the program resumes, as one net change.
    for (what, sites) in [("to plant", &pending.add), ("to remove", &pending.remove)] {
        if !sites.is_empty() {
            let _ = writeln!(out, "{what} when the program resumes ({}):", sites.len());
            for site in sites {
                let _ = writeln!(out, "  {}", site_text(*site));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_and_defaults() {
        assert_eq!(parse(b""), Ok(Command::Help));
        assert_eq!(parse(b"  help "), Ok(Command::Help));
        assert_eq!(parse(b"MODULES"), Ok(Command::Modules));
        assert_eq!(parse(b"memories"), Ok(Command::Memories));
        assert_eq!(parse(b"breakpoints"), Ok(Command::Breakpoints));
        assert_eq!(parse(b"globals"), Ok(Command::Globals { module: None }));
        assert_eq!(
            parse(b"globals 0x2"),
            Ok(Command::Globals { module: Some(2) })
        );
        assert_eq!(
            parse(b"disasm"),
            Ok(Command::Disasm {
                addr: None,
                count: DEFAULT_DISASM_COUNT
            })
        );
        assert_eq!(
            parse(b"disasm 0x4000000000000123 4"),
            Ok(Command::Disasm {
                addr: Some(0x4000_0000_0000_0123),
                count: 4
            })
        );
        assert_eq!(
            parse(b"disasm pc 2"),
            Ok(Command::Disasm {
                addr: None,
                count: 2
            })
        );
        assert_eq!(parse(b"log 2"), Ok(Command::Log { level: 2 }));
        assert_eq!(parse(b"Stats"), Ok(Command::Stats));
        assert!(parse(b"stats now").is_err());
        assert_eq!(
            format_stats(Some(3 * 65536), &[]),
            "stub memory: 196608 bytes (3 pages of 64 KiB)\n\
             requests to Wasmtime since the last `stats`: 0 in 0.000 ms\n"
        );
    }

    #[test]
    fn stats_list_requests_by_time_and_running_apart() {
        let tally = |count, micros| RequestTally { count, micros };
        let text = format_stats(
            None,
            &[
                ("get-pc", tally(16, 96)),
                (PROGRAM_RUNNING, tally(2, 500)),
                ("add-breakpoint", tally(1, 230)),
            ],
        );
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[1],
            "requests to Wasmtime since the last `stats`: 17 in 0.326 ms"
        );
        assert!(lines[2].starts_with("  add-breakpoint") && lines[2].ends_with("230.0 us each"));
        assert!(lines[3].starts_with("  get-pc") && lines[3].contains(" 16 "));
        assert!(lines[3].ends_with("6.0 us each"), "{}", lines[3]);
        assert_eq!(
            lines[4],
            "program running: 2 resumptions, 0.500 ms from resumption to event"
        );
    }

    #[test]
    fn bad_input_answers_with_usage() {
        let cases: &[(&[u8], &str)] = &[
            (b"frobnicate", "unknown command `frobnicate`"),
            (b"\xff\xfe", "unknown command"),
            (b"log", "missing LEVEL"),
            (b"log 3", "bad level `3`"),
            (b"log -1", "bad level"),
            (b"log 1 2", "unexpected argument `2`"),
            (b"globals x", "bad module index `x`"),
            (b"globals 99999999999", "bad module index"),
            (b"disasm 0xzz", "bad address `0xzz`"),
            (b"disasm pc 0", "bad count `0`"),
            (b"disasm pc 1025", "bad count"),
            (b"disasm pc 99999999999999999999999", "bad count"),
            (b"disasm 1 2 3", "unexpected argument `3`"),
            (b"modules now", "unexpected argument `now`"),
        ];
        for (input, problem) in cases {
            let message = parse(input).expect_err(&String::from_utf8_lossy(input));
            assert!(message.contains(problem), "{message}");
            assert!(
                message.contains("usage:") || message.contains("monitor commands:"),
                "{message}"
            );
        }
        assert!(parse(b"nope").unwrap_err().contains("disasm [ADDR|pc] [N]"));
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_number("42"), Some(42));
        assert_eq!(parse_number("0x2A"), Some(42));
        assert_eq!(parse_number("0XfF"), Some(255));
        assert_eq!(parse_number("0x"), None);
        assert_eq!(parse_number("+1"), None);
        assert_eq!(parse_number(""), None);
        assert_eq!(parse_number("1f"), None);
        assert_eq!(parse_number("0xffffffffffffffff"), Some(u64::MAX));
        assert_eq!(parse_number("0x10000000000000000"), None);
    }

    #[test]
    fn code_addresses_and_offsets() {
        let pc = 0x4000_0002_0000_0050;
        assert_eq!(resolve_code_addr(None, pc), Ok(Site::new(2, 0x50)));
        assert_eq!(
            resolve_code_addr(Some(0x4000_0001_0000_0010), pc),
            Ok(Site::new(1, 0x10))
        );
        // A bare offset is in the current frame's module.
        assert_eq!(resolve_code_addr(Some(0x10), pc), Ok(Site::new(2, 0x10)));
        assert_eq!(resolve_code_addr(Some(0x10), 0), Ok(Site::new(0, 0x10)));
        assert!(resolve_code_addr(None, 0).is_err());
        // Memory of another module, and the reserved address types.
        assert!(
            resolve_code_addr(Some(0x0000_0001_0000_0010), pc)
                .unwrap_err()
                .contains("usage:")
        );
        assert!(resolve_code_addr(Some(u64::MAX), pc).is_err());
    }

    #[test]
    fn window_keeps_context_and_stays_full() {
        let offsets: Vec<u32> = (0..40).map(|i| 100 + 2 * i).collect();
        // pc in the middle: four before it.
        assert_eq!(disasm_window(&offsets, 140, 16), (16..32, Some(20)));
        // Inside an instruction: that instruction is the current one.
        assert_eq!(disasm_window(&offsets, 141, 16), (16..32, Some(20)));
        assert_eq!(disasm_window(&offsets, 100, 16), (0..16, Some(0)));
        // Near the end the window slides back to stay full.
        assert_eq!(disasm_window(&offsets, 178, 16), (24..40, Some(39)));
        // Before the first instruction (locals declarations): no current one.
        assert_eq!(disasm_window(&offsets, 99, 3), (0..3, None));
        assert_eq!(disasm_window(&offsets, 140, 1000), (0..40, Some(20)));
        assert_eq!(disasm_window(&offsets, 140, 1), (20..21, Some(20)));
        assert_eq!(disasm_window(&[], 140, 16), (0..0, None));
    }

    #[test]
    fn disasm_lines() {
        let lines = [
            DisasmLine {
                addr: 0x4000_0000_0000_0120,
                text: "local.get 0".into(),
                current: false,
                source: Some("app.c:17".into()),
            },
            DisasmLine {
                addr: 0x4000_0000_0000_0122,
                text: "i32.add".into(),
                current: true,
                source: None,
            },
        ];
        let text = format_disasm("app.wasm: function 3 <fact>", &lines, Some("no line table"));
        assert_eq!(
            text,
            "app.wasm: function 3 <fact>\n   0x4000000000000120: local.get 0  ; app.c:17\n\
             => 0x4000000000000122: i32.add\n(no line table)\n"
        );
    }

    #[test]
    fn tables() {
        let modules = format_modules(&[
            ModuleRow {
                index: 0,
                name: "app.wasm",
                size: 1234,
                funcs: Some(12),
                dwarf: Some(true),
            },
            ModuleRow {
                index: 1,
                name: "m.wasm",
                size: 9,
                funcs: None,
                dwarf: None,
            },
        ]);
        let lines: Vec<&str> = modules.lines().collect();
        assert_eq!(lines[0], "index  name           bytes  functions  dwarf");
        assert_eq!(lines[1], "    0  app.wasm        1234         12  yes");
        assert_eq!(lines[2], "    1  m.wasm             9          ?  ?");

        let memories = format_memories(&[MemoryRow {
            module: 0,
            size: 131072,
            page_size: 65536,
        }]);
        assert_eq!(
            memories.lines().nth(1),
            Some("     0        131072        2  65536")
        );
        assert!(
            format_memories(&[MemoryRow {
                module: 3,
                size: 5,
                page_size: 0
            }])
            .contains(" ?")
        );
        assert!(format_memories(&[]).contains("no module instance"));

        let globals = format_globals(
            "module 0 (app.wasm)",
            &[
                GlobalValue::I32(u32::MAX),
                GlobalValue::I64(5),
                GlobalValue::F32(1.5),
                GlobalValue::V128((0..16).collect()),
                GlobalValue::FuncRef,
            ],
            true,
        );
        let lines: Vec<&str> = globals.lines().collect();
        assert_eq!(lines[2], "    0  i32      0xffffffff (-1)");
        assert_eq!(lines[3], "    1  i64      0x0000000000000005 (5)");
        assert_eq!(lines[4], "    2  f32      1.5 (bits 0x3fc00000)");
        assert_eq!(
            lines[5],
            "    3  v128     0x0f0e0d0c0b0a09080706050403020100"
        );
        assert_eq!(lines[6], "    4  funcref  (reference)");
        assert!(lines[7].contains("4096"));
        assert!(format_globals("m", &[], false).contains("no globals"));
    }

    #[test]
    fn breakpoint_listing() {
        let site = |pc| Site { module: 0, pc };
        let label = |s: Site| (s.pc == 0x10).then(|| "app.wasm`fact+0x2".to_string());
        let text = format_breakpoints(
            &[
                (site(0x10), UserBreakpoint::default()),
                (
                    site(0x20),
                    UserBreakpoint {
                        only_at_depth: Some(3),
                        ..Default::default()
                    },
                ),
            ],
            &[StepTarget {
                site: site(0x30),
                depth: 2,
            }],
            &[
                (site(0x10), false),
                (site(0x20), false),
                (site(0x30), false),
                (site(0x50), true),
            ],
            &Edits {
                add: vec![site(0x40)],
                remove: vec![site(0x30)],
            },
            &label,
        );
        assert!(
            text.contains("user breakpoints (2):\n  0x4000000000000010  app.wasm`fact+0x2\n"),
            "{text}"
        );
        assert!(
            text.contains("0x4000000000000020  module 0 +0x20  (only at stack depth 3)"),
            "{text}"
        );
        assert!(
            text.contains(
                "step breakpoints (1):\n  0x4000000000000030  module 0 +0x30  (at stack depth 2)"
            ),
            "{text}"
        );
        assert!(text.contains("planted in Wasmtime (4):"), "{text}");
        assert!(
            text.contains("  0x4000000000000050  module 0 +0x50  (no longer wanted; removed once the program stops there)\n"),
            "{text}"
        );
        assert!(
            text.ends_with(
                "to plant when the program resumes (1):\n  0x4000000000000040  module 0 +0x40\n\
                 to remove when the program resumes (1):\n  0x4000000000000030  module 0 +0x30\n"
            ),
            "{text}"
        );
        let empty = format_breakpoints(&[], &[], &[], &Edits::default(), &|_| None);
        assert_eq!(
            empty,
            "user breakpoints: none\nstep breakpoints: none\nplanted in Wasmtime: none\n"
        );
    }

    #[test]
    fn help_lists_every_command() {
        let text = help();
        for spec in COMMANDS {
            assert!(text.contains(&synopsis(spec)), "{text}");
        }
    }
}
