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
  * `next`, `n`, `step` and `s` that never crash LLDB on Wasm and step at native speed: on a Wasm
    target the stub runs each line step itself (`QWasmLineStep`), so LLDB neither disassembles
    Wasm code (LLDB 22 keeps at most 16 bytes of an instruction, and the `br_table` of a dense
    `switch` is longer: heap corruption) nor single-steps each instruction; on other targets they
    are LLDB's own commands. Every stop also sets `target.use-fast-stepping` for the line
    stopped on, so LLDB's own stepping (lldb-dap, `thread step-over` typed in full) disassembles
    only code whose instructions all fit;
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

STOP_HOOK_CLASS = __name__ + ".StopHook"
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


class StopHook:
    """The one stop hook (LLDB heads each hook's output with its name once there are two): at the
    first stop of a target with a Rust module (the connect's initial stop, or the first breakpoint
    of `run`), load the toolchain's formatters and say so in one line; at every stop of a Wasm
    target, choose LLDB's fast stepping for the line stopped on (`SafeStepping`)."""

    def __init__(self, target, extra_args, internal_dict):
        self.checked = set()
        self.stepping = SafeStepping()

    def handle_stop(self, exe_ctx, stream):
        target = exe_ctx.GetTarget()
        self.stepping.at_stop(exe_ctx)
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


def install_stop_hook(debugger):
    """Adds the stop hook to the selected target, or to LLDB's dummy target, which every target
    created later copies; once, however often this file is imported. Not at the initial stop
    (`-I false`): a stop hook there makes LLDB 22 print the stop without its thread and frame;
    `wasm-remote` loads at the connect itself, `run` and lldb-dap stop at a breakpoint first."""
    interp = debugger.GetCommandInterpreter()
    listing = lldb.SBCommandReturnObject()
    interp.HandleCommand("target stop-hook list", listing)
    if STOP_HOOK_CLASS in (listing.GetOutput() or ""):
        return
    _run(debugger, "target stop-hook add -I false -P %s" % STOP_HOOK_CLASS)


# ---------------------------------------------------------------------------------------------
# Stepping. LLDB 22's disassembler copies each decoded instruction into a 16-byte buffer
# (`Opcode::SetOpcodeBytes`, lldb/include/lldb/Core/Opcode.h; only an assert guards it), and its
# fast stepping (`target.use-fast-stepping`, on by default) disassembles the whole line it steps
# (`ThreadPlanStepRange::SetNextBranchBreakpoint`). A Wasm `br_table` takes one byte per case, so a
# line holding a `switch` of more than about a dozen dense cases corrupts LLDB's heap. Turning fast
# stepping off makes LLDB single-step every instruction instead: no disassembly, but a round trip
# per instruction, and LLDB 22, whose Wasm frames all have CFA 0, then stops inside every function
# a `next` calls. So `next` and `step` arm the stub to run the whole line step itself and let
# LLDB's own step command ask for one single step: LLDB's thread plan sees one step that ends
# where its range stepping would have, and reports it as it always does.

# LLDB's aliases the integration replaces, and the functions below that stand in for them.
STEP_COMMANDS = (
    ("next", "step_over"),
    ("n", "step_over"),
    ("step", "step_into"),
    ("s", "step_into"),
    ("finish", "finish"),
)


def is_wasm(target):
    return target.IsValid() and target.GetTriple().startswith("wasm")


def send_packet(debugger, packet):
    """The stub's reply to `packet`, or None if there is none (no process, not a gdb-remote
    process, not stopped)."""
    result = lldb.SBCommandReturnObject()
    debugger.GetCommandInterpreter().HandleCommand("process plugin packet send " + packet, result)
    if not result.Succeeded():
        return None
    match = re.search(r"response:\s*(\S*)", result.GetOutput() or "")
    return match.group(1) if match else None


def set_fast_stepping(debugger, on):
    result = lldb.SBCommandReturnObject()
    debugger.GetCommandInterpreter().HandleCommand(
        "settings set target.use-fast-stepping %s" % ("true" if on else "false"), result
    )


