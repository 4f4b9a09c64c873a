//! Instruction text for `monitor disasm`: each operator as the Wasm text format writes it, with
//! its immediates, and function indices labelled with their names (`call 3 <fact>`).
//!
//! The text is for people to read. Nothing decides behaviour from it: the analyses match on the
//! decoded [`Operator`] instead.

use std::fmt;

use wasmparser::{
    BlockType, BrTable, Catch, Handle, HeapType, Ieee32, Ieee64, MemArg, MemArgTarget, Operator,
    Ordering, RefType, ResumeTable, TryTable, V128, ValType,
};

use crate::wasm_module::{BytecodeError, ModuleInfo};

impl ModuleInfo {
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

    fn func_label(&self, func_index: u32) -> String {
        match self.func_name(func_index) {
            Some(name) => format!("{func_index} <{name}>"),
            None => func_index.to_string(),
        }
    }

    /// The text of one instruction of this module.
    pub(crate) fn instr_text(&self, op: &Operator<'_>) -> String {
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

/// Text-format rendering of one instruction immediate.
trait Immediate {
    fn write_to(&self, out: &mut String);
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

// Generated from wasmparser's operator list, so every operator (including ones this module never
// special-cases) has a name and printable immediates.
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
    use crate::wasm_module::testing::{CALLS, build, code_ops};

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
}
