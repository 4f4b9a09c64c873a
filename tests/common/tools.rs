//! Every external command the tests start is resolved here, through `scripts/tools.txt`, the
//! project's one list of tools (which `scripts/setup.sh` installs). A command that is not in the
//! list is a harness bug; a listed command that is missing fails the test with the tool's name,
//! where it comes from and the setup command, rather than a bare `NotFound`.

use std::path::PathBuf;
use std::sync::OnceLock;

use super::manifest_dir;

/// One row of `scripts/tools.txt`.
#[derive(Debug, Clone)]
pub struct ListedTool {
    pub name: String,
    pub source: String,
    pub package: String,
}

/// The rows of `scripts/tools.txt`.
pub fn listed() -> &'static [ListedTool] {
    static LIST: OnceLock<Vec<ListedTool>> = OnceLock::new();
    LIST.get_or_init(|| {
        let path = manifest_dir().join("scripts/tools.txt");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        text.lines()
            .filter_map(|line| {
                let line = line.split('#').next().unwrap_or("");
                let words: Vec<&str> = line.split_whitespace().collect();
                let [name @ .., source, package] = &words[..] else {
                    return None;
                };
                (!name.is_empty()).then(|| ListedTool {
                    name: name.join(" "),
                    source: source.to_string(),
                    package: package.to_string(),
                })
            })
            .collect()
    })
}

/// The path of the listed command `name`: `$env_override` when that is set, else the first
/// `name` on PATH, else in `~/.cargo/bin` (where setup's `cargo install`s land).
pub fn tool_or_env(name: &str, env_override: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(env_override).filter(|p| !p.is_empty()) {
        return PathBuf::from(path);
    }
    tool(name)
}

/// The path of the listed command `name` (see [`tool_or_env`]).
pub fn tool(name: &str) -> PathBuf {
    let entry = listed().iter().find(|t| t.name == name).unwrap_or_else(|| {
        panic!("the tests run `{name}`, which scripts/tools.txt does not list: add it there")
    });
    let found = if name.contains('/') {
        // Installed inside the project (setup's virtualenv): named by its path from the root.
        Some(manifest_dir().join(name)).filter(|p| p.is_file())
    } else {
        find_on_path(name)
    };
    found.unwrap_or_else(|| {
        let origin = match entry.source.as_str() {
            "apt" => format!("Debian package {}", entry.package),
            "cargo" => format!("`cargo install --locked {}`", entry.package),
            "rustup" => "rustup (rust-toolchain.toml)".to_string(),
            "venv" => format!(
                "`pip install {}` into the project's virtualenv",
                entry.package
            ),
            other => format!("{other} {}", entry.package),
        };
        panic!(
            "`{name}` is not installed (it comes from {origin}): run scripts/setup.sh, \
             which installs every tool in scripts/tools.txt"
        )
    })
}

/// `name` on PATH, else in `~/.cargo/bin`.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect())
        .unwrap_or_default();
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(PathBuf::from(home).join(".cargo/bin"));
    }
    dirs.into_iter()
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}
