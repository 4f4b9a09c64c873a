//! Module images as LLDB reads them at connect: every byte served over `x` (binary) and `m` (hex)
//! is the module's own bytecode, in LLDB 22's read size, across escaped bytes and at the image's
//! end; linear memory reads agree between the two packet kinds; with `--program` LLDB reads the
//! file instead.

mod common;

use common::fixtures;
use common::lldb::Batch;
use common::rsp::{Client, hex_decode};
use common::{Debuggee, line_of};
use std::path::Path;
use std::time::Duration;

const CODE_BASE: u64 = 0x4000_0000_0000_0000;
/// What LLDB 22 asks for per read: its 128 KiB cap less its packet overhead.
const LLDB_READ: usize = 0x1ffba;

fn connect(wasm: &Path) -> (Debuggee, Client) {
    let debuggee = Debuggee::spawn(wasm, &[], &[]);
    let mut client = Client::connect(debuggee.addr()).expect("connect");
    client.set_timeout(Duration::from_secs(30));
    client.no_ack();
    assert!(client.request("?").starts_with('T'));
    (debuggee, client)
}

fn read_image(client: &mut Client, len: usize, chunk: usize, binary: bool) -> Vec<u8> {
    let mut image = Vec::with_capacity(len);
    while image.len() < len {
        let addr = CODE_BASE + image.len() as u64;
        let want = chunk.min(len - image.len());
        let got = if binary {
            client.request_bytes(&format!("x{addr:x},{want:x}"))
        } else {
            let hex = client.request(&format!("m{addr:x},{want:x}"));
            hex_decode(&hex).unwrap_or_else(|| panic!("`m` reply is not hex: {hex:.80}"))
        };
        assert_eq!(got.len(), want, "read of {want} bytes at {addr:#x}");
        image.extend(got);
    }
    image
}

fn assert_same_image(served: &[u8], module: &[u8], how: &str) {
    if let Some(at) = served.iter().zip(module).position(|(a, b)| a != b) {
        panic!(
            "{how}: byte {at:#x} is {:#04x}, the module has {:#04x}",
            served[at], module[at]
        );
    }
    assert_eq!(served.len(), module.len(), "{how}: image length");
}

fn check_images(wasm: &Path) {
    let module = fixtures::program_module(&fixtures::read(wasm));
    let escaped = module
        .iter()
        .filter(|b| matches!(b, b'#' | b'$' | b'}' | b'*'))
        .count();
    assert!(escaped > 0, "the fixture should exercise escaping");
    let (_debuggee, mut client) = connect(wasm);

    let binary = read_image(&mut client, module.len(), LLDB_READ, true);
    assert_same_image(&binary, &module, "x reads of LLDB's size");
    // Odd sizes put escaped bytes at every position relative to machine words.
    let odd = read_image(&mut client, module.len(), 4093, true);
    assert_same_image(&odd, &module, "x reads of 4093 bytes");
    let hex = read_image(&mut client, module.len(), 0x7dd, false);
    assert_same_image(&hex, &module, "m reads");

    // A read running past the image's end returns what there is, as LLDB's section reads expect.
    let tail_at = module.len() - 10;
    let tail = client.request_bytes(&format!("x{:x},100", CODE_BASE + tail_at as u64));
    assert_eq!(tail, module[tail_at..], "short read at the image's end");
    assert!(
        client
            .request_bytes(&format!("x{:x},10", CODE_BASE + module.len() as u64 + 1))
            .starts_with(b"E")
    );
}

#[test]
fn c_core_module_image_is_served_byte_for_byte() {
    check_images(&fixtures::c_app());
}

#[test]
fn component_program_module_image_is_served_byte_for_byte() {
    check_images(&fixtures::rust_p2());
}

#[test]
fn linear_memory_reads_agree_between_binary_and_hex() {
    let wasm = fixtures::c_app();
    let bytes = fixtures::read(&wasm);
    let (_debuggee, mut client) = connect(&wasm);
    // Linear memory exists once the program runs: stop in `add`.
    let lines = fixtures::dwarf_line_table(&bytes, Some("app.c"));
    let add = CODE_BASE | u64::from(lines[&line_of(fixtures::c_app_src(), "add_entry")]);
    assert_eq!(client.request(&format!("Z0,{add:x},1")), "OK");
    assert!(client.request("vCont;c:p1.-1").contains("swbreak"));
    // The C program's static data: what `memory read` of a global shows.
    let addr = fixtures::data_symbol_address(&bytes, "g_counter") & !0xff;
    let binary = client.request_bytes(&format!("x{addr:x},400"));
    let reply = client.request(&format!("m{addr:x},400"));
    let hex = hex_decode(&reply).unwrap_or_else(|| panic!("`m` at {addr:#x}: {reply:.80}"));
    assert_eq!(binary.len(), 0x400);
    assert_eq!(binary, hex);
}

/// Bytes LLDB read from module images, from its `gdb-remote packets` log.
fn image_bytes_read(log: &str) -> u64 {
    log.lines()
        .filter(|line| line.contains("send packet: $") && !line.contains("history["))
        .filter_map(|line| {
            let body = line.split("send packet: $").nth(1)?.split('#').next()?;
            let (addr, len) = body.strip_prefix(['x', 'm'])?.split_once(',')?;
            let addr = u64::from_str_radix(addr, 16).ok()?;
            let len = u64::from_str_radix(len, 16).ok()?;
            (addr >= CODE_BASE).then_some(len)
        })
        .sum()
}

/// A plain `process connect` makes LLDB read the whole module image over the connection; with
/// `--program PATH` (what the LLDB launcher passes) LLDB loads symbols from that file and reads
/// next to nothing, which is what makes attaching to a large debug build fast.
#[test]
fn with_the_program_path_lldb_reads_symbols_from_the_file_not_the_connection() {
    let wasm = fixtures::c_app();
    let size = fixtures::read(&wasm).len() as u64;
    for with_program in [false, true] {
        let log = std::env::temp_dir().join(format!(
            "wasm-gdbstub-image-reads-{}-{with_program}.log",
            std::process::id()
        ));
        let program = format!("--program={}", wasm.display());
        let stub_args: &[&str] = if with_program { &[&program] } else { &[] };
        let mut debuggee = Debuggee::builder(&wasm).stub_args(stub_args).spawn();
        let run = Batch::new(debuggee.addr())
            .before_connect(&[&format!(
                "log enable -f {} gdb-remote packets",
                log.display()
            )])
            .commands(&[
                "breakpoint set --name fact",
                "continue",
                "frame variable n",
                "breakpoint delete --force",
                "continue",
            ])
            .run();
        assert!(run.contains("(int) n = 6"), "{}", run.transcript());
        assert!(
            run.contains("exited with status = 0"),
            "{}",
            run.transcript()
        );
        debuggee.wait_exit(Duration::from_secs(30)).assert_success();
        let read = image_bytes_read(&std::fs::read_to_string(&log).expect("LLDB's packet log"));
        let _ = std::fs::remove_file(&log);
        if with_program {
            assert!(
                read < size / 10,
                "with --program LLDB still read {read} of {size} bytes"
            );
        } else {
            assert!(
                read >= size,
                "LLDB read {read} bytes of a {size}-byte module from the stub"
            );
        }
    }
}
