#!/usr/bin/env python3
"""The benchmark driver behind scripts/bench.sh (Python 3 standard library only).

Builds the component and the benchmark debuggees, then measures, with medians of several runs:
  1. LLDB 22 `process connect` -> `b main` -> `continue` -> `bt` on a ~16 MB debug module
     (bench/large-app), against `target create` + `b main` on the same file, plus a packet count
     and memory-read analysis from LLDB's own `gdb-remote packets` log; the same session through
     a proxy that answers LLDB's image reads instantly (LLDB's own floor for reading the image
     over RSP), and with the stub started with `--program PATH` (LLDB loads the file itself);
  2. raw RSP `x` and `m` throughput reading module 0's image, against a loopback RSP server
     process that serves the same bytes pre-encoded (the ceiling of this client);
  3. the breakpoint-hit cycle (`vCont;c` -> stop -> `qWasmCallStack` -> `qWasmLocal`);
  4. `vCont;s` round trips, and LLDB `next` over tests/fixtures/c/app.c's straight20().
It is a benchmark, not a test: it prints figures and only fails when it cannot measure.
"""

import argparse
import multiprocessing
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_OUT = ROOT / "target" / "bench"
COMPONENT = ROOT / "target" / "wasm32-wasip2" / "release" / "wasm_gdbstub.wasm"
LARGE_SRC = ROOT / "bench" / "large-app"
HOT_LOOP_SRC = ROOT / "bench" / "c" / "hot_loop.c"
APP_C_SRC = ROOT / "tests" / "fixtures" / "c" / "app.c"

CODE_BASE = 0x4000_0000_0000_0000
# LLDB 22's binary read size: its 128 KiB cap less 70 bytes of packet overhead.
LLDB_X_READ = 0x1FFBA
LISTEN_RE = re.compile(rb"listening on (\d+\.\d+\.\d+\.\d+:\d+)")
# The stub may take a while to compile a 16 MB module on a loaded 2-core machine.
STARTUP_TIMEOUT = 180.0
LLDB_TIMEOUT = 300.0


class BenchError(Exception):
    pass


def log(msg):
    print(f"==> {msg}", file=sys.stderr, flush=True)


def listed_tools():
    """scripts/tools.txt, the project's one list of external tools: name -> (source, package)."""
    rows = {}
    for line in (ROOT / "scripts" / "tools.txt").read_text().splitlines():
        words = line.split("#", 1)[0].split()
        if len(words) >= 3:
            rows[" ".join(words[:-2])] = (words[-2], words[-1])
    return rows


def tool(name, env_var=None):
    listed = listed_tools()
    if name not in listed:
        raise BenchError(f"the benchmark runs {name}, which scripts/tools.txt does not list")
    if "/" in name:
        # Installed inside the project (setup's virtualenv): named by its path from the root.
        path = str(ROOT / name) if (ROOT / name).is_file() else None
    else:
        path = (os.environ.get(env_var) if env_var else None) or shutil.which(name)
    if not path:
        source, package = listed[name]
        raise BenchError(f"{name} not found on PATH (it comes from {source} {package}; "
                         "scripts/setup.sh installs it)")
    return path


def run(cmd, **kw):
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)
    if proc.returncode != 0:
        raise BenchError(f"command failed ({proc.returncode}): {' '.join(map(str, cmd))}\n{proc.stdout}")
    return proc.stdout


# ----------------------------------------------------------------------------- building


def build(tools):
    BENCH_OUT.mkdir(parents=True, exist_ok=True)
    log("building the component (cargo build --release --target wasm32-wasip2)")
    run(["cargo", "build", "--quiet", "--release", "--target", "wasm32-wasip2"], cwd=ROOT)
    if not COMPONENT.is_file():
        raise BenchError(f"{COMPONENT} was not produced")

    log("building bench/large-app (wasm32-wasip1, debug)")
    target_dir = BENCH_OUT / "large-app-target"
    run(["cargo", "build", "--quiet", "--locked", "--target", "wasm32-wasip1",
         "--target-dir", str(target_dir)], cwd=LARGE_SRC)
    large = BENCH_OUT / "large-app.wasm"
    copy_if_changed(target_dir / "wasm32-wasip1" / "debug" / "large-app.wasm", large)

    # Debian's wasi-libc only knows the `wasm32-wasi` spelling of wasm32-wasip1 (the tests build
    # the C fixtures the same way); the deprecation warning is noise.
    clang_flags = ["--target=wasm32-wasi", "-Wno-deprecated", "-g", "-O0"]
    out = {}
    for name, src in (("hot_loop", HOT_LOOP_SRC), ("app", APP_C_SRC)):
        dst = BENCH_OUT / f"{name}.wasm"
        if not dst.exists() or dst.stat().st_mtime < src.stat().st_mtime:
            log(f"building {src.relative_to(ROOT)}")
            run([tools["clang"], *clang_flags, str(src), "-o", str(dst)])
        out[name] = dst
    out["large"] = large
    return out


def build_corpus():
    """The Lua corpus program, built for Wasm and x86-64 by the tests' own harness
    (tests/common/corpus.rs, which its smoke test drives): one build recipe for both."""
    log("building the Lua corpus (cargo test --test corpus_builds lua)")
    run(["cargo", "test", "--quiet", "--test", "corpus_builds", "lua"], cwd=ROOT)
    lua = {"wasm": ROOT / "target" / "corpus" / "lua.wasm", "native": ROOT / "target" / "corpus" / "lua-native"}
    for path in lua.values():
        if not path.is_file():
            raise BenchError(f"{path} was not produced by the corpus build")
    return lua


def copy_if_changed(src, dst):
    # cargo leaves its output alone when nothing changed; copying only then spares a 16 MB write
    # per run and keeps the copy's timestamp stable.
    if not dst.exists() or dst.stat().st_mtime != src.stat().st_mtime or dst.stat().st_size != src.stat().st_size:
        shutil.copy2(src, dst)


# ----------------------------------------------------------------------------- wasm parsing
# Just enough of the binary format to find where a named function's code starts, as a module
# offset: the stub's code addresses are module offsets, while LLDB's local-file addresses are not.


def leb_u(data, pos):
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return result, pos


def wasm_name(data, pos):
    n, pos = leb_u(data, pos)
    return data[pos:pos + n].decode("utf-8", "replace"), pos + n


def skip_limits(data, pos):
    flags = data[pos]
    _, pos = leb_u(data, pos + 1)
    if flags & 1:
        _, pos = leb_u(data, pos)
    return pos


def function_entry(path, func_name):
    """Module offset of the first instruction of the function named `func_name`."""
    functions = function_table(path)
    if func_name not in functions:
        raise BenchError(f"no function named {func_name} in {path}'s name section")
    return functions[func_name][0]


