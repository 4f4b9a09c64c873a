//! Who may connect: the stub listens on loopback unless told otherwise, refuses a non-loopback
//! address without `--allow-remote` (running the program without a debugger), and warns when it
//! is allowed. No traffic goes to a non-loopback address: the allowed stub binds 0.0.0.0 and is
//! reached through 127.0.0.1.

mod common;

use common::Debuggee;
use common::debuggee::run_command;
use common::fixtures;
use common::rsp::{Client, StopReply};
use std::net::SocketAddr;
use std::time::Duration;

fn assert_app_output(out: &common::Output) {
    for line in [
        "fact(6)=720",
        "total=20",
        "point=13,24",
        "straight20=190",
        "counter=5",
        "value=7",
    ] {
        out.assert_stdout_contains(line);
    }
}

#[test]
fn the_default_listen_address_is_loopback() {
    let debuggee = Debuggee::spawn(&fixtures::c_app(), &[], &[]);
    assert!(debuggee.addr().ip().is_loopback(), "{}", debuggee.addr());
}

#[test]
fn a_non_loopback_address_is_refused_without_allow_remote() {
    let out = run_command(
        &mut Debuggee::builder(&fixtures::c_app())
            .listen("0.0.0.0:0")
            .command(),
        Duration::from_secs(60),
    );
    out.assert_success();
    out.assert_stderr_contains(
        "Debugger: wasm-gdbstub: refusing to listen on non-loopback address 0.0.0.0:0",
    );
    out.assert_stderr_contains("pass --allow-remote");
    out.assert_stderr_contains("running the program without a debugger");
    assert!(
        !out.stderr.contains("listening on"),
        "nothing may listen:\n{out}"
    );
    assert_app_output(&out);
}

#[test]
fn allow_remote_listens_everywhere_with_a_warning() {
    let mut debuggee = Debuggee::builder(&fixtures::c_app())
        .listen("0.0.0.0:0")
        .stub_args(&["--allow-remote"])
        .spawn();
    let stderr = debuggee.stderr_so_far();
    assert!(
        stderr.contains("Debugger: wasm-gdbstub: WARNING: listening on non-loopback 0.0.0.0:")
            && stderr
                .contains("anyone who can reach this port can read and write the program's memory"),
        "{stderr}"
    );
    assert!(debuggee.addr().ip().is_unspecified(), "{}", debuggee.addr());
    let local = SocketAddr::from(([127, 0, 0, 1], debuggee.addr().port()));
    let mut client = Client::connect(local).expect("connect through loopback");
    client.no_ack();
    let end = StopReply::parse(&client.request("vCont;c:p1.-1")).expect("stop reply");
    assert_eq!((end.kind, end.code), ('W', 0));
    let out = debuggee.wait_exit(Duration::from_secs(30));
    out.assert_success();
    assert_app_output(&out);
}
