//! The benchmark (`scripts/bench.sh`, i.e. `cargo bench --bench bench`): drives real LLDB
//! sessions and raw RSP clients against the stub under a real Wasmtime, and prints every figure
//! beside a reference measured in the same run, native LLDB on the same program where one exists.
//! Medians over several runs. It is not a test: it fails only when it cannot measure.
//!
//! One file per section; each returns rows of the final table and lines of notes.

#[path = "../../tests/common/mod.rs"]
mod common;

mod attach;
mod measure;
mod native_session;
mod programs;
mod raw_rsp;
mod reads;
mod stepping;

use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;

use measure::{Lldb, Row, progress};

#[derive(Parser, Debug, Clone)]
#[command(about = "wasm-gdbstub's benchmark: figures against references measured in the same run")]
pub struct Args {
    /// LLDB sessions per session figure (medians are taken over them).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Breakpoint stops per session in the native comparison.
    #[arg(long, default_value_t = 150)]
    stops: usize,
    /// Module image reads per throughput figure.
    #[arg(long, default_value_t = 5)]
    passes: usize,
    /// Raw RSP breakpoint hits.
    #[arg(long, default_value_t = 1000)]
    hits: usize,
    /// Raw RSP single steps.
    #[arg(long, default_value_t = 1000)]
    steps: usize,
    /// LLDB `next` batches, each with and without the nexts.
    #[arg(long, default_value_t = 10)]
    next_runs: usize,
    /// Loop iterations for the watchpoint slowdown.
    #[arg(long, default_value_t = 2000)]
    watch_iterations: usize,
    /// Raw single steps in the corpus' largest function.
    #[arg(long, default_value_t = 5000)]
    corpus_steps: usize,
    /// LLDB `next`s per session there, natively and on Wasm.
    #[arg(long, default_value_t = 30)]
    corpus_nexts: usize,
    /// Run only these sections (native, raw, attach, reads, stepping); all by default.
    #[arg(long = "only", value_name = "SECTION")]
    only: Vec<String>,
    /// Keep the work directory (LLDB packet logs) and print its path.
    #[arg(long)]
    keep: bool,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

/// What every section may use.
pub struct Context {
    pub args: Args,
    pub programs: programs::Programs,
    /// Scratch space for LLDB's working directories and packet logs.
    pub work: PathBuf,
    pub lldb22: Lldb,
    pub lldb23: Lldb,
    /// Whether LLDB can run `script` (timestamps inside a session).
    pub python: bool,
}

/// What a section measured.
#[derive(Default)]
pub struct Report {
    pub rows: Vec<Row>,
    pub notes: Vec<String>,
}

type Section = fn(&Context) -> measure::Result<Report>;

const SECTIONS: &[(&str, Section)] = &[
    ("native", native_session::measure),
    ("raw", raw_rsp::measure),
    ("attach", attach::measure),
    ("reads", reads::measure),
    ("stepping", stepping::measure),
];

fn main() {
    let args = Args::parse();
    if [
        args.runs,
        args.stops,
        args.passes,
        args.hits,
        args.steps,
        args.next_runs,
        args.watch_iterations,
    ]
    .contains(&0)
    {
        eprintln!("bench: counts must be at least 1");
        std::process::exit(2);
    }
    for name in &args.only {
        if !SECTIONS.iter().any(|(s, _)| s == name) {
            eprintln!("bench: unknown section {name:?}");
            std::process::exit(2);
        }
    }
    let started = Instant::now();
    // Fails early, with the command that builds it, if the component is missing.
    let component = common::component_path();
    let work = std::env::temp_dir().join(format!("wasm-gdbstub-bench-{}", std::process::id()));
    std::fs::create_dir_all(&work).expect("create the benchmark's work directory");
    let lldb22 = Lldb {
        path: common::lldb::lldb_path_for(common::lldb::Version::Lldb22),
        env: Vec::new(),
    };
    let lldb23_path = common::lldb::lldb_path_for(common::lldb::Version::Lldb23);
    let lldb23 = Lldb {
        env: vec![(
            "LLDB_DEBUGSERVER_PATH".into(),
            lldb23_path.with_file_name("lldb-server"),
        )],
        path: lldb23_path,
    };
    let python = measure::has_python(&lldb22, &work);
    if !python {
        progress("LLDB cannot run `script`: timings inside sessions fall back to whole sessions");
    }
    let cx = Context {
        programs: programs::build(),
        args: args.clone(),
        work: work.clone(),
        lldb22,
        lldb23,
        python,
    };

    let mut rows = Vec::new();
    let mut notes = Vec::new();
    let mut failed = false;
    for (name, section) in SECTIONS {
        if !args.only.is_empty() && !args.only.iter().any(|o| o == name) {
            continue;
        }
        match section(&cx) {
            Ok(report) => {
                rows.extend(report.rows);
                notes.extend(report.notes);
            }
            Err(e) => {
                eprintln!("bench: section `{name}` could not measure: {e}");
                failed = true;
            }
        }
    }

    println!("\n{}", versions(&cx, &component));
    println!("{}", measure::markdown(&rows));
    for note in &notes {
        println!("{note}\n");
    }
    println!("({:.0} s in all)", started.elapsed().as_secs_f64());
    if args.keep {
        println!("work directory kept: {}", work.display());
    } else {
        let _ = std::fs::remove_dir_all(&work);
    }
    if failed {
        std::process::exit(1);
    }
}

fn versions(cx: &Context, component: &std::path::Path) -> String {
    let first_line = |program: &std::path::Path| {
        std::process::Command::new(program)
            .arg("--version")
            .output()
            .ok()
            .and_then(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .lines()
                    .next()
                    .map(str::to_string)
            })
            .unwrap_or_else(|| "?".into())
    };
    format!(
        "{}; {}; component {}; {} cores",
        first_line(&cx.lldb22.path),
        first_line(&common::wasmtime_path()),
        component.display(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    )
}
