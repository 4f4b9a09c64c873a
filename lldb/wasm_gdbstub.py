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
    generic gdb-remote plugin, which has no Wasm stacks or variables).
"""

import os
import shlex

import lldb

HERE = os.path.dirname(os.path.abspath(__file__))
LAUNCHER = os.path.join(HERE, "wasmtime-launch")

# `command regex` is how LLDB defines `gdb-remote` itself: a command whose arguments are rewritten
# into another command. A bare port means loopback, matching the stub's own default.
CONNECT = (
    "command regex wasm-remote"
    " -h 'Connect to a wasm-gdbstub server with the Wasm process plugin.'"
    " -s 'wasm-remote 1234 | wasm-remote 127.0.0.1:1234'"
    # LLDB takes the character after `s` as the separator and has no escape for it: use `,`.
    " 's,^[[:space:]]*([0-9]+)[[:space:]]*$,process connect --plugin wasm connect://127.0.0.1:%1,'"
    " 's,^[[:space:]]*(connect://[^[:space:]]+)[[:space:]]*$,process connect --plugin wasm %1,'"
    " 's,^[[:space:]]*([^[:space:]]+:[0-9]+)[[:space:]]*$,process connect --plugin wasm connect://%1,'"
)


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
    _run(debugger, CONNECT)