def line_step(kind, lldb_command):
    """A `next` or `step` command: on a stopped Wasm target in synchronous mode (the CLI), the stub
    steps the line; elsewhere LLDB's own command runs unchanged."""

    def command(debugger, arguments, exe_ctx, result, internal_dict):
        target = exe_ctx.GetTarget()
        process = exe_ctx.GetProcess()
        interp = debugger.GetCommandInterpreter()
        full = lldb_command + (" " + arguments if arguments.strip() else "")
        armed = (
            is_wasm(target)
            and process.IsValid()
            and process.GetState() == lldb.eStateStopped
            and not debugger.GetAsync()
            and send_packet(debugger, "QWasmLineStep:" + kind) == "OK"
        )
        if armed or is_wasm(target):
            # One single step that the stub runs to the line's end, or, from a stub without line
            # steps, LLDB's instruction stepping: either way nothing is disassembled.
            set_fast_stepping(debugger, False)
        try:
            interp.HandleCommand(full, exe_ctx, result)
        finally:
            if armed and process.GetState() == lldb.eStateStopped:
                send_packet(debugger, "QWasmLineStep:off")

    command.__doc__ = "%s: %s, with the Wasm line stepping of lldb/wasm_gdbstub.py" % (
        lldb_command,
        "step over calls" if kind == "over" else "step into calls",
    )
    return command


step_over = line_step("over", "thread step-over")
step_into = line_step("into", "thread step-in")

class SafeStepping:
    """At each stop of a Wasm target, LLDB's own fast stepping stays on only where the stub says it
    can step the current line (`qWasmFastStepping`): LLDB disassembles the source rows a step
    can pass through (the line's own, line 0 and the middle of other lines), so none of them may
    hold an instruction longer than its 16-byte buffer, nor a `br_table`, which LLDB's fast
    stepping does not take for a branch (it runs on past it and loses the step). Elsewhere, and
    when the stub cannot say, LLDB single-steps. This keeps lldb-dap (which calls LLDB's
    stepping directly) and `thread step-over` typed in full safe, while `next` over a call keeps
    LLDB's fast stepping wherever it can: with single steps LLDB 22 stops inside the callee (its
    Wasm frames all have CFA 0)."""

    def __init__(self):
        self.safe = {}

    def at_stop(self, exe_ctx):
        target = exe_ctx.GetTarget()
        if not is_wasm(target):
            return
        frame = exe_ctx.GetFrame()
        pc = frame.GetPC() if frame.IsValid() else lldb.LLDB_INVALID_ADDRESS
        if pc == lldb.LLDB_INVALID_ADDRESS:
            return
        # The stub answers for the whole line (every place it starts in its function), so one
        # question per line: `si` through a line asks once.
        line = frame.GetLineEntry()
        function = frame.GetFunction()
        if line.IsValid() and line.GetLine() != 0 and function.IsValid():
            key = (
                function.GetStartAddress().GetLoadAddress(target),
                str(line.GetFileSpec()),
                line.GetLine(),
            )
        else:
            key = pc
        if key not in self.safe:
            reply = send_packet(target.GetDebugger(), "qWasmFastStepping:%x" % pc)
            self.safe[key] = reply == "OK"
        set_fast_stepping(target.GetDebugger(), self.safe[key])


def wasm_return_value(debugger, target, return_type):
    """The value a Wasm function just returned, as LLDB would show it: on top of the caller's
    operand stack at the return address (`qWasmStackValue:0;0`), read as `return_type`. None for
    a function returning nothing or what Wasm returns through memory (a struct's `sret`)."""
    if not return_type.IsValid() or return_type.GetName() == "void":
        return None
    type_class = return_type.GetCanonicalType().GetTypeClass()
    if type_class in (lldb.eTypeClassStruct, lldb.eTypeClassUnion, lldb.eTypeClassClass,
                      lldb.eTypeClassArray):
        return None
    reply = send_packet(debugger, "qWasmStackValue:0;0")
    try:
        raw = bytes.fromhex(reply or "")
    except ValueError:
        return None
    size = return_type.GetByteSize()
    if not raw or size == 0 or size > len(raw):
        return None
    error = lldb.SBError()
    data = lldb.SBData()
    data.SetData(error, raw[:size], target.GetByteOrder(), target.GetAddressByteSize())
    if error.Fail():
        return None
    value = target.CreateValueFromData("return", data, return_type)
    # LLDB numbers it as natively ($0, $1...); the persistent copy's own contents live in memory
    # LLDB cannot allocate on Wasm, so the text comes from the value read here.
    persistent = value.Persist()
    name = persistent.GetName() if persistent.IsValid() and persistent.GetName() else "$"
    text = value.GetValue() or ""
    if value.GetSummary():
        text = (text + " " + value.GetSummary()).strip()
    return "(%s) %s = %s" % (value.GetTypeName(), name, text)


