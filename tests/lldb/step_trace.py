"""Records where LLDB stops while stepping, one JSON object per line.

The "native LLDB oracle" (tests/native_oracle.rs) runs this once against a
native build of a C/C++ program and once against the Wasm build of the same
source served by the stub, then compares the two traces.

Usage (with LLDB's Python package importable, e.g. PYTHONPATH=$(lldb-22 -P)):

    step_trace.py native ELF            START ACTION COUNT [options]
    step_trace.py wasm   HOST:PORT WASM START ACTION COUNT [options]

  START    function to break in (by name) before stepping
  ACTION   `next` (step over) or `step` (step into)
  COUNT    number of steps after the first stop
  options  --skip-function NAME (repeatable): `step` treats NAME like a
           function without debug info and does not stop in it (LLDB's
           target.process.thread.step-avoid-regexp, applied identically on
           both sides)
           --hit N: start at the N-th hit of START (default 1)
           --source-root DIR (repeatable): the program's own sources. `step`
           does not stop in functions whose compile unit lies elsewhere
           (see library_functions())
           --integration PATH: `command script import PATH` first (both
           sides), as a user of the project's LLDB integration
           (lldb/wasm_gdbstub.py) has it; the Wasm side then connects with
           its `wasm-remote`, and nothing else is set by hand
           --sbapi: step with SBThread.StepOver/StepInto, as lldb-dap does,
           instead of the `next`/`step` commands a CLI user types
           --probe PATH (repeatable): record the value of the variable path
           PATH (`frame variable` syntax, e.g. L->l_G->GCdebt) at the first
           stop, to explain divergences that come from program state
           --keep-going: go on stepping after a stop without line info or
           outside main (by default the trace ends there with {"kind": "end"})
           --args ...: the rest are program arguments (native only; a Wasm
           program gets its arguments from the wasmtime command line)

For `wasm`, the WASM file is only reported (LLDB gets the module from the
stub); `target create` is not needed before `process connect`.

Output lines (stdout):
  {"kind": "start", ...}              the first stop, at the START breakpoint
  {"kind": "stop", "i": n, ...}       after the n-th step (n from 1)
  {"kind": "exit", "status": s, ...}  the process exited; no more steps
  {"kind": "outside", ...}            a stop with main no longer on the stack
  {"kind": "end", "why": ...}         the trace stopped early on purpose
  {"kind": "error", "message": ...}   the session could not go on
Each stop has: func, file (basename), line, pc, depth (frames below the
START frame's depth: 0 = same depth, 1 = a callee, -1 = the caller; LLDB
counts a frame per inlined call), reason (LLDB's stop description), thread
state, and `"library": true` if the stop is in a function whose compile
unit is not under a --source-root (which `step` should have avoided).
Diagnostics go to stderr.
"""

import json
import os
import re
import sys
import time

import lldb


def emit(obj):
    sys.stdout.write(json.dumps(obj, sort_keys=True) + "\n")
    sys.stdout.flush()


def log(msg):
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


def ere_escape(text):
    """Escapes a literal for LLDB's (POSIX extended) regular expressions."""
    return re.sub(r"([.\[\]()*+?{}|^$\\])", r"\\\1", text)


def strip_parameters(name):
    """`ns::f<T>(int) const` -> `ns::f<T>`: a function name without its own
    parameter list (the last parenthesised group; `operator()(int)` keeps
    its `()`, `(anonymous namespace)::g()` its namespace)."""
    if not name:
        return ""
    trimmed = name
    for qualifier in (" const", " volatile", " &&", " &"):
        if trimmed.endswith(qualifier):
            trimmed = trimmed[: -len(qualifier)]
    if not trimmed.endswith(")"):
        return name
    depth = 0
    for i in range(len(trimmed) - 1, -1, -1):
        c = trimmed[i]
        if c == ")":
            depth += 1
        elif c == "(":
            depth -= 1
            if depth == 0:
                head = trimmed[:i]
                # `operator()` without a parameter list after it.
                return name if head.endswith("operator") else head
    return name


