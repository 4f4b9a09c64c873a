"""LLDB 22 set-up for debugging WebAssembly in Wasmtime through wasm-gdbstub.

Load it with one line, in ~/.lldbinit or on LLDB's command line:

    command script import /path/to/wasm-gdbstub/lldb/wasm_gdbstub.py
    lldb-22 -O 'command script import lldb/wasm_gdbstub.py' app.wasm

It gives LLDB
  * `run` for .wasm targets: the Wasm platform starts lldb/wasmtime-launch, which runs the program
    in Wasmtime under the stub and connects (`runtime-args` selects the built-in `-g` mode etc.;
    see lldb/wasmtime-launch);
  * `wasm-remote [HOST:]PORT`: the short form of
    `process connect --plugin wasm connect://HOST:PORT` (plain `gdb-remote PORT` would pick the
    generic gdb-remote plugin, which has no Wasm stacks or variables);
  * for a Rust program, the user's own toolchain formatters (String, Vec, Option, HashMap... as
    values), loaded as rust-lldb loads them, at the first stop once the program's module is known
    (a stop hook, so `wasm-remote`, `process connect`, `run` and lldb-dap all get them).
"""

import os
import re
import shlex
import shutil
import subprocess

import lldb

HERE = os.path.dirname(os.path.abspath(__file__))
LAUNCHER = os.path.join(HERE, "wasmtime-launch")

# `wasm-remote` arguments: a bare port means loopback, matching the stub's own default.
REMOTE_FORMS = (
    (re.compile(r"^\s*([0-9]+)\s*$"), "connect://127.0.0.1:%s"),
    (re.compile(r"^\s*(connect://\S+)\s*$"), "%s"),
    (re.compile(r"^\s*(\S+:[0-9]+)\s*$"), "connect://%s"),
)
REMOTE_USAGE = "usage: wasm-remote [HOST:]PORT  (wasm-remote 1234 | wasm-remote 127.0.0.1:1234)"


def connect_url(arguments):
    """The URL `wasm-remote ARGUMENTS` connects to, or None if they are not `[HOST:]PORT` or a
    `connect://` URL."""
    for pattern, url in REMOTE_FORMS:
        match = pattern.match(arguments)
        if match:
            return url % match.group(1)
    return None


def wasm_remote(debugger, arguments, exe_ctx, result, internal_dict):
    """wasm-remote 1234 | wasm-remote 127.0.0.1:1234 | wasm-remote connect://HOST:PORT
    Runs `process connect --plugin wasm connect://HOST:PORT`; for a Rust program, then loads
    your toolchain's LLDB formatters (as rust-lldb does)."""
    url = connect_url(arguments)
    if url is None:
        result.SetError(REMOTE_USAGE)
        return
    connect = lldb.SBCommandReturnObject()
    debugger.GetCommandInterpreter().HandleCommand(
        "process connect --plugin wasm %s" % url, connect
    )
    if connect.GetOutput():
        result.Print(connect.GetOutput())
    if not connect.Succeeded():
        result.SetError(connect.GetError() or "process connect failed")
        return
    if connect.GetError():
        result.Print(connect.GetError())
    # The connect has made the program's module known: decide now, not at the next stop.
    line = rust_formatters_for(debugger, debugger.GetSelectedTarget())
    if line:
        result.Print(line + "\n")
    result.SetStatus(lldb.eReturnStatusSuccessFinishResult)


def launcher_args(env):
    """Launcher options taken from LLDB's environment, since LLDB 22 starts the runtime with an
    empty one: $WASMTIME and $WASM_GDBSTUB_COMPONENT pick the binaries, and
    $WASM_GDBSTUB_LAUNCH_ARGS adds options such as `--builtin` or `--stub-arg=-v`."""
    args = []
    if env.get("WASMTIME"):
        args.append("--wasmtime=" + os.path.abspath(env["WASMTIME"]))
    if env.get("WASM_GDBSTUB_COMPONENT"):
        args.append("--component=" + os.path.abspath(env["WASM_GDBSTUB_COMPONENT"]))
    args.extend(shlex.split(env.get("WASM_GDBSTUB_LAUNCH_ARGS", "")))
    return args


def _run(debugger, command):
    result = lldb.SBCommandReturnObject()
    debugger.GetCommandInterpreter().HandleCommand(command, result)
    if not result.Succeeded():
        raise RuntimeError("wasm_gdbstub: `%s` failed: %s" % (command, result.GetError()))


# ---------------------------------------------------------------------------------------------
# Rust formatters. rust-lldb (a shell script in the toolchain, `$(rustc --print sysroot)/bin/
# rust-lldb`) starts LLDB with `command script import <sysroot>/lib/rustlib/etc/lldb_lookup.py`
# and `command source <sysroot>/lib/rustlib/etc/lldb_commands`; the same two commands are run here
# once LLDB knows a module whose DWARF compile units are Rust. The files stay in the toolchain:
# they match the rustc that built the program's std.

RUST_HOOK_CLASS = __name__ + ".RustFormatters"
NO_TOOLCHAIN_HINT = (
    "wasm-gdbstub: this is a Rust program, but no Rust toolchain was found (no `rustc` on PATH, "
    "or $RUSTC, whose sysroot has lib/rustlib/etc/lldb_lookup.py): install one with rustup "
    "(https://rustup.rs) to see String, Vec, Option and HashMap as values"
)

# Per debugger: what has been said or done, so each happens once per session.
_rust_state = {}