def function_table(path):
    """Every named defined function: name -> (first instruction, one past its body)."""
    data = Path(path).read_bytes()
    if data[:4] != b"\0asm":
        raise BenchError(f"{path} is not a core wasm module")
    pos = 8
    imported_funcs = 0
    bodies = []
    names = {}
    while pos < len(data):
        sec_id = data[pos]
        size, pos = leb_u(data, pos + 1)
        start, end = pos, pos + size
        if sec_id == 2:
            count, p = leb_u(data, start)
            for _ in range(count):
                _, p = wasm_name(data, p)
                _, p = wasm_name(data, p)
                kind = data[p]
                p += 1
                if kind == 0:
                    imported_funcs += 1
                    _, p = leb_u(data, p)
                elif kind == 1:
                    p = skip_limits(data, p + 1)
                elif kind == 2:
                    p = skip_limits(data, p)
                elif kind == 3:
                    p += 2
                elif kind == 4:
                    _, p = leb_u(data, p + 1)
                else:
                    raise BenchError(f"unknown import kind {kind} in {path}")
        elif sec_id == 10:
            count, p = leb_u(data, start)
            for _ in range(count):
                body_size, p = leb_u(data, p)
                body_end = p + body_size
                groups, q = leb_u(data, p)
                for _ in range(groups):
                    _, q = leb_u(data, q)
                    q += 1
                bodies.append((q, body_end))
                p = body_end
        elif sec_id == 0:
            sec_name, p = wasm_name(data, start)
            if sec_name == "name":
                while p < end:
                    sub_id = data[p]
                    sub_size, p = leb_u(data, p + 1)
                    if sub_id == 1:
                        count, q = leb_u(data, p)
                        for _ in range(count):
                            idx, q = leb_u(data, q)
                            fname, q = wasm_name(data, q)
                            names[fname] = idx
                    p += sub_size
        pos = end
    return {name: bodies[idx - imported_funcs] for name, idx in names.items()
            if 0 <= idx - imported_funcs < len(bodies)}


def line_of_mark(path, mark):
    hits = [i for i, line in enumerate(Path(path).read_text().splitlines(), 1)
            if line.rstrip().endswith(f"MARK: {mark}")]
    if len(hits) != 1:
        raise BenchError(f"expected one `MARK: {mark}` in {path}, found {len(hits)}")
    return hits[0]


# ----------------------------------------------------------------------------- the stub


class Stub:
    """`wasmtime run` with the debug component, until its process ends or is killed."""

    def __init__(self, tools, wasm, program_args=(), stub_args=()):
        cmd = [tools["wasmtime"], "run", "-D", f"debugger={COMPONENT}", "-D", "arg=127.0.0.1:0",
               *(t for a in stub_args for t in ("-D", f"arg={a}")), str(wasm), *map(str, program_args)]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        self.stderr = bytearray()
        self.addr = None
        self._ready = threading.Event()
        # Keep draining stderr so a chatty stub can never block on a full pipe.
        threading.Thread(target=self._drain, daemon=True).start()
        if not self._ready.wait(STARTUP_TIMEOUT) or self.addr is None:
            self.close()
            raise BenchError(f"the stub did not start listening:\n{self.stderr.decode(errors='replace')}")

    def _drain(self):
        for line in self.proc.stderr:
            self.stderr += line
            m = LISTEN_RE.search(line)
            if m and self.addr is None:
                self.addr = m.group(1).decode()
                self._ready.set()
        self._ready.set()

    @property
    def host_port(self):
        host, port = self.addr.rsplit(":", 1)
        return host, int(port)

    def close(self, grace=10.0):
        # `process kill`/`k` normally ends the run; anything left over is ours to kill.
        try:
            self.proc.wait(grace)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close(grace=10.0 if exc[0] is None else 0.0)


# ----------------------------------------------------------------------------- RSP client


def checksum(payload):
    return b"%02x" % (sum(payload) & 0xFF)


# One token of a packet body: an escape (`}` + byte^0x20), optionally run-length repeated
# (`*` + count+29), or a plain byte that is repeated. Done by regex because gdbstub RLE-encodes
# hex replies and a per-byte Python loop would make this client the bottleneck.
TOKEN_RE = re.compile(rb"(\}.|[^}*])\*(.)|\}(.)", re.S)


def _expand(m):
    if m.group(3) is not None:
        return bytes([m.group(3)[0] ^ 0x20])
    unit = m.group(1)
    if unit[0] == 0x7D:
        unit = bytes([unit[1] ^ 0x20])
    return unit * (1 + m.group(2)[0] - 29)


def unescape(body):
    body = bytes(body)
    if b"}" in body:
        return TOKEN_RE.sub(_expand, body)
    if b"*" not in body:
        return body
    # Hex replies have no escapes: jumping from `*` to `*` keeps the work per run, not per
    # byte. The count byte may itself be `*` (13 repeats), hence no plain split.
    out = []
    pos = 0
    star = body.find(b"*")
    while star >= 0:
        out.append(body[pos:star])
        prev = body[star - 1:star]
        out.append(prev * (body[star + 1] - 29))
        pos = star + 2
        star = body.find(b"*", pos)
    out.append(body[pos:])
    return b"".join(out)