def under_roots(cu, roots):
    """Whether the compile unit `cu`'s source lies under one of `roots`."""
    spec = cu.GetFileSpec()
    path = os.path.join(spec.GetDirectory() or "", spec.GetFilename() or "")
    return any(path.startswith(root + os.sep) for root in roots)


def inlined_names(block):
    """The names of the functions inlined anywhere in `block`."""
    names = []
    stack = [block.GetFirstChild()] if block.IsValid() else []
    while stack:
        b = stack.pop()
        while b.IsValid():
            if b.IsInlined() and b.GetInlinedName():
                names.append(b.GetInlinedName())
            child = b.GetFirstChild()
            if child.IsValid():
                stack.append(child)
            b = b.GetSibling()
    return names


def find_lldb_server():
    """LLDB started from Python does not find its `lldb-server` on its own
    (the `lldb-22` binary does, relative to itself); point it there."""
    if os.environ.get("LLDB_DEBUGSERVER_PATH"):
        return
    import shutil

    here = os.path.dirname(os.path.abspath(lldb.__file__))
    candidates = []
    # <prefix>/lib/python3.X/site-packages/lldb -> <prefix>/bin
    up = here
    for _ in range(4):
        up = os.path.dirname(up)
        candidates.append(os.path.join(up, "bin", "lldb-server"))
    for name in ("lldb-server-22", "lldb-server"):
        found = shutil.which(name)
        if found:
            candidates.append(found)
    for path in candidates:
        if os.path.isfile(path) and os.access(path, os.X_OK):
            os.environ["LLDB_DEBUGSERVER_PATH"] = path
            log("LLDB_DEBUGSERVER_PATH=%s" % path)
            return


def parse_args(argv):
    if len(argv) < 1 or argv[0] not in ("native", "wasm"):
        raise SystemExit(__doc__)
    mode = argv[0]
    need = 5 if mode == "native" else 6
    if len(argv) < need:
        raise SystemExit(__doc__)
    opts = {
        "mode": mode,
        "skip": [],
        "hit": 1,
        "program_args": [],
        "keep_going": False,
        "probes": [],
        "roots": [],
        "integration": None,
        "sbapi": False,
    }
    if mode == "native":
        opts["elf"] = argv[1]
        rest = argv[2:]
    else:
        opts["addr"] = argv[1]
        opts["wasm"] = argv[2]
        rest = argv[3:]
    opts["start"], opts["action"], count = rest[0], rest[1], rest[2]
    opts["count"] = int(count)
    if opts["action"] not in ("next", "step"):
        raise SystemExit("action must be `next` or `step`, not %r" % opts["action"])
    rest = rest[3:]
    while rest:
        flag = rest.pop(0)
        if flag == "--skip-function":
            opts["skip"].append(rest.pop(0))
        elif flag == "--source-root":
            root = rest.pop(0)
            opts["roots"] += [os.path.abspath(root), os.path.realpath(root)]
        elif flag == "--integration":
            opts["integration"] = rest.pop(0)
        elif flag == "--sbapi":
            opts["sbapi"] = True
        elif flag == "--probe":
            opts["probes"].append(rest.pop(0))
        elif flag == "--keep-going":
            opts["keep_going"] = True
        elif flag == "--hit":
            opts["hit"] = int(rest.pop(0))
        elif flag == "--args":
            opts["program_args"] = rest
            rest = []
        else:
            raise SystemExit("unknown option %r\n%s" % (flag, __doc__))
    return opts


STATE_NAMES = {
    lldb.eStateStopped: "stopped",
    lldb.eStateExited: "exited",
    lldb.eStateCrashed: "crashed",
    lldb.eStateRunning: "running",
    lldb.eStateDetached: "detached",
    lldb.eStateConnected: "connected",
    lldb.eStateInvalid: "invalid",
}


