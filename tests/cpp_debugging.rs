//! What a user sees debugging a C++ program on libc++ for Wasm (the corpus program
//! `tests/corpus/cpp/main.cpp`, `-g -O0`) through the component in a real Wasmtime, in LLDB 22 and
//! (with `WASM_GDBSTUB_LLDB=23`) LLDB 23: classes with inheritance, virtual calls, template
//! instances, namespaces in backtraces, and libc++ containers through LLDB's formatters. Every
//! value asserted is what the program holds at that point (worked out from the source; the
//! program's own output confirms the same numbers at the end).

mod common;

use common::corpus;
use common::lldb::{self, Batch, LldbRun, Version};
use common::{Debuggee, Output};
use std::time::Duration;

/// The 1-based line of `main.cpp` holding `text`, which must occur on exactly one line.
fn line(text: &str) -> u32 {
    let source = std::fs::read_to_string(corpus::cpp_src()).expect("read main.cpp");
    let hits: Vec<u32> = source
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains(text))
        .map(|(i, _)| i as u32 + 1)
        .collect();
    assert_eq!(
        hits.len(),
        1,
        "{text:?} should be on one line of main.cpp: {hits:?}"
    );
    hits[0]
}

fn at(text: &str) -> String {
    format!("main.cpp:{}", line(text))
}

/// Runs `commands` in a batch LLDB against the C++ program under the debugger; returns the
/// per-command outputs (index 0 is the connect), the run, and the program's own output.
fn session(commands: &[String]) -> (Vec<String>, LldbRun, Output) {
    let mut debuggee = Debuggee::spawn(&corpus::cpp_wasm(), &[], &[]);
    let refs: Vec<&str> = commands.iter().map(String::as_str).collect();
    let run = Batch::new(debuggee.addr()).commands(&refs).run();
    let program = debuggee.wait_exit(Duration::from_secs(60));
    (lldb::sections(&run.output()), run, program)
}

/// Each needle occurs in command #`index`'s output after the previous one.
#[track_caller]
fn expect(sections: &[String], index: usize, needles: &[&str], run: &LldbRun) {
    let section = sections.get(index).map(String::as_str).unwrap_or("");
    let mut rest = section;
    for needle in needles {
        match rest.find(needle) {
            Some(pos) => rest = &rest[pos + needle.len()..],
            None => panic!(
                "command #{index} should show {needle:?} (in order {needles:?}), got:\n{section}\n\
                 --- whole session ---\n{}",
                run.transcript()
            ),
        }
    }
}