class Rsp:
    """A small RSP client; framing is done here, independently of the stub's code."""

    def __init__(self, host_port, timeout=60.0):
        self.sock = socket.create_connection(host_port, timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.ack = True
        # How far the buffer has been searched for `#`, so a multi-megabyte reply arriving in
        # many reads is scanned once, not once per read.
        self.scanned = 0

    def send(self, payload):
        if isinstance(payload, str):
            payload = payload.encode()
        self.sock.sendall(b"$" + payload + b"#" + checksum(payload))
        if self.ack:
            while True:
                c = self._byte()
                if c == b"+":
                    return
                if c == b"-":
                    self.sock.sendall(b"$" + payload + b"#" + checksum(payload))

    def _fill(self):
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise BenchError("the stub closed the connection")
        self.buf += chunk

    def _byte(self):
        if not self.buf:
            self._fill()
        c = bytes(self.buf[:1])
        del self.buf[:1]
        return c

    def recv_raw(self):
        """The next packet's body, still escaped and run-length encoded."""
        while True:
            while not self.buf:
                self._fill()
            start = self.buf.find(b"$")
            if start < 0:
                self.buf.clear()
                continue
            if start:
                del self.buf[:start]
                self.scanned = 0
            break
        while True:
            end = self.buf.find(b"#", max(self.scanned, 1))
            if end >= 0 and len(self.buf) >= end + 3:
                break
            self.scanned = len(self.buf) if end < 0 else end
            self._fill()
        body = bytes(self.buf[1:end])
        del self.buf[:end + 3]
        self.scanned = 0
        if self.ack:
            self.sock.sendall(b"+")
        return body

    def recv(self):
        return unescape(self.recv_raw())

    def request(self, payload):
        self.send(payload)
        return self.recv()

    def no_ack(self):
        if self.request("QStartNoAckMode") != b"OK":
            raise BenchError("QStartNoAckMode refused")
        self.ack = False

    def close(self):
        self.sock.close()


def packet_size(supported):
    m = re.search(rb"PacketSize=([0-9a-fA-F]+)", supported)
    if not m:
        raise BenchError(f"qSupported reply has no PacketSize: {supported[:200]!r}")
    return int(m.group(1), 16)


def escape_binary(data):
    # `}` first, so the escapes added for the other bytes are not escaped again.
    for special in (b"}", b"#", b"$", b"*"):
        data = data.replace(special, b"}" + bytes([special[0] ^ 0x20]))
    return data


def read_image(client, base, length, chunk, kind="m"):
    """Reads [base, base+length) with `m` (hex) or `x` (binary) packets of up to `chunk` bytes. Returns the bytes, the
    seconds spent between sending each request and receiving its whole reply (decoding happens
    outside that window, so the figure is the stub's and the wire's, not Python's) and the reply
    bytes as sent (after the stub's run-length encoding)."""
    out = bytearray()
    wire = 0.0
    wire_bytes = 0
    while len(out) < length:
        n = min(chunk, length - len(out))
        request = b"%s%x,%x" % (kind.encode(), base + len(out), n)
        t0 = time.perf_counter()
        client.send(request)
        raw = client.recv_raw()
        wire += time.perf_counter() - t0
        wire_bytes += len(raw)
        reply = unescape(raw)
        if not reply or (reply[0:1] == b"E" and len(reply) == 3):
            raise BenchError(f"{request.decode()} failed: {reply[:20]!r}")
        out += bytes.fromhex(reply.decode()) if kind == "m" else reply
    return bytes(out), wire, wire_bytes


def connect_raw(stub):
    client = Rsp(stub.host_port)
    client.no_ack()
    size = packet_size(client.request("qSupported:swbreak+"))
    if not client.request("?").startswith(b"T"):
        raise BenchError("no initial stop reply")
    return client, size


class LoopbackServer:
    """Serves `m` and `x` reads of `image` at CODE_BASE over loopback RSP: the same client, framing and
    hex encoding as against the stub, with no debugger behind it, i.e. this client's ceiling."""

    def __init__(self, image):
        self.image = image
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.host_port = self.listener.getsockname()
        # A process of its own, so the server does not share the client's interpreter lock.
        multiprocessing.get_context("fork").Process(target=self._serve, daemon=True).start()

    def _serve(self):
        conn, _ = self.listener.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buf = bytearray()
        ack = True
        # Encoded once (the first, untimed pass) and then served as they are: a Python encoder
        # would otherwise be what this reference measures.
        replies = {}
        while True:
            end = buf.find(b"#")
            if end < 0 or len(buf) < end + 3:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                buf += chunk
                continue
            start = buf.find(b"$")
            payload = bytes(buf[start + 1:end])
            del buf[:end + 3]
            if ack:
                conn.sendall(b"+")
            if payload == b"QStartNoAckMode":
                reply = b"OK"
            elif payload[:1] in (b"m", b"x"):
                if payload not in replies:
                    addr, n = (int(x, 16) for x in payload[1:].split(b","))
                    data = self.image[addr - CODE_BASE:addr - CODE_BASE + n]
                    body = data.hex().encode() if payload[:1] == b"m" else escape_binary(data)
                    replies[payload] = b"$" + body + b"#" + checksum(body)
                conn.sendall(replies[payload])
                continue
            elif payload == b"k":
                conn.close()
                return
            else:
                reply = b""
            conn.sendall(b"$" + reply + b"#" + checksum(reply))
            if payload == b"QStartNoAckMode":
                ack = False


class InstantImageProxy:
    """Stands between LLDB and the stub, answering LLDB's reads of module 0's image itself from
    the .wasm file, framed ahead of time, and passing everything else through. LLDB connecting
    through it shows what reading the image over RSP costs LLDB itself: the floor no stub can
    beat while LLDB reads the image from memory."""

    frames = {}  # (offset, length) -> framed reply, shared so repeated sessions find them ready

    def __init__(self, stub, image):
        self.stub, self.image = stub, image
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.addr = "%s:%d" % self.listener.getsockname()
        self.lock = threading.Lock()
        threading.Thread(target=self._serve, daemon=True).start()

    def frame(self, offset, length):
        key = (offset, length)
        if key not in self.frames:
            data = escape_binary(self.image[offset:offset + length])
            self.frames[key] = b"$" + data + b"#" + checksum(data)
        return self.frames[key]

    def _pump(self, src, dst):
        while True:
            chunk = src.recv(1 << 20)
            if not chunk:
                dst.close()
                return
            with self.lock:
                dst.sendall(chunk)

    def _serve(self):
        lldb, _ = self.listener.accept()
        stub = socket.create_connection(self.stub.host_port)
        for s in (lldb, stub):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=self._pump, args=(stub, lldb), daemon=True).start()
        buf = bytearray()
        no_ack = False
        while True:
            chunk = lldb.recv(1 << 16)
            if not chunk:
                stub.close()
                return
            buf += chunk
            while buf:
                if buf[0] != ord("$"):
                    start = buf.find(b"$")
                    passed = bytes(buf if start < 0 else buf[:start])
                    del buf[:len(passed)]
                    stub.sendall(passed)
                    continue
                end = buf.find(b"#")
                if end < 0 or len(buf) < end + 3:
                    break
                packet = bytes(buf[:end + 3])
                del buf[:end + 3]
                no_ack = no_ack or packet.startswith(b"$QStartNoAckMode#")
                m = re.match(rb"\$x([0-9a-f]+),([0-9a-f]+)#", packet)
                addr = int(m.group(1), 16) if m else 0
                if no_ack and m and addr >> 32 == CODE_BASE >> 32 and int(m.group(2), 16):
                    offset = addr - CODE_BASE
                    if offset < len(self.image):
                        with self.lock:
                            lldb.sendall(self.frame(offset, int(m.group(2), 16)))
                        continue
                stub.sendall(packet)


# ----------------------------------------------------------------------------- LLDB


def run_lldb(tools, commands, cwd, expect=()):
    """Runs LLDB in batch mode from `cwd`; returns (seconds, output). Checks `expect` strings,
    since a batch session that went wrong still exits 0 and would time something else."""
    cmd = [tools["lldb"], "-b", "--no-lldbinit"]
    for c in commands:
        cmd += ["-o", c]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=LLDB_TIMEOUT)
    elapsed = time.perf_counter() - t0
    out = proc.stdout
    for needle in expect:
        if needle not in out:
            raise BenchError(f"LLDB output lacks {needle!r}:\n{out[-3000:]}")
    if re.search(r"^error:", out, re.M):
        raise BenchError(f"LLDB reported an error:\n{out[-3000:]}")
    return elapsed, out


def connect_cmd(stub):
    return f"process connect --plugin wasm connect://{stub.addr}"


SEND_RE = re.compile(r"send packet: \$([^#]*)#")
READ_RE = re.compile(r"read packet: \$([^#]*)#")
STAMP_RE = re.compile(r"^\s*([0-9]+\.[0-9]+)\s")