class Session:
    def __init__(self, opts):
        self.opts = opts
        self.dbg = lldb.SBDebugger.Create()
        self.dbg.SetAsync(False)
        self.ci = self.dbg.GetCommandInterpreter()
        self.target = None
        self.process = None
        self.base_depth = None

    def run(self, cmd, check=True):
        res = lldb.SBCommandReturnObject()
        self.ci.HandleCommand(cmd, res)
        out = (res.GetOutput() or "") + (res.GetError() or "")
        log("(lldb) %s\n%s" % (cmd, out.rstrip()))
        if check and not res.Succeeded():
            raise RuntimeError("`%s` failed: %s" % (cmd, out.strip()))
        return out

    def library_functions(self):
        """Names of the functions with debug info that are not the program's.

        Debian's wasi-libc, compiler-rt builtins and libc++/libc++abi for
        wasm32 are built with DWARF (compile units such as
        `libc-top-half/musl/src/stdio/vfprintf.c`), so on Wasm `step` would
        enter printf_core, memcpy, malloc...; their native counterparts
        (glibc, libgcc, libstdc++.so) have none here (see settings()), so
        native `step` steps over them. Both sides avoid these functions as
        LLDB avoids functions without debug info. They are found by compile
        unit: any unit whose source is not under a --source-root.

        The names must be the ones LLDB matches step-avoid-regexp against
        (SymbolContext::GetFunctionName), and a frame is not always named
        after its symbol:
        - Those libraries are optimised, and LLDB makes a frame of every
          inlined call: dlmalloc's realloc is `realloc` with `dlrealloc`
          inlined at its first instruction, libc++'s `std::to_string` has
          `i_to_string`, `to_chars`, `__to_chars_itoa`... inlined. Such a
          frame is named after the inlined function, as its DWARF names it
          (often unqualified, so `^std::` misses it): every inlined function
          in a library function is listed too.
        - Functions whose DWARF has no linkage name are named with their
          parameter list (libc++'s `::to_string()`), others without it: a
          name matches with or without one (see set_avoid_regexp()).
        A program function with the same name as one of these is not
        listed (it must not be avoided), only reported.

        LLDB cannot check the regexp at a function's first address when an
        inlined call starts there (realloc/dlrealloc, ~basic_string/
        __reset_internal_buffer/__is_long): its frame there has no symbol.
        It then runs past the prologue to the first line row and checks
        there, which may be the first instruction: the stub must stop at a
        breakpoint planted there while it shows the function's start."""
        roots = self.opts["roots"]
        if not roots:
            return []
        names = set()
        program_names = set()
        seen = set()
        for module in self.target.module_iter():
            for symbol in module:
                if symbol.GetType() != lldb.eSymbolTypeCode:
                    continue
                addr = symbol.GetStartAddress()
                cu = addr.GetCompileUnit()
                if not cu.IsValid():
                    continue
                into = program_names if under_roots(cu, roots) else names
                func = addr.GetFunction()
                if not func.IsValid():
                    if symbol.GetName():
                        into.add(strip_parameters(symbol.GetName()))
                    continue
                key = func.GetStartAddress().GetFileAddress()
                if key in seen:
                    continue
                seen.add(key)
                into.add(strip_parameters(func.GetName()))
                for name in inlined_names(func.GetBlock()):
                    into.add(strip_parameters(name))
        names.discard("")
        clash = names & program_names
        if clash:
            log(
                "not avoided: library functions named like program functions: %s"
                % " ".join(sorted(clash))
            )
        return sorted(names - program_names)

    def avoid_library_functions(self):
        names = self.library_functions()
        log("step avoids %d library functions with debug info: %s" % (len(names), " ".join(names)))
        if self.opts["start"] in names:
            # The roots are wrong: stepping would skip the program itself.
            raise RuntimeError(
                "%s is not under the source roots %s" % (self.opts["start"], self.opts["roots"])
            )
        if names:
            self.set_avoid_regexp(names)
        return len(names)

    def set_avoid_regexp(self, extra_names):
        # `step` must not stop in C++ standard library code: the native side
        # has libstdc++, the Wasm side libc++, whose code has nothing in
        # common. LLDB's default avoid-regexp, `^std::`, is meant for that,
        # but LLDB matches it against the demangled name without arguments,
        # which for a function template starts with its return type ("void
        # std::vector<...>::_M_realloc_insert<...>"), so most of both
        # libraries slips through. libstdc++ also has helpers in `__gnu_cxx::`
        # (e.g. vector iterators, real calls at -O0). The regexp below
        # allows a return type without `::` before the namespace; return
        # types from std:: start with `std::` themselves. Then the functions
        # the caller asks `step` to avoid, and library functions with debug
        # info (see library_functions()), each with or without a parameter
        # list after it.
        avoid = ["(std|__gnu_cxx)::", "[^:(<]+ (std|__gnu_cxx)::"]
        names = list(self.opts["skip"]) + list(extra_names)
        if names:
            avoid.append("(%s)(\\(.*)?$" % "|".join(ere_escape(n) for n in names))
        self.run(
            "settings set target.process.thread.step-avoid-regexp ^(%s)"
            % "|".join(avoid)
        )

    def settings(self):
        # This machine has libc6-dbg, whose detached symbols LLDB finds
        # through .gnu_debuglink under /usr/lib/debug: native `step` would
        # enter glibc's printf, whose code has nothing in common with
        # wasi-libc's. Without external debug files the native libraries have
        # no debug info at all, and the Wasm side's library functions are
        # avoided to match (see library_functions()).
        self.run("settings set symbols.enable-external-lookup false")
        self.set_avoid_regexp([])
        if self.opts["integration"]:
            self.run("command script import %s" % json.dumps(self.opts["integration"]))
        self.run("settings show target.process.thread.step-in-avoid-nodebug", check=False)

    def start(self):
        opts = self.opts
        self.settings()
        if opts["mode"] == "native":
            self.run("target create %s" % json.dumps(opts["elf"]))
            self.run("breakpoint set --name %s" % opts["start"])
            args = " ".join(json.dumps(a) for a in opts["program_args"])
            # The program's output must not mix with the trace on stdout.
            self.run(
                "process launch -i /dev/null -o /dev/null -e /dev/null -- %s" % args
            )
        else:
            if opts["integration"]:
                self.run("wasm-remote %s" % opts["addr"])
            else:
                self.run("process connect --plugin wasm connect://%s" % opts["addr"])
            self.run("breakpoint set --name %s" % opts["start"])
            self.run("process continue")
        self.target = self.dbg.GetSelectedTarget()
        self.process = self.target.GetProcess()
        self.avoided = self.avoid_library_functions()
        self.run("settings show target.process.thread.step-avoid-regexp", check=False)
        for _ in range(opts["hit"] - 1):
            if not self.stopped():
                break
            self.run("process continue")
        self.run("breakpoint list", check=False)

    def stopped(self):
        return self.process.GetState() == lldb.eStateStopped

    def main_on_stack(self):
        thread = self.process.GetSelectedThread()
        for frame in thread:
            if frame.GetFunctionName() == "main":
                return True
        return False

    def exit_record(self):
        state = self.process.GetState()
        rec = {"kind": "exit", "state": STATE_NAMES.get(state, str(state))}
        if state == lldb.eStateExited:
            rec["status"] = self.process.GetExitStatus()
            rec["description"] = self.process.GetExitDescription() or ""
        return rec

    def record(self, kind, index=None):
        thread = self.process.GetSelectedThread()
        frame = thread.GetFrameAtIndex(0)
        le = frame.GetLineEntry()
        spec = le.GetFileSpec()
        func = frame.GetFunctionName()
        if func is None:
            sym = frame.GetSymbol()
            func = sym.GetName() if sym.IsValid() else None
        depth = thread.GetNumFrames()
        rec = {
            "kind": kind,
            "func": func or "?",
            "file": spec.GetFilename() if spec.IsValid() and spec.GetFilename() else "",
            "line": le.GetLine() if le.IsValid() else 0,
            "column": le.GetColumn() if le.IsValid() else 0,
            "pc": "0x%x" % frame.GetPC(),
            "reason": thread.GetStopDescription(256) or "",
            "state": STATE_NAMES.get(self.process.GetState(), "?"),
        }
        cu = frame.GetCompileUnit()
        if self.opts["roots"] and cu.IsValid() and not under_roots(cu, self.opts["roots"]):
            # Avoided by `step` (see library_functions()): a stop here is a failure of that.
            rec["library"] = True
        if self.base_depth is None:
            self.base_depth = depth
        rec["depth"] = depth - self.base_depth
        if index is not None:
            rec["i"] = index
        return rec

    def trace(self):
        opts = self.opts
        if not self.stopped():
            emit({"kind": "error", "message": "never stopped at %s" % opts["start"]})
            emit(self.exit_record())
            return
        start = self.record("start")
        start["avoided_library_functions"] = self.avoided
        if opts["probes"]:
            frame = self.process.GetSelectedThread().GetFrameAtIndex(0)
            probes = {}
            for path in opts["probes"]:
                value = frame.GetValueForVariablePath(path)
                probes[path] = (
                    value.GetValue() or value.GetSummary() or str(value.GetError())
                )
            start["probes"] = probes
        emit(start)
        if start["func"] != opts["start"] and not start["func"].startswith(
            opts["start"] + "("
        ):
            emit(
                {
                    "kind": "error",
                    "message": "first stop is in %s, not %s" % (start["func"], opts["start"]),
                }
            )
            return
        # Only the steps should stop from now on.
        self.target.DeleteAllBreakpoints()
        began = time.time()
        done = 0
        for i in range(1, opts["count"] + 1):
            thread = self.process.GetSelectedThread()
            err = lldb.SBError()
            if not opts["sbapi"]:
                # What a CLI user types: the integration's `next`/`step` where it is imported.
                res = lldb.SBCommandReturnObject()
                self.ci.HandleCommand(opts["action"], res)
                if not res.Succeeded():
                    err.SetErrorString(res.GetError() or "%s failed" % opts["action"])
            elif opts["action"] == "next":
                thread.StepOver(lldb.eOnlyDuringStepping, err)
            else:
                thread.StepInto(
                    None, lldb.LLDB_INVALID_LINE_NUMBER, err, lldb.eOnlyDuringStepping
                )
            if not self.stopped():
                emit(self.exit_record())
                break
            rec = self.record("stop", i)
            if err.Fail():
                rec["error"] = err.GetCString()
            done = i
            if opts["keep_going"]:
                emit(rec)
                continue
            if not self.main_on_stack():
                # Stepped out of main into the C library's start-up code,
                # which differs by platform: glibc's has no debug info (see
                # settings()), so LLDB stops on its first instruction and
                # then single-steps machine code; wasi-libc's crt1-command.c
                # has line info. Neither is the program: end the trace.
                rec["kind"] = "outside"
                emit(rec)
                emit({"kind": "end", "why": "left main"})
                break
            emit(rec)
            if rec["line"] == 0:
                # A stop without line info inside the program: from here LLDB
                # single-steps machine instructions, which have nothing in
                # common between x86-64 and Wasm.
                emit({"kind": "end", "why": "no line info"})
                break
        log("%d steps in %.1fs" % (done, time.time() - began))

    def finish(self):
        if self.process is not None and self.process.IsValid():
            state = self.process.GetState()
            if state not in (lldb.eStateExited, lldb.eStateDetached, lldb.eStateInvalid):
                if self.opts["mode"] == "native":
                    self.process.Kill()
                else:
                    # Ends the Wasm run; the harness also kills wasmtime.
                    self.process.Kill()
        lldb.SBDebugger.Destroy(self.dbg)


def main():
    opts = parse_args(sys.argv[1:])
    log("step_trace: %r" % opts)
    if opts["mode"] == "native":
        find_lldb_server()
    session = Session(opts)
    try:
        session.start()
        session.trace()
    except Exception as e:  # reported in-band so the harness shows it
        emit({"kind": "error", "message": "%s: %s" % (type(e).__name__, e)})
    finally:
        session.finish()


if __name__ == "__main__":
    main()
