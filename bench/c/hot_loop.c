// Debuggee for the benchmark's raw RSP figures (benches/bench/raw_rsp.rs: breakpoint-hit
// cycle, single steps): one small function called from a long loop, so a breakpoint
// on it is hit as often as the benchmark wants and steps never leave plain
// guest code for a WASI call. The benchmark kills the run when it is done;
// the iteration count (argv[1]) only has to outlast the hits and steps.
#include <stdio.h>
#include <stdlib.h>

// volatile: every call must really read and write memory, like user code.
volatile int sink;

// The benchmark plants its breakpoint on this function's first instruction
// and reads local 0 (the parameter `i`) at each hit.
__attribute__((noinline)) int bump(int i) {
    sink += i;
    return sink;
}

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    for (long i = 0; i < n; i++) {
        bump((int)i);
    }
    printf("sink=%d\n", sink);
    return 0;
}