def analyse_packet_log(path):
    """Counts what LLDB sent, from its `gdb-remote packets` log."""
    sent = []  # (timestamp or None, payload)
    replies = []
    for line in Path(path).read_text(errors="replace").splitlines():
        # `history[...]` lines replay earlier packets; acks (`+`) are not packets.
        if "history[" in line:
            continue
        stamp = STAMP_RE.match(line)
        ts = float(stamp.group(1)) if stamp else None
        m = SEND_RE.search(line)
        if m:
            sent.append((ts, m.group(1)))
            replies.append(None)
            continue
        m = READ_RE.search(line)
        if m and replies and replies[-1] is None:
            replies[-1] = m.group(1)
    # `vCont?` is a capability query; the first resume (`vCont;c`, `vCont;s`) ends the connect.
    resume = next((i for i, (_, p) in enumerate(sent) if p.startswith("vCont;")), len(sent))
    reads = [(i, p) for i, (_, p) in enumerate(sent) if re.match(r"[mx][0-9a-fA-F]+,[0-9a-fA-F]+$", p)]
    sizes = [int(p.split(",")[1], 16) for _, p in reads]
    connect_sizes = [int(p.split(",")[1], 16) for i, p in reads if i < resume]
    x_probes = [(p, replies[i]) for i, p in reads if p.startswith("x")]
    failed = [p for i, p in reads if i < resume and re.fullmatch(r"E[0-9a-fA-F]{2}", replies[i] or "")]
    first_ts = sent[0][0] if sent and sent[0][0] is not None else None
    resume_ts = sent[resume][0] if resume < len(sent) else None
    read_ts = [sent[i][0] for i, _ in reads if i < resume and sent[i][0] is not None]
    size_counts = {}
    # Zero-length reads are capability probes (`x0,0`), reported apart.
    for s in connect_sizes:
        if s:
            size_counts[s] = size_counts.get(s, 0) + 1
    return {
        "total": len(sent),
        "connect": resume,
        "connect_reads": len(connect_sizes),
        "connect_read_bytes": sum(connect_sizes),
        "reads_total": len(reads),
        "read_bytes_total": sum(sizes),
        "m_reads": sum(1 for _, p in reads if p.startswith("m")),
        "x_reads": len(x_probes),
        "x_probes": x_probes,
        "max_read": max(sizes) if sizes else 0,
        "size_counts": sorted(size_counts.items(), key=lambda kv: -kv[1])[:4],
        "failed_reads": failed,
        "connect_s": (resume_ts - first_ts) if first_ts is not None and resume_ts is not None else None,
        "reads_span_s": (read_ts[-1] - read_ts[0]) if len(read_ts) > 1 else None,
        "after_resume": [p for _, p in sent[resume:]],
    }


# ----------------------------------------------------------------------------- measurements


def median(xs):
    return statistics.median(xs)


def fmt_s(x):
    return f"{x:.3f} s"


def fmt_ms(x):
    return f"{x:.3f} ms"


def stamp(label):
    """An LLDB command printing a timestamp, for timing phases inside one batch session."""
    return f'script print("BENCH_T {label}", __import__("time").perf_counter())'


def stamps(out):
    return {m.group(1): float(m.group(2)) for m in re.finditer(r"^BENCH_T (\S+) ([0-9.]+)$", out, re.M)}


def lldb_has_python(tools, cwd):
    try:
        _, out = run_lldb(tools, [stamp("probe")], cwd)
    except (BenchError, subprocess.TimeoutExpired):
        return False
    return "probe" in stamps(out)


def bench_lldb_large(tools, wasm, runs, workdir, python):
    log(f"1. LLDB connect on the large module ({runs} runs, then {runs if python else 0} with phase "
        "timestamps and 1 with a packet log)")
    # An empty directory: LLDB resolves the stub's library name relative to its cwd and would
    # quietly load a local file of that name instead of reading the module from the stub.
    cwd = Path(tempfile.mkdtemp(prefix="lldb-", dir=workdir))
    remote, local, bare, instant, program = [], [], [], [], []
    steps = ["b main", "continue", "bt"]
    expect = ["stop reason = breakpoint 1.1", "large_app::main", "exited with status"]
    image = Path(wasm).read_bytes()
    program_arg = [f"--program={Path(wasm).resolve()}"]
    # Frames the proxy's replies ahead of the timed sessions.
    with Stub(tools, wasm) as stub:
        run_lldb(tools, [connect_cmd(InstantImageProxy(stub, image)), *steps, "process kill"], cwd, expect)
    for _ in range(runs):
        with Stub(tools, wasm) as stub:
            elapsed, _ = run_lldb(tools, [connect_cmd(stub), *steps, "process kill"], cwd, expect)
        remote.append(elapsed)
        with Stub(tools, wasm) as stub:
            proxy = InstantImageProxy(stub, image)
            instant.append(run_lldb(tools, [connect_cmd(proxy), *steps, "process kill"], cwd, expect)[0])
        with Stub(tools, wasm, stub_args=program_arg) as stub:
            program.append(run_lldb(tools, [connect_cmd(stub), *steps, "process kill"], cwd, expect)[0])
        elapsed, _ = run_lldb(tools, [f"target create {wasm}", "b main"], cwd,
                              ["Breakpoint 1: where = ", "large_app::main"])
        local.append(elapsed)
        # LLDB's own start and exit, common to both figures above, for reading their ratio.
        bare.append(run_lldb(tools, ["version"], cwd)[0])
    # Where the time goes, from separate sessions: starting LLDB's Python costs time that the
    # headline figure above must not include.
    phases = {}
    if python:
        names = ["connect", *[s.replace(" ", "_") for s in steps]]
        for _ in range(runs):
            with Stub(tools, wasm) as stub:
                cmds = [stamp("start")]
                for name, cmd in zip(names, [connect_cmd(stub), *steps]):
                    cmds += [cmd, stamp(name)]
                _, out = run_lldb(tools, [*cmds, "process kill"], cwd, expect)
            t = stamps(out)
            prev = t["start"]
            for name in names:
                phases.setdefault(name, []).append(t[name] - prev)
                prev = t[name]
    # Logging writes every packet (32 MB of hex here) and slows LLDB, so this run is not timed.
    packet_log = workdir / "lldb-large-packets.log"
    with Stub(tools, wasm) as stub:
        run_lldb(tools, [f"log enable -T -f {packet_log} gdb-remote packets", connect_cmd(stub),
                         *steps, "process kill"], cwd, expect)
    program_log = workdir / "lldb-large-program-packets.log"
    with Stub(tools, wasm, stub_args=program_arg) as stub:
        run_lldb(tools, [f"log enable -T -f {program_log} gdb-remote packets", connect_cmd(stub),
                         *steps, "process kill"], cwd, expect)
    stray = list(cwd.iterdir())
    if stray:
        raise BenchError(f"LLDB's working directory was not left empty: {stray}")
    packets = analyse_packet_log(packet_log)
    size = Path(wasm).stat().st_size
    if packets["connect_read_bytes"] < 0.9 * size:
        raise BenchError(f"LLDB read only {packets['connect_read_bytes']} bytes of the {size}-byte module "
                         "from the stub: it must have loaded a local copy, so the figure is not the stub's")
    return {"remote": remote, "local": local, "bare": bare, "phases": phases, "packets": packets,
            "instant": instant, "program": program, "program_packets": analyse_packet_log(program_log)}