def finish(debugger, arguments, exe_ctx, result, internal_dict):
    """thread step-out, with the return value shown as natively (`Return value: (int) $0 = 2`):
    LLDB has no Wasm ABI to find it, the stub has the caller's operand stack."""
    target = exe_ctx.GetTarget()
    frame = exe_ctx.GetFrame()
    full = "thread step-out" + (" " + arguments if arguments.strip() else "")
    if not (is_wasm(target) and frame.IsValid() and not debugger.GetAsync()):
        debugger.GetCommandInterpreter().HandleCommand(full, exe_ctx, result)
        return
    return_type = frame.GetFunction().GetType().GetFunctionReturnType()
    depth = frame.GetThread().GetNumFrames() - frame.GetFrameID()
    stepped = lldb.SBCommandReturnObject()
    debugger.GetCommandInterpreter().HandleCommand(full, exe_ctx, stepped)
    output = stepped.GetOutput() or ""
    thread = exe_ctx.GetProcess().GetSelectedThread()
    value = None
    if (
        stepped.Succeeded()
        and thread.IsValid()
        and thread.GetStopReason() == lldb.eStopReasonPlanComplete
        and thread.GetNumFrames() == depth - 1
    ):
        value = wasm_return_value(debugger, target, return_type)
    if value is not None:
        # Where LLDB puts it natively: right after the thread's stop line.
        lines = output.split("\n")
        at = next((i + 1 for i, l in enumerate(lines) if "stop reason = " in l), len(lines))
        lines.insert(at, "Return value: %s\n" % value)
        output = "\n".join(lines)
    if output:
        result.Print(output)
    if stepped.GetError():
        result.SetError(stepped.GetError())
    elif stepped.Succeeded():
        result.SetStatus(lldb.eReturnStatusSuccessFinishNoResult)


# ---------------------------------------------------------------------------------------------
# Function pointers. A C function pointer on Wasm is a slot of the module's function table, so
# LLDB prints `0x00000005` where natively it shows the function (`0x... (prog`f at f.c:12)`). The
# stub knows what the module's element segments put in each slot (`qWasmIndirectFunction`); this
# summary shows it in LLDB's native format, after the slot number.

FUNCTION_POINTER_CATEGORY = "wasm-gdbstub"


def is_function_pointer(sbtype, internal_dict):
    """Summary recognizer: a pointer to a function, in a Wasm module."""
    canonical = sbtype.GetCanonicalType()
    if not canonical.IsPointerType() or not canonical.GetPointeeType().IsFunctionType():
        return False
    # The type does not say which target it is from; the summary is for the selected one (a
    # native function pointer keeps LLDB's own summary).
    debugger = getattr(lldb, "debugger", None)
    return bool(debugger) and is_wasm(debugger.GetSelectedTarget())


def function_pointer_summary(valobj, internal_dict):
    index = valobj.GetValueAsUnsigned(0)
    target = valobj.GetTarget()
    if index == 0 or not is_wasm(target):
        return None
    frame = valobj.GetFrame()
    within = frame.GetPC() if frame.IsValid() else 0x4000000000000000
    reply = send_packet(target.GetDebugger(), "qWasmIndirectFunction:%x,%x" % (within, index))
    try:
        address = target.ResolveLoadAddress(int(reply, 16))
    except (TypeError, ValueError):
        return None
    context = address.GetSymbolContext(lldb.eSymbolContextEverything)
    name = context.GetFunction().GetName() or context.GetSymbol().GetName()
    if not name:
        return None
    where = name
    line = context.GetLineEntry()
    if line.IsValid() and line.GetFileSpec().GetFilename():
        where = "%s at %s:%d" % (name, line.GetFileSpec().GetFilename(), line.GetLine())
    return "(%s`%s)" % (context.GetModule().GetFileSpec().GetFilename(), where)


def install_function_pointers(debugger):
    _run(
        debugger,
        "type summary add -w %s -F %s.function_pointer_summary "
        "--recognizer-function %s.is_function_pointer"
        % (FUNCTION_POINTER_CATEGORY, __name__, __name__),
    )
    _run(debugger, "type category enable %s" % FUNCTION_POINTER_CATEGORY)


def install_stepping(debugger):
    """Replaces LLDB's `next`/`n`/`step`/`s` aliases with the line-stepping commands, and
    `finish` with one that shows the return value."""
    interp = debugger.GetCommandInterpreter()
    ignored = lldb.SBCommandReturnObject()
    for name, function in STEP_COMMANDS:
        interp.HandleCommand("command unalias %s" % name, ignored)
        _run(debugger, "command script add -o -f %s.%s %s" % (__name__, function, name))


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
    install_stop_hook(debugger)
    install_stepping(debugger)
    install_function_pointers(debugger)
