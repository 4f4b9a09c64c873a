//! Fuzz target: module analysis (`src/wasm_module.rs` with the control flow, traps, memory
//! accesses and disassembly built on it) and the DWARF line table (`src/dwarf.rs`) on module
//! bytes the host hands over, which the stub cannot trust.
//!
//! Three kinds of input, chosen by the first byte: raw bytes (mutated from the seed corpus of
//! real modules, DWARF included), a valid module from wasm-smith (reaches deep into function
//! bodies, which random bytes rarely do), and a wasm-smith module with a few bytes overwritten
//! (almost valid: the hardest case for a decoder). Every query is asked at many pcs; for valid
//! modules the answers are also checked against each other, since the step engine plants
//! breakpoints where they point.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use wasm_gdbstub::dwarf::LineTable;
use wasm_gdbstub::monitor_text::disasm_window;
use wasm_gdbstub::wasm_module::ModuleInfo;

/// Keep one input's work bounded (a function's control structure is decoded on its first query): functions
/// looked at, pcs per function, and pcs in all.
const MAX_FUNCS: u32 = 32;
const PCS_PER_FUNC: usize = 12;
const MAX_PCS: usize = 200;

fn smith_module(u: &mut Unstructured<'_>) -> Option<Vec<u8>> {
    let mut config = wasm_smith::Config::arbitrary(u).ok()?;
    // Small functions keep the per-pc queries cheap; exceptions and tail calls are the control
    // flow the step engine models specially.
    config.max_funcs = config.max_funcs.min(12);
    config.max_instructions = config.max_instructions.min(200);
    config.exceptions_enabled = true;
    config.tail_call_enabled = true;
    config.generate_custom_sections = u.arbitrary().ok()?;
    let module = wasm_smith::Module::new(config, u).ok()?;
    Some(module.to_bytes())
}

/// A spread of pcs in one function: its first and last instructions, a stride through the rest,
/// the byte after each of those (inside an instruction, or the next one) and the body's edges.
fn pcs_of(info: &ModuleInfo, func: u32, boundaries: &[u32]) -> Vec<u32> {
    let stride = (boundaries.len() / PCS_PER_FUNC).max(1);
    let mut pcs: Vec<u32> = boundaries.iter().copied().step_by(stride).collect();
    pcs.extend(boundaries.iter().rev().take(4));
    let inside: Vec<u32> = pcs.iter().take(4).map(|pc| pc.saturating_add(1)).collect();
    pcs.extend(inside);
    if let Some(range) = info.func_body_range(func) {
        pcs.extend([range.start.saturating_sub(1), range.start, range.end.saturating_sub(1), range.end]);
    }
    pcs
}

fn query_everything(bytes: &[u8], info: &ModuleInfo, valid: bool, extra_pcs: &[u32], max_pcs: usize) {
    let _ = (info.name(), info.has_dwarf(), info.num_imported_funcs(), info.entry_func());
    let num_funcs = info.num_funcs();
    let mut pcs: Vec<u32> = extra_pcs.iter().copied().take(64).collect();
    let mut boundaries_of = std::collections::HashMap::new();
    for func in (0..num_funcs.saturating_add(2)).take(MAX_FUNCS as usize) {
        let _ = (info.func_name(func), info.import_name(func), info.func_entry(func));
        let _ = info.func_start(func).map(|s| info.func_starting_at(s));
        let boundaries = info.instruction_boundaries(bytes, func);
        let listing = info.disassemble(bytes, func);
        if let (Ok(b), Ok(l)) = (&boundaries, &listing) {
            assert!(b.iter().copied().eq(l.iter().map(|(o, _)| *o)), "listing and boundaries differ");
            let _ = disasm_window(b, b.first().copied().unwrap_or(0), 16);
        }
        if valid && func >= info.num_imported_funcs() && func < num_funcs {
            let b = boundaries.as_ref().expect("a valid module's function decodes");
            assert!(b.windows(2).all(|w| w[0] < w[1]), "boundaries not ascending");
            assert_eq!(info.func_entry(func), b.first().copied());
            let start = info.func_start(func).expect("defined function has a start");
            assert_eq!(info.func_starting_at(start), Some(func));
        }
        if let Ok(b) = boundaries {
            pcs.extend(pcs_of(info, func, &b));
            boundaries_of.insert(func, b);
        } else if let Some(range) = info.func_body_range(func) {
            // Undecodable: its first bytes, where the decoder gives up.
            pcs.extend((range.start..range.end).take(PCS_PER_FUNC));
        }
    }
    for &pc in pcs.iter().take(max_pcs) {
        let func = info.func_containing(pc);
        let _ = info.trap_reason(bytes, pc);
        let _ = info.direct_callee(bytes, pc);
        let _ = info.func_starting_at(pc);
        let _ = info.next_instruction(bytes, pc);
        let instr = info.instruction_at(bytes, pc);
        let targets = info.step_targets(bytes, pc);
        if let Ok(instr) = &instr {
            assert_eq!(instr.offset, pc);
            assert!(instr.next > pc, "instruction without length");
            assert_eq!(Some(instr.func_index), func);
        }
        if !valid {
            continue;
        }
        let (Ok(_), Some(func)) = (&instr, func) else { continue };
        // Valid module, pc at an instruction: a step must have somewhere to go that a breakpoint
        // can be planted on.
        let targets = targets.expect("step targets of a valid instruction");
        let boundaries = boundaries_of
            .entry(func)
            .or_insert_with(|| info.instruction_boundaries(bytes, func).expect("a valid function decodes"));
        for pc in &targets.same_frame {
            assert!(boundaries.binary_search(pc).is_ok(), "same-frame target {pc:#x} is not an instruction");
        }
        for entry in &targets.callee_entries {
            let callee = info.func_containing(*entry).expect("callee entry inside a function");
            assert_eq!(info.func_entry(callee), Some(*entry), "callee target is not a function entry");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let mut u = Unstructured::new(rest);
    let (bytes, valid) = match mode % 3 {
        // The whole input, so seed modules (which start with `\0asm`, mode 0) are used as they are.
        0 => (data.to_vec(), false),
        1 => match smith_module(&mut u) {
            Some(bytes) => (bytes, true),
            None => return,
        },
        _ => {
            let Some(mut bytes) = smith_module(&mut u) else { return };
            let edits: Vec<(u16, u8)> = u.arbitrary().unwrap_or_default();
            if bytes.is_empty() {
                return;
            }
            for (at, value) in edits.into_iter().take(4) {
                let at = usize::from(at) % bytes.len();
                bytes[at] = value;
            }
            (bytes, false)
        }
    };
    let extra: Vec<u32> = u.arbitrary().unwrap_or_default();
    let _ = LineTable::parse(&bytes);
    match ModuleInfo::parse(&bytes) {
        Ok(info) => {
            let _ = LineTable::read(&bytes, info.dwarf_sections());
            // Sections found in other bytes than the ones read must be refused, not trusted.
            let _ = LineTable::read(&bytes[..bytes.len() / 2], info.dwarf_sections());
            query_everything(&bytes, &info, valid, &extra, MAX_PCS);
            // Bytes that are not the ones parsed (a truncated copy) must be refused, not trusted.
            query_everything(&bytes[..bytes.len() / 2], &info, false, &extra, MAX_PCS / 4);
        }
        Err(_) => assert!(!valid || mode % 3 != 1, "a wasm-smith module failed to parse"),
    }
});