def bench_read_throughput(tools, wasm, passes):
    log(f"2. raw RSP module image reads ({passes} passes)")
    results = {}
    with Stub(tools, wasm) as stub:
        client, psize = connect_raw(stub)
        memmap = bytearray()
        while True:
            part = client.request(b"qXfer:memory-map:read::%x,%x" % (len(memmap), 0x8000))
            memmap += part[1:]
            if part[:1] != b"m":
                break
        m = re.search(rb'type="rom" start="0x4000000000000000" length="(0x[0-9a-fA-F]+)"', memmap)
        if not m:
            raise BenchError(f"module 0 has no rom region in the memory map: {memmap[:400]!r}")
        length = int(m.group(1), 16)
        # A reply carries two hex digits per byte plus framing; stay within the advertised size.
        chunk = (psize - 16) // 2
        # 0xffdd is the read size LLDB 22 chose in our logs; compare it to the largest allowed.
        image = None
        for label, size, kind in (("advertised", chunk, "m"), ("lldb", 0xFFDD, "m"),
                                  ("binary", LLDB_X_READ, "x")):
            rates = []
            for _ in range(passes):
                image, wire, wire_bytes = read_image(client, CODE_BASE, length, size, kind)
                rates.append(length / wire / 1e6)
                if image != Path(wasm).read_bytes():
                    raise BenchError(f"the module image read with `{kind}` differs from the file on disk")
            results[label] = (size, rates)
            if label == "advertised":
                results["wire_per_byte"] = wire_bytes / length
        client.send("k")
        client.close()
    if image != Path(wasm).read_bytes():
        raise BenchError("the module image read over RSP differs from the file on disk")

    server = LoopbackServer(image)
    client = Rsp(server.host_port)
    client.no_ack()
    for label, size, kind in (("ceiling", chunk, "m"), ("ceiling_x", LLDB_X_READ, "x")):
        rates = []
        for _ in range(passes + 1):
            _, wire, _ = read_image(client, CODE_BASE, length, size, kind)
            rates.append(length / wire / 1e6)
        results[label] = (size, rates[1:])
    client.send("k")
    client.close()
    results["length"] = length
    results["packet_size"] = psize
    return results


def stop_pc(reply):
    m = re.search(rb"(?:^|;)00:([0-9a-fA-F]+);", reply[3:] if reply[:1] == b"T" else b"")
    if not m:
        return None
    return int.from_bytes(bytes.fromhex(m.group(1).decode()), "little")


def bench_raw_cycles(tools, wasm, hits, steps):
    log(f"3/4. raw RSP breakpoint hits ({hits}) and single steps ({steps})")
    entry = CODE_BASE | function_entry(wasm, "bump")
    warmup = 10
    parts = {"vCont;c": [], "qWasmCallStack": [], "qWasmLocal": []}
    cycles, step_times, pings = [], [], []
    # Enough iterations for every hit and step, with room to spare; the run is killed anyway.
    with Stub(tools, wasm, [str((hits + warmup) * 4 + steps + 1000)]) as stub:
        client, _ = connect_raw(stub)
        # The reference: a packet the stub answers with an empty reply, i.e. the cost of one
        # round trip through the socket, the stub's session loop and gdbstub, with no work.
        for i in range(hits + warmup):
            t0 = time.perf_counter()
            reply = client.request("qBenchPing")
            if i >= warmup:
                pings.append((time.perf_counter() - t0) * 1e3)
            if reply:
                raise BenchError(f"expected an empty reply to an unknown packet, got {reply[:40]!r}")
        if client.request(b"Z0,%x,1" % entry) != b"OK":
            raise BenchError(f"Z0 at bump's entry {entry:#x} refused")
        for i in range(hits + warmup):
            t0 = time.perf_counter()
            reply = client.request("vCont;c:p1.-1")
            t1 = time.perf_counter()
            stack = client.request("qWasmCallStack:1")
            t2 = time.perf_counter()
            local = client.request("qWasmLocal:0;0")
            t3 = time.perf_counter()
            if not reply.startswith(b"T") or b"swbreak" not in reply or stop_pc(reply) != entry:
                raise BenchError(f"hit {i}: expected a breakpoint stop at {entry:#x}, got {reply[:80]!r}")
            if len(stack) < 32 or local[:1] == b"E" or not local:
                raise BenchError(f"hit {i}: call stack {stack[:80]!r}, local {local[:40]!r}")
            if i >= warmup:
                cycles.append((t3 - t0) * 1e3)
                for key, dt in zip(parts, (t1 - t0, t2 - t1, t3 - t2)):
                    parts[key].append(dt * 1e3)
        # The last hit's local 0 is the loop counter: proof the breakpoint really hit each call.
        last_i = int.from_bytes(bytes.fromhex(local.decode()), "little")
        if last_i != hits + warmup - 1:
            raise BenchError(f"local 0 at hit {hits + warmup} is {last_i}, expected {hits + warmup - 1}")
        if client.request(b"z0,%x,1" % entry) != b"OK":
            raise BenchError("z0 refused")
        pcs = set()
        for i in range(steps + warmup):
            t0 = time.perf_counter()
            reply = client.request("vCont;s:p1.1")
            t1 = time.perf_counter()
            if not reply.startswith(b"T05"):
                raise BenchError(f"step {i}: expected a trap stop, got {reply[:80]!r}")
            pcs.add(stop_pc(reply))
            if i >= warmup:
                step_times.append((t1 - t0) * 1e3)
        client.send("k")
        client.close()
    return {"cycles": cycles, "parts": parts, "steps": step_times, "pings": pings,
            "distinct_pcs": len(pcs)}


