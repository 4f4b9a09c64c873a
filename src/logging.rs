//! The stub's log: `log` records at the level the `-v` flags (or `monitor log N`) choose: none
//! shows warnings, `-v` what the debugger decides (resumptions, breakpoints, refusals), `-vv`
//! every host event as well. Warnings and errors are for the user, so they go where the user sees
//! them (Wasmtime prints them as `Debugger: ...`); the rest goes to the component's standard
//! error, which Wasmtime shows only with `-D inherit-stderr=y`.

use log::{Level, LevelFilter, Log, Metadata, Record};

struct Logger {
    notice: fn(&str),
}

impl Log for Logger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        if record.level() <= Level::Warn {
            (self.notice)(&format!("wasm-gdbstub: {}", record.args()));
        } else {
            eprintln!("[wasm-gdbstub] {}", record.args());
        }
    }

    fn flush(&self) {}
}

/// Installs the logger (once; later calls only change the level). `notice` shows a line to the
/// user.
pub fn init(verbosity: u8, notice: fn(&str)) {
    if log::set_logger(Box::leak(Box::new(Logger { notice }))).is_err() {
        // Already installed: the first logger stays in use.
        log::debug!("logger already installed");
    }
    set_verbosity(verbosity);
}

pub fn set_verbosity(verbosity: u8) {
    log::set_max_level(match verbosity {
        0 => LevelFilter::Warn,
        1 => LevelFilter::Debug,
        _ => LevelFilter::Trace,
    });
}

/// The `-v` count the current level corresponds to.
pub fn verbosity() -> u8 {
    match log::max_level() {
        LevelFilter::Trace => 2,
        LevelFilter::Debug | LevelFilter::Info => 1,
        _ => 0,
    }
}