fn cmds(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// The program ran to its end under the debugger and printed what it prints without one.
#[track_caller]
fn assert_program_intact(program: &Output) {
    program.assert_success();
    program.assert_stdout_contains("shapes: 12 area=3064 perimeter=536 first=sq1:square[1]");
    program.assert_stdout_contains("checksum=");
}

/// A breakpoint in a method of a class two levels down a hierarchy: `frame variable *this` and
/// `p *this` show the derived object with its base-class subobjects nested inside, each with its
/// own members, for two different objects.
#[test]
fn method_breakpoint_shows_base_and_derived_members() {
    let commands = cmds(&[
        "breakpoint set --name corpus::shapes::Square::describe", // 1
        "continue",                                               // 2
        "frame variable *this",                                   // 3
        "p *this",                                                // 4
        "bt 3",                                                   // 5
        "continue",                                               // 6
        "frame variable *this",                                   // 7
        "frame variable w_ h_",                                   // 8
        "breakpoint delete --force",                              // 9
        "continue",                                               // 10
    ]);
    let (s, run, program) = session(&commands);
    expect(
        &s,
        1,
        &["where = cpp.wasm`corpus::shapes::Square::describe() const"],
        &run,
    );
    // shapes[0] is Square(1): Rect("square", 1, 1).
    expect(
        &s,
        2,
        &[
            "stop reason = breakpoint 1.1",
            "corpus::shapes::Square::describe(this=0x",
            &at("return \"sq\" + std::to_string(w_)"),
        ],
        &run,
    );
    let square = |side: &str| {
        [
            "corpus::shapes::Rect = {".to_string(),
            "corpus::shapes::Shape = (name_ = \"square\")".to_string(),
            format!("w_ = {side}"),
            format!("h_ = {side}"),
            "}".to_string(),
        ]
    };
    let one = square("1");
    let mut needles = vec!["(const corpus::shapes::Square) *this = {"];
    needles.extend(one.iter().map(String::as_str));
    expect(&s, 3, &needles, &run);
    let mut needles = vec!["corpus::shapes::Square) {"];
    needles.extend(one.iter().map(String::as_str));
    expect(&s, 4, &needles, &run);
    expect(
        &s,
        5,
        &[
            "frame #0:",
            "corpus::shapes::Square::describe(this=0x",
            "frame #1:",
            "shapes_demo(sum=0x",
            &at("labels += shape->describe();"),
            "frame #2:",
            "main at ",
            &at("shapes_demo(sum);"),
        ],
        &run,
    );
    // The next Square is shapes[3], Square(4).
    expect(&s, 6, &["stop reason = breakpoint 1.1"], &run);
    let four = square("4");
    let mut needles = vec!["(const corpus::shapes::Square) *this = {"];
    needles.extend(four.iter().map(String::as_str));
    expect(&s, 7, &needles, &run);
    // Inherited protected members by their plain names, as in the method's own scope.
    expect(&s, 8, &["(long) w_ = 4", "(long) h_ = 4"], &run);
    expect(&s, 10, &["exited with status = 0"], &run);
    assert_program_intact(&program);
}

/// Steps into the calls through `const std::unique_ptr<Shape> &` in `shapes_demo`'s loop: each
/// lands in the override for that object's dynamic type, called from the loop line. LLDB 22 first
/// stops in libc++'s `unique_ptr::operator->` (it does not apply `step-avoid-regexp` `^std::`
/// there: it cannot tell the new frame is younger, its Wasm unwinder giving every frame the same
/// CFA); a user then does `finish` and `step` again, and so does this script. LLDB 23 steps
/// straight into the override, past the prologue, with `this` set.
const STEP_VIRTUAL: &str = r#"
import lldb, sys
addr, describe_line, area_line, lldb23 = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "23"
dbg = lldb.SBDebugger.Create()
dbg.SetAsync(False)
ci = dbg.GetCommandInterpreter()
def run(cmd):
    res = lldb.SBCommandReturnObject()
    ci.HandleCommand(cmd, res)
    out = (res.GetOutput() or "") + (res.GetError() or "")
    print("(lldb) " + cmd + "\n" + out, flush=True)
    return out
def frame(i):
    return dbg.GetSelectedTarget().GetProcess().GetSelectedThread().GetFrameAtIndex(i)
def step_into_call():
    run("step")
    detours = 0
    while (frame(0).GetFunctionName() or "").startswith("std::") and detours < 3:
        detours += 1
        run("finish")
        run("step")
    f0, f1 = frame(0), frame(1)
    print("LANDED %s | CALLER %s:%d | DETOURS %d" % (f0.GetFunctionName(), f1.GetFunctionName(),
          f1.GetLineEntry().GetLine(), detours), flush=True)
    if lldb23:
        run("frame variable *this")
run("process connect --plugin wasm connect://" + addr)
run("breakpoint set --file main.cpp --line %d" % describe_line)
run("continue")           # shapes[0], Square(1)
step_into_call()
run("finish")
run("breakpoint delete --force")
run("breakpoint set --file main.cpp --line %d" % area_line)
run("continue")           # shapes[1], Triangle(6, 8, 10)
step_into_call()
run("finish")
run("continue")           # shapes[2], Rect(3, 5)
step_into_call()
run("breakpoint delete --force")
run("continue")
"#;

#[test]
fn step_into_a_virtual_call_lands_in_the_override() {
    let mut debuggee = Debuggee::spawn(&corpus::cpp_wasm(), &[], &[]);
    let addr = debuggee.addr().to_string();
    let describe_line = line("labels += shape->describe();");
    let area_line = line("total_area += shape->area();");
    let version = match lldb::version() {
        Version::Lldb22 => "22",
        Version::Lldb23 => "23",
    };
    let run = lldb::python(
        STEP_VIRTUAL,
        &[
            &addr,
            &describe_line.to_string(),
            &area_line.to_string(),
            version,
        ],
        lldb::TIMEOUT,
    );
    let program = debuggee.wait_exit(Duration::from_secs(60));
    let landed = |function: &str, caller_line: u32| {
        format!("LANDED {function} | CALLER shapes_demo(corpus::Checksum&):{caller_line}")
    };
    let square = landed("corpus::shapes::Square::describe() const", describe_line);
    let triangle = landed("corpus::shapes::Triangle::area() const", area_line);
    let rect = landed("corpus::shapes::Rect::area() const", area_line);
    run.assert_in_order(&[&square, &triangle, &rect, "exited with status = 0"]);
    if lldb::version() == Version::Lldb23 {
        // Straight into the override, and on its first statement with `this` set: the objects
        // are the ones make_shapes built.
        run.assert_in_order(&[
            &format!("{square} | DETOURS 0"),
            "(const corpus::shapes::Square) *this = {",
            "corpus::shapes::Shape = (name_ = \"square\")",
            "w_ = 1",
            "h_ = 1",
            &format!("{triangle} | DETOURS 0"),
            "(const corpus::shapes::Triangle) *this = {",
            "corpus::shapes::Shape = (name_ = \"tri\")",
            "a_ = 6",
            "b_ = 8",
            "c_ = 10",
            &format!("{rect} | DETOURS 0"),
            "(const corpus::shapes::Rect) *this = {",
            "corpus::shapes::Shape = (name_ = \"rect\")",
            "w_ = 3",
            "h_ = 5",
        ]);
    }
    assert_program_intact(&program);
}

/// A class template's member by its instance's name, and a function template's instance (its
/// second argument is a lambda, which DWARF names `(lambda at ...)` and the symbol table `$_2`,
/// so no spelled-out name matches it: a regex over the instance names does), each with one
/// location; the hits show the instance's arguments and `this`.
#[test]
fn template_instances_break_by_name_with_their_arguments() {
    let commands = cmds(&[
        "breakpoint set --name 'corpus::algo::Ring<long, 8ul>::push'", // 1
        "breakpoint set --func-regex 'fold<'",                         // 2
        "breakpoint list",                                             // 3
        "continue",                                                    // 4
        "frame variable --show-all-children items init",               // 5
        "bt 2",                                                        // 6
        "continue",                                                    // 7
        "frame variable value *this",                                  // 8
        "continue",                                                    // 9
        "continue",                                                    // 10
        "frame variable value *this",                                  // 11
        "breakpoint delete --force",                                   // 12
        "continue",                                                    // 13
    ]);
    let (s, run, program) = session(&commands);
    let fold = "corpus::algo::fold<long, algorithms_demo(corpus::Checksum&)::$_2>";
    expect(
        &s,
        1,
        &[
            "where = cpp.wasm`corpus::algo::Ring<long, 8ul>::push(long const&)",
            &at("data_[head_] = value;"),
        ],
        &run,
    );
    expect(&s, 2, &["where = cpp.wasm`long ", fold], &run);
    expect(
        &s,
        3,
        &[
            "1: name = 'corpus::algo::Ring<long, 8ul>::push', locations = 1",
            "1.1: where = cpp.wasm`corpus::algo::Ring<long, 8ul>::push(long const&)",
            "2: regex = 'fold<', locations = 1",
            "2.1: where = cpp.wasm`long ",
            fold,
        ],
        &run,
    );
    // fold(numbers, 0L, ...) with numbers = 1..=40.
    expect(
        &s,
        4,
        &[
            "stop reason = breakpoint 2.1",
            fold,
            "(items=size=40, init=0, step=",
            &at("for (const T &item : items)"),
        ],
        &run,
    );
    expect(
        &s,
        5,
        &[
            "(const std::vector<long> &) items = 0x",
            "size=40",
            "[0] = 1",
            "[1] = 2",
            "[38] = 39",
            "[39] = 40",
            "}",
            "(long) init = 0",
        ],
        &run,
    );
    expect(
        &s,
        6,
        &[
            "frame #0:",
            fold,
            "frame #1:",
            "algorithms_demo(sum=0x",
            &at("long folded = corpus::algo::fold("),
        ],
        &run,
    );
    // ring.push(collatz_steps(n)) for n = 1, 2, 3: 0, 1 and 7 steps.
    expect(
        &s,
        7,
        &[
            "stop reason = breakpoint 1.1",
            "corpus::algo::Ring<long, 8ul>::push(this=0x",
        ],
        &run,
    );
    expect(
        &s,
        8,
        &[
            "(const long &) value = 0x",
            "value = 0)",
            "(corpus::algo::Ring<long, 8>) *this = {",
            "data_ = ([0] = 0, [1] = 0, [2] = 0, [3] = 0, [4] = 0, [5] = 0, [6] = 0, [7] = 0)",
            "head_ = 0",
            "size_ = 0",
        ],
        &run,
    );
    expect(&s, 10, &["stop reason = breakpoint 1.1"], &run);
    expect(
        &s,
        11,
        &[
            "value = 7)",
            "data_ = ([0] = 0, [1] = 1, [2] = 0,",
            "head_ = 2",
            "size_ = 2",
        ],
        &run,
    );
    expect(&s, 13, &["exited with status = 0"], &run);
    assert_program_intact(&program);
    program.assert_stdout_contains("fold=477699 ring=157/8");
}

/// `bt` names frames by their qualified names (namespace, class, template arguments) through a
/// recursion: fib(18) -> fib(17) -> fib(16), called from `algorithms_demo`.
#[test]
fn backtraces_show_qualified_names() {
    let commands = cmds(&[
        "breakpoint set --name corpus::algo::fib", // 1
        "continue",                                // 2
        "continue",                                // 3
        "continue",                                // 4
        "bt 5",                                    // 5
        "frame select 1",                          // 6
        "frame variable n",                        // 7
        "frame select 2",                          // 8
        "frame variable n",                        // 9
        "breakpoint delete --force",               // 10
        "continue",                                // 11
    ]);
    let (s, run, program) = session(&commands);
    expect(&s, 1, &["where = cpp.wasm`corpus::algo::fib(int)"], &run);
    expect(&s, 2, &["corpus::algo::fib(n=18)"], &run);
    expect(&s, 3, &["corpus::algo::fib(n=17)"], &run);
    let fib = at("long fib(int n)");
    expect(
        &s,
        5,
        &[
            "frame #0:",
            "cpp.wasm`corpus::algo::fib(n=16) at ",
            &fib,
            "frame #1:",
            "cpp.wasm`corpus::algo::fib(n=",
            &fib,
            "frame #2:",
            "cpp.wasm`corpus::algo::fib(n=",
            &fib,
            "frame #3:",
            "cpp.wasm`algorithms_demo(sum=0x",
            &at("corpus::algo::fib(18));"),
            "frame #4:",
            "cpp.wasm`main at ",
            &at("algorithms_demo(sum);"),
        ],
        &run,
    );
    if lldb::version() == Version::Lldb23 {
        // Each activation with its own argument. LLDB 22 shows frame 0's `n = 16` in frames 1
        // and 2 as well: it never asks the stub for those frames' locals (no `qWasmLocal:1;..`
        // or `qWasmLocal:2;..` in its packet log; it does ask for frame 3's), so that is LLDB's.
        expect(
            &s,
            5,
            &["fib(n=16)", "fib(n=17)", "fib(n=18)", "algorithms_demo"],
            &run,
        );
        expect(&s, 7, &["(int) n = 17"], &run);
        expect(&s, 9, &["(int) n = 18"], &run);
    }
    expect(&s, 11, &["exited with status = 0"], &run);
    assert_program_intact(&program);
    program.assert_stdout_contains("fib=2584");
}

/// libc++ containers through LLDB's formatters, at the end of each of the program's workloads:
/// `std::vector` (`size=N` and the elements), `std::string` (long and short, quoted),
/// `std::map` and `std::unordered_map` (key/value pairs), `std::unique_ptr` (the pointee), a
/// map of vectors of strings, and a class template instance's array member.
#[test]
fn libcxx_containers_print_their_contents() {
    let stop = |text: &str| format!("breakpoint set --file main.cpp --line {}", line(text));
    let commands = cmds(&[
        &stop("sum.add(labels);"),                                   // 1
        &stop("std::printf(\"teams: %s\\n\", summary.c_str());"),    // 2
        &stop("sum.add(static_cast<std::uint64_t>(ring.sum()));"),   // 3
        &stop("sum.add(line);"),                                     // 4
        &stop("sum.add(joined);"),                                   // 5
        "continue",                                                  // 6
        "frame variable labels",                                     // 7
        "frame variable shapes",                                     // 8
        "frame variable shapes[0] *shapes[0] *shapes[1] *shapes[2]", // 9
        "continue",                                                  // 10
        "frame variable by_team summary",                            // 11
        "frame variable payroll",                                    // 12
        "continue",                                                  // 13
        "frame variable --show-all-children numbers squares perm",   // 14
        "frame variable ring folded acc",                            // 15
        "continue",                                                  // 16
        "frame variable results line",                               // 17
        "continue",                                                  // 18
        "frame variable text words joined",                          // 19
        "breakpoint delete --force",                                 // 20
        "continue",                                                  // 21
    ]);
    let (s, run, program) = session(&commands);
    expect(&s, 6, &["stop reason = breakpoint 1.1"], &run);
    // make_shapes(12): i % 3 == 1 squares of side i, == 2 triangles (3i, 4i, 5i) with area
    // 12 i^2, == 0 rects i x (i + 2).
    expect(
        &s,
        7,
        &[
            "(std::string) labels = \"sq1:square[1] tri[48] rect[15] sq4:square[16] tri[300] \
           rect[48] sq7:square[49] tri[768] rect[99] sq10:square[100] tri[1452] rect[168] \"",
        ],
        &run,
    );
    let mut shapes = vec![
        "(std::vector<std::unique_ptr<corpus::shapes::Shape> >) shapes = size=12 {".to_string(),
    ];
    for i in 0..12 {
        shapes.push(format!("[{i}] = corpus::shapes::Shape @ 0x"));
        shapes.push("pointer = 0x".to_string());
    }
    let shapes: Vec<&str> = shapes.iter().map(String::as_str).collect();
    expect(&s, 8, &shapes, &run);
    expect(
        &s,
        9,
        &[
            "(std::unique_ptr<corpus::shapes::Shape>) shapes[0] = corpus::shapes::Shape @ 0x",
            "pointer = 0x",
            "(corpus::shapes::Shape) *shapes[0] = (name_ = \"square\")",
            "(corpus::shapes::Shape) *shapes[1] = (name_ = \"tri\")",
            "(corpus::shapes::Shape) *shapes[2] = (name_ = \"rect\")",
        ],
        &run,
    );
    // The unique_ptr's summary and its `pointer` child name the same object.
    let section = &s[9];
    let after = |marker: &str| {
        section
            .split(marker)
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .map(str::to_string)
    };
    let (summary, pointer) = (after("Shape @ "), after("pointer = "));
    assert!(
        summary.is_some() && summary == pointer,
        "shapes[0]'s summary and pointer differ: {summary:?} {pointer:?}\n{}",
        run.transcript()
    );

    // staff() sorted by team, salary descending: salaries are 1000 + (i * 379) % 800.
    expect(&s, 10, &["stop reason = breakpoint 2.1"], &run);
    let team = |name: &str, members: &[&str]| {
        let mut v = vec![
            "first = \"".to_string() + name + "\"",
            format!("second = size={} {{", members.len()),
        ];
        for (i, m) in members.iter().enumerate() {
            v.push(format!("[{i}] = \"{m}\""));
        }
        v
    };
    let mut by_team = vec!["by_team = size=3 {".to_string(), "[0] = {".to_string()];
    by_team.extend(team("core", &["gus", "max", "dee", "jo", "pam", "ada"]));
    by_team.push("[1] = {".to_string());
    by_team.extend(team("ops", &["cy", "ivy", "oz", "fay", "lou"]));
    by_team.push("[2] = {".to_string());
    by_team.extend(team("web", &["eve", "kit", "bob", "hal", "ned"]));
    by_team.push(
        "(std::string) summary = \"core=7855/6(gus) ops=7360/5(cy) web=7065/5(eve) \"".to_string(),
    );
    let by_team: Vec<&str> = by_team.iter().map(String::as_str).collect();
    expect(&s, 11, &by_team, &run);
    // An unordered_map's order is its hash's: check each pair, not their order.
    expect(&s, 12, &["payroll = size=3 {"], &run);
    for pair in [
        "(first = \"core\", second = 7855)",
        "(first = \"ops\", second = 7360)",
        "(first = \"web\", second = 7065)",
    ] {
        expect(&s, 12, &[pair], &run);
    }

    expect(&s, 13, &["stop reason = breakpoint 3.1"], &run);
    let mut numbers = vec!["(std::vector<long>) numbers = size=40 {".to_string()];
    numbers.extend((0..40).map(|i| format!("[{i}] = {}", i + 1)));
    // The odd squares of 1..=40, largest first.
    numbers.push("(std::vector<long>) squares = size=20 {".to_string());
    numbers.extend((0..20).map(|i| format!("[{i}] = {}", (39 - 2 * i) * (39 - 2 * i))));
    // next_permutation ran through all 24 and wrapped back to the first.
    numbers.push("(std::vector<int>) perm = size=4 {".to_string());
    numbers.extend((0..4).map(|i| format!("[{i}] = {}", i + 1)));
    let numbers: Vec<&str> = numbers.iter().map(String::as_str).collect();
    expect(&s, 14, &numbers, &run);
    // The ring keeps collatz_steps(n) of the last 8 n, 33..=40, at index (n - 1) % 8.
    expect(
        &s,
        15,
        &[
            "(corpus::algo::Ring<long, 8>) ring = {",
            "data_ = ([0] = 26, [1] = 13, [2] = 13, [3] = 21, [4] = 21, [5] = 21, [6] = 34, [7] = 8)",
            "head_ = 0",
            "size_ = 8",
            "(long) folded = 477699",
            "(long) acc = 10660",
        ],
        &run,
    );

    // Sums over x = 1..=25 of 2x, x + 7, x^2 and collatz_steps(x), keyed by name.
    expect(&s, 16, &["stop reason = breakpoint 4.1"], &run);
    expect(
        &s,
        17,
        &[
            "(std::map<std::basic_string<char>, long>) results = size=4 {",
            "[0] = (first = \"collatz\", second = 266)",
            "[1] = (first = \"double\", second = 650)",
            "[2] = (first = \"offset\", second = 500)",
            "[3] = (first = \"square\", second = 5525)",
            "(std::string) line = \"collatz=266 double=650 offset=500 square=5525 compose=324\"",
        ],
        &run,
    );

    // A long (heap) string, short (inline) ones sorted by length then text, and their join.
    expect(&s, 18, &["stop reason = breakpoint 5.1"], &run);
    let mut words = vec![
        "(std::string) text = \"the quick brown fox jumps over the lazy dog\"".to_string(),
        "words = size=9 {".to_string(),
    ];
    let sorted = [
        "dog", "fox", "the", "the", "lazy", "over", "brown", "jumps", "quick",
    ];
    words.extend(
        sorted
            .iter()
            .enumerate()
            .map(|(i, w)| format!("[{i}] = \"{w}\"")),
    );
    words.push(
        "(std::string) joined = \"dog,fox,the,the,lazy,over,brown,jumps,quick,\"".to_string(),
    );
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    expect(&s, 19, &words, &run);
    expect(&s, 21, &["exited with status = 0"], &run);

    // The program's own output agrees.
    assert_program_intact(&program);
    program.assert_stdout_contains("teams: core=7855/6(gus) ops=7360/5(cy) web=7065/5(eve)");
    program.assert_stdout_contains("algorithms: odd-squares=20 sum=10660 fold=477699 ring=157/8");
    program.assert_stdout_contains(
        "functions: collatz=266 double=650 offset=500 square=5525 compose=324",
    );
    program.assert_stdout_contains("strings: dog,fox,the,the,lazy,over,brown,jumps,quick,");
}