def bench_corpus_steps(tools, lua, steps, nexts, runs, workdir, python):
    """Raw single steps and LLDB `next` in the corpus' largest function (Lua's interpreter loop),
    against native LLDB doing the same `next`s on the same source built for x86-64."""
    functions = function_table(lua["wasm"])
    name, (entry, end) = max(functions.items(), key=lambda kv: kv[1][1] - kv[1][0])
    log(f"6. stepping in the corpus' largest function, {name} ({end - entry} bytes): "
        f"{steps} raw steps, {runs} LLDB runs of {nexts} nexts, natively and on Wasm")
    times, inside = [], 0
    with Stub(tools, lua["wasm"]) as stub:
        client, _ = connect_raw(stub)
        if client.request(b"Z0,%x,1" % (CODE_BASE | entry)) != b"OK":
            raise BenchError(f"Z0 at {name}'s entry refused")
        reply = client.request("vCont;c:p1.-1")
        if b"swbreak" not in reply:
            raise BenchError(f"expected a breakpoint stop in {name}, got {reply[:80]!r}")
        client.request(b"z0,%x,1" % (CODE_BASE | entry))
        for i in range(steps):
            t0 = time.perf_counter()
            reply = client.request("vCont;s:p1.1")
            times.append(time.perf_counter() - t0)
            if not reply.startswith(b"T05"):
                raise BenchError(f"step {i}: expected a trap stop, got {reply[:80]!r}")
            if entry <= stop_pc(reply) - CODE_BASE < end:
                inside += 1
        client.send("k")
        client.close()
    cwd = Path(tempfile.mkdtemp(prefix="lldb-corpus-", dir=workdir))

    # LLDB 23 with fast stepping off: LLDB 22 and 23 both crash on some `next`s here with fast
    # stepping (README, known limits), and without it LLDB 22 stops inside callees on `next`.
    def session(connect):
        cmds = ["settings set target.use-fast-stepping false", *connect, f"breakpoint set --name {name}",
                "continue" if connect[0].startswith("process connect") else "run",
                "breakpoint delete --force"]
        cmds += [stamp("before"), *["next"] * nexts, stamp("after"), "process kill"]
        _, out = run_lldb({**tools, "lldb": tools["lldb23"]}, cmds, cwd, [f"`{name}"])
        if out.count("stop reason = step over") != nexts:
            raise BenchError(f"expected {nexts} `step over` stops:\n{out[-3000:]}")
        t = stamps(out)
        return (t["after"] - t["before"]) / nexts

    wasm_next, native_next = [], []
    if python:
        for _ in range(runs):
            with Stub(tools, lua["wasm"]) as stub:
                wasm_next.append(session([connect_cmd(stub)]))
            native_next.append(session([f"target create {lua['native']}", "settings set target.output-path /dev/null"]))
    return {"name": name, "size": end - entry, "steps": times, "inside": inside,
            "wasm_next": wasm_next, "native_next": native_next, "nexts": nexts}


def bench_watch(tools, wasm, iterations, runs=3):
    """The store-heavy loop run to its end with one write watchpoint set on memory it never
    writes (every store then stops at a breakpoint to be checked), against no watchpoint."""
    log(f"5. watchpoint slowdown: {iterations} iterations of a store loop, {runs} runs each")
    # wasm-ld places data from 1024 on: the bytes below are never touched by a sound program.
    watched = 0x10
    times = {"none": [], "watch": []}
    for _ in range(runs):
        for mode in times:
            with Stub(tools, wasm, [str(iterations)]) as stub:
                client, _ = connect_raw(stub)
                if mode == "watch" and client.request(b"Z2,%x,4" % watched) != b"OK":
                    raise BenchError("Z2 refused")
                t0 = time.perf_counter()
                reply = client.request("vCont;c:p1.-1")
                times[mode].append(time.perf_counter() - t0)
                if not reply.startswith(b"W00"):
                    raise BenchError(f"expected the program to finish, got {reply[:80]!r}")
                client.close()
    return times


def bench_lldb_next(tools, wasm, runs, workdir, python):
    log(f"4. LLDB `next` x19 over straight20() ({runs} runs each, with and without)")
    first = line_of_mark(APP_C_SRC, "straight20_first")
    last = line_of_mark(APP_C_SRC, "straight20_last")
    nexts = last - first
    cwd = Path(tempfile.mkdtemp(prefix="lldb-next-", dir=workdir))

    def batch(stub, stepping, extra=()):
        # Both batches carry the same timestamps so that subtracting them leaves only the nexts;
        # the timestamps also time the nexts from inside LLDB, without its start-up noise.
        cmds = [*extra, connect_cmd(stub), f"breakpoint set --file app.c --line {first}", "continue"]
        cmds += [stamp("before")] if python else []
        cmds += ["next"] * nexts if stepping else []
        cmds += [stamp("after")] if python else []
        expect = [f"app.c:{first}", "exited with status"] + ([f"app.c:{last}"] if stepping else [])
        elapsed, out = run_lldb(tools, [*cmds, "process kill"], cwd, expect)
        if stepping and out.count("stop reason = step over") != nexts:
            raise BenchError(f"expected {nexts} `step over` stops:\n{out[-3000:]}")
        t = stamps(out)
        return elapsed, (t["after"] - t["before"]) if python else None

    with_next, without, inside = [], [], []
    for _ in range(runs):
        # Alternate so that load from other users of the machine hits both alike.
        with Stub(tools, wasm) as stub:
            elapsed, span = batch(stub, True)
        with_next.append(elapsed)
        if span is not None:
            inside.append(span / nexts)
        with Stub(tools, wasm) as stub:
            without.append(batch(stub, False)[0])

    # Packets per `next`: the difference between the two batches' packet logs.
    counts = {}
    for stepping in (True, False):
        packet_log = workdir / f"lldb-next-{stepping}.log"
        with Stub(tools, wasm) as stub:
            batch(stub, stepping, [f"log enable -f {packet_log} gdb-remote packets"])
        counts[stepping] = analyse_packet_log(packet_log)
    per_next = {
        "packets": (counts[True]["total"] - counts[False]["total"]) / nexts,
        "reads": (counts[True]["reads_total"] - counts[False]["reads_total"]) / nexts,
        "kinds": kinds_per(counts[True]["after_resume"], counts[False]["after_resume"], nexts),
    }
    return {"with": with_next, "without": without, "inside": inside, "nexts": nexts,
            "per_next": per_next}


def packet_kind(payload):
    m = re.match(r"[A-Za-z?]+", payload)
    kind = m.group(0) if m else payload[:1]
    # `m<addr>` would otherwise take the address's leading hex letters as part of the name.
    return kind[0] if kind[0] in "mxMXZzpP" else kind


def kinds_per(with_packets, without_packets, n):
    count = {}
    for p in with_packets:
        count[packet_kind(p)] = count.get(packet_kind(p), 0) + 1
    for p in without_packets:
        count[packet_kind(p)] = count.get(packet_kind(p), 0) - 1
    return sorted(((k, v / n) for k, v in count.items() if v), key=lambda kv: -kv[1])


# ----------------------------------------------------------------------------- report


def versions(tools):
    def first_line(cmd):
        try:
            return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True, timeout=30).stdout.splitlines()[0].strip()
        except Exception:  # noqa: BLE001 - a version string is decoration, never a failure
            return "?"
    return first_line([tools["lldb"], "--version"]), first_line([tools["wasmtime"], "--version"])