def find_rustc(env):
    """The `rustc` to ask for the sysroot: $RUSTC (cargo's variable) if set, else `rustc` on PATH,
    else rustup's default `$CARGO_HOME/bin/rustc` (~/.cargo/bin, which an editor's PATH often
    lacks). None if there is none."""
    if env.get("RUSTC"):
        return shutil.which(env["RUSTC"])
    found = shutil.which("rustc", path=env.get("PATH", os.defpath))
    if found:
        return found
    cargo_home = env.get("CARGO_HOME") or os.path.join(os.path.expanduser("~"), ".cargo")
    candidate = os.path.join(cargo_home, "bin", "rustc")
    return candidate if os.access(candidate, os.X_OK) else None


def rust_sysroot(env):
    """`rustc --print sysroot` if it names a toolchain with LLDB formatters, else None."""
    rustc = find_rustc(env)
    if not rustc:
        return None
    try:
        out = subprocess.run(
            [rustc, "--print", "sysroot"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    sysroot = out.stdout.strip()
    if out.returncode != 0 or not sysroot:
        return None
    etc = os.path.join(sysroot, "lib", "rustlib", "etc")
    if not (
        os.path.isfile(os.path.join(etc, "lldb_lookup.py"))
        and os.path.isfile(os.path.join(etc, "lldb_commands"))
    ):
        return None
    return sysroot


def _module_key(module):
    return "%s|%s" % (module.GetFileSpec(), module.GetUUIDString())


def module_is_rust(module):
    """Whether any of the module's DWARF compile units is Rust (DW_AT_language DW_LANG_Rust)."""
    for i in range(module.GetNumCompileUnits()):
        if module.GetCompileUnitAtIndex(i).GetLanguage() == lldb.eLanguageTypeRust:
            return True
    return False


def target_is_rust(target, checked):
    """Whether a module of `target` is Rust; `checked` remembers modules already found not to be,
    so each stop costs nothing once every module has been looked at."""
    for i in range(target.GetNumModules()):
        module = target.GetModuleAtIndex(i)
        key = _module_key(module)
        if key in checked:
            continue
        if module_is_rust(module):
            return True
        checked.add(key)
    return False


def rust_formatters_loaded(debugger):
    category = debugger.GetCategory("Rust")
    return category.IsValid() and category.GetNumSynthetics() > 0


def load_rust_formatters(debugger, env=None):
    """Loads the toolchain's formatters the way rust-lldb does, once per session. Returns the one
    line to show (what was loaded, or what to install), or None when there is nothing new to say."""
    env = os.environ if env is None else env
    state = _rust_state.setdefault(debugger.GetID(), {})
    if state.get("done"):
        return None
    state["done"] = True
    if rust_formatters_loaded(debugger):
        # rust-lldb, ~/.lldbinit or an earlier import already did it.
        return None
    sysroot = rust_sysroot(env)
    if sysroot is None:
        return NO_TOOLCHAIN_HINT
    etc = os.path.join(sysroot, "lib", "rustlib", "etc")
    interp = debugger.GetCommandInterpreter()
    for command in (
        "command script import %s" % shlex.quote(os.path.join(etc, "lldb_lookup.py")),
        "command source -s 1 %s" % shlex.quote(os.path.join(etc, "lldb_commands")),
    ):
        result = lldb.SBCommandReturnObject()
        interp.HandleCommand(command, result)
        if not result.Succeeded():
            return "wasm-gdbstub: loading Rust formatters from %s failed: `%s`: %s" % (
                sysroot,
                command,
                result.GetError().strip(),
            )
    return "wasm-gdbstub: loaded Rust formatters from %s" % sysroot


class RustFormatters:
    """Stop hook: at the first stop of a target with a Rust module (the connect's initial stop, or
    the first breakpoint of `run`), load the toolchain's formatters and say so in one line."""

    def __init__(self, target, extra_args, internal_dict):
        self.checked = set()

    def handle_stop(self, exe_ctx, stream):
        target = exe_ctx.GetTarget()
        line = rust_formatters_for(target.GetDebugger(), target, self.checked)
        if line:
            stream.Print(line + "\n")
        return True


def rust_formatters_for(debugger, target, checked=None):
    """If `target` has a Rust module, load the formatters (once); the line to show, or None."""
    if _rust_state.get(debugger.GetID(), {}).get("done") or not target.IsValid():
        return None
    if not target_is_rust(target, set() if checked is None else checked):
        return None
    return load_rust_formatters(debugger)


def install_rust_hook(debugger):
    """Adds the stop hook to the selected target, or to LLDB's dummy target, which every target
    created later copies; once, however often this file is imported. Not at the initial stop
    (`-I false`): a stop hook there makes LLDB 22 print the stop without its thread and frame;
    `wasm-remote` loads at the connect itself, `run` and lldb-dap stop at a breakpoint first."""
    interp = debugger.GetCommandInterpreter()
    listing = lldb.SBCommandReturnObject()
    interp.HandleCommand("target stop-hook list", listing)
    if RUST_HOOK_CLASS in (listing.GetOutput() or ""):
        return
    _run(debugger, "target stop-hook add -I false -P %s" % RUST_HOOK_CLASS)


def __lldb_init_module(debugger, internal_dict):
    _run(debugger, "settings set platform.plugin.wasm.runtime-path %s" % shlex.quote(LAUNCHER))
    # LLDB appends the port it picked straight to this argument.
    _run(debugger, "settings set -- platform.plugin.wasm.port-arg --port=")
    _run(debugger, "settings clear platform.plugin.wasm.runtime-args")
    args = launcher_args(os.environ)
    if args:
        _run(
            debugger,
            "settings set -- platform.plugin.wasm.runtime-args %s"
            % " ".join(shlex.quote(a) for a in args),
        )
    _run(
        debugger,
        "command script add -o -f %s.wasm_remote -h %s wasm-remote"
        % (__name__, shlex.quote("Connect to a wasm-gdbstub server with the Wasm process plugin.")),
    )
    install_rust_hook(debugger)
