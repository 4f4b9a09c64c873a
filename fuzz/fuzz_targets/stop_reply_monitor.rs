//! Fuzz target: the stop-reply editor (`src/rsp.rs`), which rewrites bytes about to go to
//! the client, and the monitor command text (`src/monitor_text.rs`), which parses what the user
//! typed after `monitor` and formats the answers.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use wasm_gdbstub::addr::Site;
use wasm_gdbstub::breakpoints::{Edits, StepTarget, UserBreakpoint};
use wasm_gdbstub::monitor_text::{self as text, Command, DisasmLine, GlobalValue, MemoryRow, ModuleRow};
use wasm_gdbstub::rsp::{append_fields, hex_text};

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    wire: &'a [u8],
    fields: Vec<(u8, &'a str)>,
    command: &'a [u8],
    pc: u64,
    offsets: Vec<u32>,
    window_pc: u32,
    count: u16,
    numbers: Vec<&'a str>,
    sites: Vec<(u32, u32, Option<u16>)>,
    globals: Vec<(u8, u64)>,
}

const KEYS: [&str; 4] = ["description", "reason", "thread", "00"];

fn checksum_ok(packet: &[u8]) -> bool {
    let Some(hash) = packet.iter().rposition(|&b| b == b'#') else { return false };
    let sum = packet[1..hash].iter().fold(0u8, |s, b| s.wrapping_add(*b));
    std::str::from_utf8(&packet[hash + 1..]).ok().and_then(|t| u8::from_str_radix(t, 16).ok()) == Some(sum)
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = Input::arbitrary_take_rest(Unstructured::new(data)) else { return };

    let fields: Vec<(&str, String)> = input
        .fields
        .iter()
        .map(|&(k, v)| (KEYS[usize::from(k) % KEYS.len()], if k & 0x80 != 0 { hex_text(v) } else { v.to_string() }))
        .collect();
    // The stub's field values never contain packet delimiters (`description` is hex, the others
    // are its own words); with such values only "no panic" is checked.
    let framed_values = fields.iter().any(|(_, v)| v.contains('#') || v.contains('$'));
    if let Some(out) = append_fields(input.wire, &fields).filter(|_| !framed_values) {
        // The edited packet is the last one and carries every field, with a checksum that holds.
        let start = out.iter().rposition(|&b| b == b'$').expect("edited output has a packet");
        let before = input.wire.iter().rposition(|&b| b == b'$').expect("input had a packet");
        assert_eq!(out[..start], input.wire[..before], "bytes before the packet changed");
        let hash = start + out[start..].iter().position(|&b| b == b'#').expect("packet end");
        assert!(checksum_ok(&out[start..hash + 3]), "checksum not fixed");
    }

    // Whatever was typed, a command or a message; never a panic.
    match text::parse(input.command) {
        Ok(Command::Disasm { addr, count }) => {
            assert!((1..=text::MAX_DISASM_COUNT).contains(&count));
            let _ = text::resolve_code_addr(addr, input.pc);
        }
        Ok(Command::Log { level }) => assert!(level <= text::MAX_LOG_LEVEL),
        Ok(_) => {}
        Err(message) => assert!(!message.is_empty()),
    }
    for word in &input.numbers {
        let _ = text::parse_number(word);
    }
    let _ = text::resolve_code_addr(Some(input.pc), input.pc.rotate_left(7));

    let mut offsets = input.offsets.clone();
    offsets.sort_unstable();
    offsets.dedup();
    let (window, current) = text::disasm_window(&offsets, input.window_pc, usize::from(input.count));
    assert!(window.end <= offsets.len() && window.start <= window.end);
    if let Some(i) = current {
        assert!(i < offsets.len() && offsets[i] <= input.window_pc);
    }
    let lines: Vec<DisasmLine> = offsets[window]
        .iter()
        .map(|&o| DisasmLine { addr: u64::from(o), text: format!("op{o}"), current: false, source: None })
        .collect();
    let _ = text::format_disasm("header", &lines, Some("note"));

    let sites: Vec<Site> = input.sites.iter().map(|&(module, pc, _)| Site { module, pc }).collect();
    let user: Vec<(Site, UserBreakpoint)> = input
        .sites
        .iter()
        .map(|&(module, pc, d)| (Site { module, pc }, UserBreakpoint { only_at_depth: d.map(usize::from), ..Default::default() }))
        .collect();
    let step: Vec<StepTarget> = sites.iter().map(|&site| StepTarget { site, depth: site.pc as usize }).collect();
    let pending = Edits { add: sites.iter().rev().copied().collect(), remove: sites.clone() };
    let planted: Vec<(Site, bool)> = sites.iter().map(|&s| (s, s.pc % 3 == 0)).collect();
    let _ = text::format_breakpoints(&user, &step, &planted, &pending, &|s: Site| (s.pc % 2 == 0).then(|| "f+0x0".to_string()));
    let rows: Vec<MemoryRow> =
        input.globals.iter().map(|&(m, v)| MemoryRow { module: u32::from(m), size: v, page_size: v >> (m % 64) }).collect();
    let _ = text::format_memories(&rows);
    let names: Vec<String> = input.numbers.iter().map(|s| s.to_string()).collect();
    let modules: Vec<ModuleRow<'_>> = names
        .iter()
        .enumerate()
        .map(|(i, name)| ModuleRow { index: i as u32, name, size: name.len(), funcs: Some(i as u32), dwarf: None })
        .collect();
    let _ = text::format_modules(&modules);
    let values: Vec<GlobalValue> = input
        .globals
        .iter()
        .map(|&(kind, v)| match kind % 7 {
            0 => GlobalValue::I32(v as u32),
            1 => GlobalValue::I64(v),
            2 => GlobalValue::F32(f32::from_bits(v as u32)),
            3 => GlobalValue::F64(f64::from_bits(v)),
            4 => GlobalValue::V128(v.to_le_bytes().to_vec()),
            5 => GlobalValue::FuncRef,
            _ => GlobalValue::ExnRef,
        })
        .collect();
    let _ = text::format_globals("module 0", &values, input.count % 2 == 0);
});