def table(rows, header):
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = lambda r: "  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip()
    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="LLDB sessions on the large module (default 5)")
    parser.add_argument("--next-runs", type=int, default=10,
                        help="LLDB `next` batches, each with and without the nexts (default 10)")
    parser.add_argument("--passes", type=int, default=5, help="module image reads per figure (default 5)")
    parser.add_argument("--hits", type=int, default=1000, help="breakpoint hits (default 1000)")
    parser.add_argument("--steps", type=int, default=1000, help="single steps (default 1000)")
    parser.add_argument("--watch-iterations", type=int, default=2000,
                        help="loop iterations for the watchpoint slowdown (default 2000)")
    parser.add_argument("--corpus-steps", type=int, default=5000,
                        help="raw single steps in the corpus' largest function (default 5000)")
    parser.add_argument("--corpus-nexts", type=int, default=30,
                        help="LLDB nexts per session there, natively and on Wasm (default 30)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (LLDB packet logs)")
    args = parser.parse_args()
    if min(args.runs, args.next_runs, args.passes, args.hits, args.steps) < 1:
        parser.error("counts must be at least 1")

    started = time.perf_counter()
    tools = {"lldb": tool("lldb-22", "LLDB"), "lldb23": tool(".venv-lldb23/bin/lldb"), "clang": tool("clang-22", "CLANG"),
             "wasmtime": tool("wasmtime", "WASMTIME")}
    tool("cargo")
    wasm = build(tools)
    lua = build_corpus()
    workdir = Path(tempfile.mkdtemp(prefix="wasm-gdbstub-bench-"))
    try:
        python = lldb_has_python(tools, workdir)
        if not python:
            log("LLDB cannot run `script`: phase timings and in-session `next` timings are skipped")
        large = bench_lldb_large(tools, wasm["large"], args.runs, workdir, python)
        reads = bench_read_throughput(tools, wasm["large"], args.passes)
        raw = bench_raw_cycles(tools, wasm["hot_loop"], args.hits, args.steps)
        nxt = bench_lldb_next(tools, wasm["app"], args.next_runs, workdir, python)
        watch = bench_watch(tools, wasm["hot_loop"], args.watch_iterations)
        corpus = bench_corpus_steps(tools, lua, args.corpus_steps, args.corpus_nexts, 3, workdir, python)
        report(args, tools, wasm, large, reads, raw, nxt, time.perf_counter() - started)
        none, watched = median(watch["none"]), median(watch["watch"])
        print(f"\nWatchpoint slowdown ({args.watch_iterations} iterations of a loop that stores on every "
              f"iteration, one write watchpoint on memory it does not write): {fmt_s(watched)} with, "
              f"{fmt_s(none)} without, {watched / none:.0f}x; "
              f"{(watched - none) / args.watch_iterations * 1e3:.3f} ms per checked store")
        step_ms = median(corpus["steps"]) * 1e3
        print(f"\nStepping in the corpus' largest function, Lua's {corpus['name']} ({corpus['size']} bytes): "
              f"{1e3 / step_ms:.0f} raw steps/s (median {step_ms:.3f} ms over {len(corpus['steps'])} steps, "
              f"{corpus['inside']} of them inside it; goal 5,000/s)")
        if corpus["wasm_next"]:
            wn, nn = median(corpus["wasm_next"]), median(corpus["native_next"])
            print(f"LLDB 23 `next` there: {wn * 1e3:.1f} ms per next on Wasm, {nn * 1e3:.1f} ms natively "
                  f"(same source, x86-64), {wn / nn:.1f}x; {corpus['nexts']} nexts, median of "
                  f"{len(corpus['wasm_next'])} sessions each")
        if args.keep:
            print(f"\nwork directory kept: {workdir}")
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


def reproduce_command(args):
    defaults = {"runs": 5, "next_runs": 10, "passes": 5, "hits": 1000, "steps": 1000}
    return "scripts/bench.sh" + "".join(
        f" --{k.replace('_', '-')} {getattr(args, k)}" for k, d in defaults.items() if getattr(args, k) != d)


