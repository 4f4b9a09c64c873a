// The benchmark's large debuggee: does a little real work with regex and
// serde_json so their code (and DWARF) is linked in rather than stripped.
// `main` is where the LLDB benchmark stops; it must stay a plain Rust main.
use regex::Regex;
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
struct Record {
    name: String,
    tags: Vec<String>,
    score: f64,
}

fn parse_records(text: &str) -> Vec<Record> {
    serde_json::from_str(text).unwrap_or_default()
}

fn matching<'a>(records: &'a [Record], pattern: &Regex) -> Vec<&'a Record> {
    records.iter().filter(|r| pattern.is_match(&r.name)).collect()
}

fn main() {
    let input = r#"[
        {"name": "alpha-1", "tags": ["x"], "score": 1.5},
        {"name": "beta-22", "tags": ["y", "z"], "score": 2.0},
        {"name": "gamma", "tags": [], "score": 0.25}
    ]"#;
    let records = parse_records(input);
    // A non-trivial pattern pulls in the full regex engine, not a literal fast path.
    let pattern = Regex::new(r"^[a-z]+-(\d+)$").expect("valid pattern"); // MARK: records_parsed
    let hits = matching(&records, &pattern);
    let out = serde_json::to_string_pretty(&hits).expect("serialisable");
    println!("{out}");
}
