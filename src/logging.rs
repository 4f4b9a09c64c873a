//! The stub's log: `log` records written to standard error (Wasmtime's own), at the level the
//! `-v` flags (or `monitor log N`) choose: none shows warnings, `-v` what the debugger decides
//! (resumptions, breakpoints, refusals), `-vv` every host event as well.

use log::{LevelFilter, Log, Metadata, Record};

struct StandardError;

impl Log for StandardError {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record<'_>) {
        if self.enabled(record.metadata()) {
            eprintln!("[wasm-gdbstub] {}", record.args());
        }
    }

    fn flush(&self) {}
}

static LOGGER: StandardError = StandardError;

/// Installs the logger (once; later calls only change the level).
pub fn init(verbosity: u8) {
    // Fails only if a logger is already installed, which is then the one in use.
    let _ = log::set_logger(&LOGGER);
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