def report(args, tools, wasm, large, reads, raw, nxt, total_s):
    lldb_v, wasmtime_v = versions(tools)
    reproduce = reproduce_command(args)
    size_mb = wasm["large"].stat().st_size / 1e6
    pk = large["packets"]
    ppk = large["program_packets"]
    remote, local, bare = median(large["remote"]), median(large["local"]), median(large["bare"])
    adv_chunk, adv_rates = reads["advertised"]
    lldb_chunk, lldb_rates = reads["lldb"]
    _, ceil_rates = reads["ceiling"]
    adv, ceil, lldb_rate = median(adv_rates), median(ceil_rates), median(lldb_rates)
    x_rate, x_ceil = median(reads["binary"][1]), median(reads["ceiling_x"][1])
    hit, step, ping = median(raw["cycles"]), median(raw["steps"]), median(raw["pings"])
    w, wo = median(nxt["with"]), median(nxt["without"])
    # Pairs ran back to back, so the median of their differences resists drifting load better
    # than the difference of the medians.
    per_next = median([a - b for a, b in zip(nxt["with"], nxt["without"])]) / nxt["nexts"]
    inside = median(nxt["inside"]) if nxt["inside"] else None
    pn = nxt["per_next"]

    print()
    print(f"wasm-gdbstub benchmark; reproduce with: {reproduce}")
    print(f"{lldb_v}; {wasmtime_v}; {os.cpu_count()} CPUs; 1-min load average at the end "
          f"{os.getloadavg()[0]:.2f} (the machine may be shared); took {total_s:.0f} s")
    print(f"Medians. LLDB large-module figures over {args.runs} sessions each, `next` over "
          f"{args.next_runs} batch pairs, reads over {args.passes} passes.\n")
    phases = large["phases"]
    phase_note = ", ".join(f"{k} {median(v):.3f}" for k, v in phases.items())
    rows = [
        ["1. LLDB connect, b main, continue, bt (large module)", fmt_s(remote),
         "target create + b main (local file)", fmt_s(local), f"{remote / local:.1f}x",
         f"{size_mb:.1f} MB module; sessions {', '.join(f'{x:.2f}' for x in large['remote'])} s; "
         f"LLDB start+exit alone {fmt_s(bare)}"],
        ["   same, image reads answered instantly by a proxy", fmt_s(median(large["instant"])),
         "target create + b main (local file)", fmt_s(local), f"{median(large['instant']) / local:.1f}x",
         "LLDB's own cost of reading the image over RSP: no stub can do better through memory reads"],
        ["   same, stub started with --program PATH", fmt_s(median(large["program"])),
         "target create + b main (local file)", fmt_s(local), f"{median(large['program']) / local:.1f}x",
         f"LLDB loads the file itself; {ppk['connect']} packets before the first resume, "
         f"{ppk['connect_read_bytes'] / 1e3:.0f} kB read from the stub"],
        ["   by command, timed inside LLDB", phase_note + " s" if phases else "n/a", "", "", "",
         "separate sessions; `script` timestamps"],
        ["   packets LLDB sent before the first resume", str(pk["connect"]), "", "", "",
         f"{pk['total']} in the whole session; `vCont?` probe and acks not counted as resumes/packets"],
        ["   of which memory reads (m/x)", str(pk["connect_reads"]), "", "", "",
         f"{pk['connect_read_bytes'] / 1e6:.1f} MB requested, largest {pk['max_read']:#x}; "
         f"session: {pk['m_reads']} m + {pk['x_reads']} x"],
        ["2. raw RSP module image read, m sized by PacketSize", f"{adv:.1f} MB/s",
         "same client, loopback server (pre-encoded replies)", f"{ceil:.1f} MB/s", f"{adv / ceil:.2f}x",
         f"PacketSize {reads['packet_size']:#x} -> m of {adv_chunk:#x} bytes; {reads['length'] / 1e6:.1f} MB image; "
         f"{reads['wire_per_byte']:.2f} reply bytes per image byte (RLE)"],
        ["   same, m of LLDB's size", f"{lldb_rate:.1f} MB/s", "m sized by PacketSize", f"{adv:.1f} MB/s",
         f"{lldb_rate / adv:.2f}x", f"m of {lldb_chunk:#x} bytes, as LLDB 22 sends"],
        ["   same, x (binary) of LLDB's size", f"{x_rate:.1f} MB/s", "same client, loopback server (pre-encoded replies)",
         f"{x_ceil:.1f} MB/s", f"{x_rate / x_ceil:.2f}x", f"x of {LLDB_X_READ:#x} bytes, what LLDB 22 reads images with"],
        ["3. breakpoint-hit cycle (raw RSP)", fmt_ms(hit), "empty-reply packet round trip", fmt_ms(ping),
         f"{hit / ping:.1f}x", f"{len(raw['cycles'])} hits; p90 {statistics.quantiles(raw['cycles'], n=10)[-1]:.3f} ms; "
         + ", ".join(f"{k} {median(v):.3f}" for k, v in raw["parts"].items()) + " ms"],
        ["4. vCont;s round trip (raw RSP)", f"{1e3 / step:.0f} steps/s", "empty-reply packet round trip",
         f"{1e3 / ping:.0f} /s", f"{step / ping:.1f}x",
         f"median {step:.3f} ms over {len(raw['steps'])} steps ({raw['distinct_pcs']} distinct PCs)"],
        [f"   LLDB next over straight20(), per next", fmt_ms(per_next * 1e3), "same batch without the nexts",
         fmt_s(wo), "", f"median of pairwise (with - without) / {nxt['nexts']}; medians {fmt_s(w)} vs {fmt_s(wo)}; "
         "within LLDB's start/exit jitter"],
        ["   same, timed inside LLDB", fmt_ms(inside * 1e3) if inside is not None else "n/a", "", "", "",
         f"`script` timestamps around the {nxt['nexts']} nexts; median over {len(nxt['inside'])} batches"],
        ["   packets per next", f"{pn['packets']:.1f}", "", "", "",
         ", ".join(f"{k} {v:.1f}" for k, v in pn["kinds"])],
    ]
    print(table(rows, ["Measurement", "Value", "Reference", "Ref. value", "Ratio", "Notes"]))

    print("\nLLDB packet log, large module:")
    sizes = ", ".join(f"{n} x {s:#x}" for s, n in pk["size_counts"])
    print(f"  memory read sizes before the first resume: {sizes}")
    if pk["failed_reads"]:
        print(f"  failed reads (E.. replies) before the first resume: {', '.join(pk['failed_reads'])}")
    if pk["x_probes"]:
        # Only the capability probe and the first few reads; the replies themselves are data.
        probes = "; ".join(f"{p} -> {(r[:16] + '...' if len(r) > 16 else r) if r else 'empty reply (unsupported)'}"
                           for p, r in pk["x_probes"][:4])
        print(f"  binary read probes: {probes}")
    else:
        print("  binary read probes: none")
    if pk["connect_s"] is not None:
        span = f"{pk['reads_span_s']:.3f} s" if pk["reads_span_s"] is not None else "n/a"
        print(f"  first packet to first resume: {pk['connect_s']:.3f} s (logging on, so slower); "
              f"first to last memory read: {span}")
    after = {}
    for p in pk["after_resume"]:
        after[packet_kind(p)] = after.get(packet_kind(p), 0) + 1
    print("  from the first resume to the end: "
          + ", ".join(f"{k} x{n}" for k, n in sorted(after.items(), key=lambda kv: -kv[1])))

    print("\n## Performance\n")
    print(f"Measured with `{reproduce}` ({lldb_v}, {wasmtime_v}, {os.cpu_count()} CPUs); medians.\n")
    print("| Measurement | wasm-gdbstub | Reference | Ratio |")
    print("|---|---|---|---|")
    print(f"| LLDB `process connect`, `b main`, `continue`, `bt` on a {size_mb:.0f} MB debug module | "
          f"{fmt_s(remote)} | {fmt_s(local)} (`target create` + `b main` on the local file) | {remote / local:.1f}x |")
    print(f"| same, image reads answered instantly by a proxy (LLDB's floor) | {fmt_s(median(large['instant']))} | "
          f"{fmt_s(local)} | {median(large['instant']) / local:.1f}x |")
    print(f"| same, stub started with `--program PATH` (LLDB loads the file) | {fmt_s(median(large['program']))} | "
          f"{fmt_s(local)} | {median(large['program']) / local:.1f}x |")
    print(f"| Packets LLDB sends before the first resume | {pk['connect']} ({pk['connect_reads']} memory reads); "
          f"with `--program`: {ppk['connect']} ({ppk['connect_reads']} reads) | | |")
    print(f"| Module image read over raw RSP, binary `x` of LLDB's size | {x_rate:.0f} MB/s | {x_ceil:.0f} MB/s "
          f"(same client, loopback server) | {x_rate / x_ceil:.2f}x |")
    print(f"| same, hex `m` sized by `PacketSize` | {adv:.0f} MB/s | {ceil:.0f} MB/s (same client, loopback server) | "
          f"{adv / ceil:.2f}x |")
    print(f"| Breakpoint hit + `qWasmCallStack` + `qWasmLocal` | {fmt_ms(hit)} | "
          f"{fmt_ms(ping)} (empty-reply round trip) | {hit / ping:.1f}x |")
    print(f"| Single step (`vCont;s`) | {1e3 / step:.0f} steps/s | {1e3 / ping:.0f} empty-reply round trips/s | "
          f"{step / ping:.1f}x |")
    # 19 nexts take ~20 ms while LLDB's start and exit jitter by about as much, so the batch
    # difference is reported but the timestamps taken inside LLDB lead when there are any.
    if inside is not None:
        value = f"{inside * 1e3:.1f} ms per `next` (timed inside LLDB; batch difference {per_next * 1e3:.1f} ms)"
    else:
        value = f"{per_next * 1e3:.1f} ms per `next` (batch with 19 minus batch without)"
    print(f"| LLDB `next` over a straight-line function | {value} | {pn['packets']:.0f} packets per `next` | |")


if __name__ == "__main__":
    try:
        main()
    except BenchError as e:
        print(f"bench: error: {e}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
