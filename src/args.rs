//! Command-line arguments of the component (what follows `-D arg=` on Wasmtime's command line).

use clap::Parser;
use std::net::SocketAddr;

/// LLDB debug server for WebAssembly running in Wasmtime.
///
/// Loaded by `wasmtime run -D debugger=wasm_gdbstub.wasm -D arg=127.0.0.1:1234 app.wasm`.
#[derive(Parser, Debug, Clone, PartialEq, Eq)]
#[command(name = "wasm-gdbstub", version)]
pub struct Options {
    /// Address to listen on. Port 0 picks a free port and reports it.
    #[arg(default_value = "127.0.0.1:1234")]
    pub listen: String,

    /// Allow listening on a non-loopback address. Anyone who reaches the port can read and
    /// write the program's memory.
    #[arg(long)]
    pub allow_remote: bool,

    /// Log protocol and debuggee events (repeat for more detail).
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// The program's .wasm path as LLDB knows it (for a core-module program). The library list
    /// reports the module under this name, so LLDB matches it with the target it already has
    /// instead of loading a second copy. LLDB's launcher passes it.
    #[arg(long, value_name = "PATH")]
    pub program: Option<String>,

    /// Step with Wasmtime's own single-step mode instead of temporary breakpoints: a reference
    /// for tests and diagnosis. Exact in core modules; in components a `continue` after it ignores
    /// every breakpoint (Wasmtime 48), so never use it there.
    #[arg(long)]
    pub host_step: bool,
}

/// The name the library list gives a module. LLDB 22 looks a library up among its target's
/// modules by this name (the file name alone when it has no directory, else the whole path) and
/// otherwise opens it as a path relative to its own working directory; only when both fail does
/// it read the module from memory as a new one. With `--program`, a program that is a single core
/// module is reported under that path, so LLDB reuses the file it launched or was given instead of
/// adding a second copy whose breakpoint locations duplicate the first. A component's core
/// modules keep their own names: LLDB cannot load a component file as a target.
pub fn library_name<'a>(
    module_name: &'a str,
    module_count: usize,
    program: Option<&'a str>,
) -> &'a str {
    match program {
        Some(path) if module_count == 1 && !path.is_empty() => path,
        _ => module_name,
    }
}

/// Why the stub refuses to start.
#[derive(Debug, PartialEq, Eq)]
pub enum ArgsError {
    /// `--help`, `--version` or a parse error: the text to show the user.
    Message(String),
    NotLoopback(SocketAddr),
    BadAddress(String),
}

impl std::fmt::Display for ArgsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ArgsError::Message(m) => f.write_str(m.trim_end()),
            ArgsError::NotLoopback(a) => write!(
                f,
                "refusing to listen on non-loopback address {a}: anyone who can reach it could read \
                 and write the program's memory; pass --allow-remote to do it anyway"
            ),
            ArgsError::BadAddress(a) => {
                write!(
                    f,
                    "invalid listen address `{a}`: expected IP:PORT, e.g. 127.0.0.1:1234"
                )
            }
        }
    }
}

impl Options {
    /// Parses the component's argv (argv[0] first, as Wasmtime passes it).
    pub fn parse_args(args: &[String]) -> Result<Options, ArgsError> {
        let options = Options::try_parse_from(args)
            .map_err(|e| ArgsError::Message(e.render().to_string()))?;
        let addr = options.listen_addr()?;
        if !addr.ip().is_loopback() && !options.allow_remote {
            return Err(ArgsError::NotLoopback(addr));
        }
        Ok(options)
    }

    pub fn listen_addr(&self) -> Result<SocketAddr, ArgsError> {
        let text = self.listen.trim();
        // A bare port is accepted as a convenience, always on loopback.
        if let Ok(port) = text.parse::<u16>() {
            return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
        }
        if let Some(port) = text.strip_prefix("localhost:")
            && let Ok(port) = port.parse::<u16>()
        {
            return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
        }
        text.parse()
            .map_err(|_| ArgsError::BadAddress(text.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options, ArgsError> {
        let argv: Vec<String> = std::iter::once("wasm-gdbstub")
            .chain(args.iter().copied())
            .map(String::from)
            .collect();
        Options::parse_args(&argv)
    }

    #[test]
    fn defaults_to_loopback_1234() {
        let o = parse(&[]).unwrap();
        assert_eq!(o.listen_addr().unwrap(), "127.0.0.1:1234".parse().unwrap());
        assert_eq!(o.verbose, 0);
    }

    #[test]
    fn port_zero_and_bare_port() {
        assert_eq!(
            parse(&["127.0.0.1:0"])
                .unwrap()
                .listen_addr()
                .unwrap()
                .port(),
            0
        );
        assert_eq!(
            parse(&["4321"]).unwrap().listen_addr().unwrap(),
            "127.0.0.1:4321".parse().unwrap()
        );
        assert_eq!(
            parse(&["localhost:9"]).unwrap().listen_addr().unwrap(),
            "127.0.0.1:9".parse().unwrap()
        );
        assert!(parse(&["[::1]:5"]).is_ok());
    }

    #[test]
    fn remote_needs_explicit_option() {
        assert!(matches!(
            parse(&["0.0.0.0:1234"]),
            Err(ArgsError::NotLoopback(_))
        ));
        assert!(
            parse(&["0.0.0.0:1234", "--allow-remote"])
                .unwrap()
                .allow_remote
        );
    }

    #[test]
    fn bad_address_and_help_are_messages() {
        assert!(matches!(
            parse(&["nonsense"]),
            Err(ArgsError::BadAddress(_))
        ));
        match parse(&["--help"]) {
            Err(ArgsError::Message(m)) => assert!(m.contains("--allow-remote")),
            other => panic!("{other:?}"),
        }
        assert_eq!(parse(&["-vv"]).unwrap().verbose, 2);
    }

    #[test]
    fn program_path_after_or_before_the_address() {
        // `wasmtime run -g` appends the address after any `-D arg=` values. Parsed with clap
        // directly: `parse_args` would publish the path process-wide.
        let argv = |args: &[&str]| {
            let mut v = vec!["wasm-gdbstub".to_string()];
            v.extend(args.iter().map(|s| s.to_string()));
            Options::try_parse_from(v).unwrap()
        };
        let o = argv(&["--program=/tmp/app.wasm", "127.0.0.1:0"]);
        assert_eq!(o.program.as_deref(), Some("/tmp/app.wasm"));
        assert_eq!(o.listen, "127.0.0.1:0");
        assert_eq!(
            argv(&["127.0.0.1:0", "--program", "a b.wasm"])
                .program
                .as_deref(),
            Some("a b.wasm")
        );
        assert_eq!(argv(&[]).program, None);
    }

    #[test]
    fn program_path_names_a_lone_core_module_only() {
        assert_eq!(
            library_name("app.wasm", 1, Some("/work/app.wasm")),
            "/work/app.wasm"
        );
        assert_eq!(library_name("app.wasm", 1, None), "app.wasm");
        assert_eq!(library_name("app.wasm", 1, Some("")), "app.wasm");
        assert_eq!(
            library_name("shim.wasm", 4, Some("/work/p2.wasm")),
            "shim.wasm"
        );
    }
}
