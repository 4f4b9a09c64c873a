//! `qXfer:libraries:read` and `qXfer:memory-map:read`: every module's bytecode is a library that
//! LLDB loads (with its DWARF) straight out of the object address space; linear memories are RAM.

use super::{GdbTarget, copy_window};
use crate::addr::{Location, code_addr};
use gdbstub::target::TargetResult;
use gdbstub::target::ext::libraries::Libraries;
use gdbstub::target::ext::memory_map::MemoryMap;

impl GdbTarget<'_> {
    pub fn libraries_xml(&self) -> String {
        let modules = &self.debuggee.modules;
        let mut xml = String::from("<library-list>");
        for (index, module) in modules.iter().enumerate() {
            let name = library_name(&module.name, modules.len(), crate::args::program());
            xml.push_str(&format!(
                "<library name=\"{}\"><section address=\"{:#x}\"/></library>",
                xml_escape(name),
                code_addr(index as u32, 0)
            ));
        }
        xml.push_str("</library-list>");
        xml
    }

    pub fn memory_map_xml(&self) -> String {
        let mut xml = String::from(
            "<?xml version=\"1.0\"?><!DOCTYPE memory-map SYSTEM \"memory-map.dtd\"><memory-map>",
        );
        for (index, module) in self.debuggee.modules.iter().enumerate() {
            if !module.bytes.is_empty() {
                xml.push_str(&format!(
                    "<memory type=\"rom\" start=\"{:#x}\" length=\"{:#x}\"/>",
                    code_addr(index as u32, 0),
                    module.bytes.len()
                ));
            }
            if let Ok(size) = self.debuggee.memory_size(index as u32) {
                if size > 0 {
                    xml.push_str(&format!(
                        "<memory type=\"ram\" start=\"{:#x}\" length=\"{:#x}\"/>",
                        Location::Memory { module: index as u32, offset: 0 }.encode(),
                        size
                    ));
                }
            }
        }
        xml.push_str("</memory-map>");
        xml
    }
}

/// The name LLDB gets for a module. LLDB 22 looks a library up among its target's modules by this
/// name (the file name alone when it has no directory, else the whole path) and otherwise opens
/// it as a path relative to its own working directory; only when both fail does it read the
/// module from memory. With `--program`, a program that is a single core module is reported under
/// that path, so LLDB reuses the file it launched or was given instead of adding a second copy
/// whose breakpoint locations duplicate the first. A component's core modules keep their own
/// names: LLDB cannot load a component file as a target, so there is nothing to match.
fn library_name<'a>(module_name: &'a str, module_count: usize, program: Option<&'a str>) -> &'a str {
    match program {
        Some(path) if module_count == 1 && !path.is_empty() => path,
        _ => module_name,
    }
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;").replace('>', "&gt;")
}

impl Libraries for GdbTarget<'_> {
    fn get_libraries(&self, offset: u64, length: usize, buf: &mut [u8]) -> TargetResult<usize, Self> {
        Ok(copy_window(self.libraries_xml().as_bytes(), offset, length, buf))
    }
}

impl MemoryMap for GdbTarget<'_> {
    fn memory_map_xml(&self, offset: u64, length: usize, buf: &mut [u8]) -> TargetResult<usize, Self> {
        Ok(copy_window(self.memory_map_xml().as_bytes(), offset, length, buf))
    }
}

#[cfg(test)]
mod tests {
    use super::library_name;

    #[test]
    fn program_path_names_a_lone_core_module_only() {
        assert_eq!(library_name("app.wasm", 1, Some("/work/app.wasm")), "/work/app.wasm");
        assert_eq!(library_name("app.wasm", 1, None), "app.wasm");
        assert_eq!(library_name("app.wasm", 1, Some("")), "app.wasm");
        assert_eq!(library_name("wit-component_shim.wasm", 4, Some("/work/p2.wasm")), "wit-component_shim.wasm");
    }
}
