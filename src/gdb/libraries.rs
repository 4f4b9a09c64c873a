//! `qXfer:libraries:read` and `qXfer:memory-map:read`: every module's bytecode is a library that
//! LLDB loads (with its DWARF) straight out of the object address space; linear memories are RAM.

use super::{GdbTarget, copy_window};
use crate::addr::{Location, code_addr};
use crate::args::library_name;
use crate::host::Host;
use gdbstub::target::TargetResult;
use gdbstub::target::ext::libraries::Libraries;
use gdbstub::target::ext::memory_map::MemoryMap;

impl<H: Host> GdbTarget<'_, H> {
    pub fn libraries_xml(&self) -> String {
        let modules = &self.core.debuggee.modules;
        let mut xml = String::from("<library-list>");
        for (index, module) in modules.iter().enumerate() {
            let name = library_name(&module.name, modules.len(), self.options.program.as_deref());
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
        for (index, module) in self.core.debuggee.modules.iter().enumerate() {
            if !module.bytes.is_empty() {
                xml.push_str(&format!(
                    "<memory type=\"rom\" start=\"{:#x}\" length=\"{:#x}\"/>",
                    code_addr(index as u32, 0),
                    module.bytes.len()
                ));
            }
            if let Ok(size) = self.core.debuggee.memory_size(index as u32)
                && size > 0
            {
                xml.push_str(&format!(
                    "<memory type=\"ram\" start=\"{:#x}\" length=\"{:#x}\"/>",
                    Location::Memory {
                        module: index as u32,
                        offset: 0
                    }
                    .encode(),
                    size
                ));
            }
        }
        xml.push_str("</memory-map>");
        xml
    }
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

impl<H: Host> Libraries for GdbTarget<'_, H> {
    fn get_libraries(
        &self,
        offset: u64,
        length: usize,
        buf: &mut [u8],
    ) -> TargetResult<usize, Self> {
        Ok(copy_window(
            self.libraries_xml().as_bytes(),
            offset,
            length,
            buf,
        ))
    }
}

impl<H: Host> MemoryMap for GdbTarget<'_, H> {
    fn memory_map_xml(
        &self,
        offset: u64,
        length: usize,
        buf: &mut [u8],
    ) -> TargetResult<usize, Self> {
        Ok(copy_window(
            self.memory_map_xml().as_bytes(),
            offset,
            length,
            buf,
        ))
    }
}
