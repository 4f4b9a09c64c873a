//! `qHostInfo` and `qProcessInfo`: LLDB learns it is talking to a wasm32 target.

use super::{Fatal, GdbTarget};
use crate::host::Host;
use gdbstub::common::{Endianness, Pid};
use gdbstub::target::ext::host_info::{HostInfo, HostInfoResponse};
use gdbstub::target::ext::process_info::{ProcessInfo, ProcessInfoResponse};

const TRIPLE: &str = "wasm32-unknown-unknown-wasm";

impl<H: Host> HostInfo for GdbTarget<'_, H> {
    fn host_info(&self, write_item: &mut dyn FnMut(&HostInfoResponse<'_>)) -> Result<(), Fatal> {
        write_item(&HostInfoResponse::Triple(TRIPLE));
        write_item(&HostInfoResponse::Endianness(Endianness::Little));
        write_item(&HostInfoResponse::PointerSize(4));
        Ok(())
    }
}

impl<H: Host> ProcessInfo for GdbTarget<'_, H> {
    fn process_info(
        &self,
        write_item: &mut dyn FnMut(&ProcessInfoResponse<'_>),
    ) -> Result<(), Fatal> {
        if let Some(pid) = Pid::new(1) {
            write_item(&ProcessInfoResponse::Pid(pid));
        }
        write_item(&ProcessInfoResponse::Triple(TRIPLE));
        write_item(&ProcessInfoResponse::Endianness(Endianness::Little));
        write_item(&ProcessInfoResponse::PointerSize(4));
        Ok(())
    }
}
