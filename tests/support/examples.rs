//! The example binaries, for the tests that run them: built up to date first, once per test
//! process, with the cargo running the tests, in the test binary's profile and target
//! directory (`target/<profile>/deps/<test>` → `target/<profile>/examples/`).
//!
//! Plain `cargo test` has built them already (the build is then a no-op); `cargo test
//! --test <name>` has not, and a binary left from an earlier build may be stale.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// The examples the tests run.
const EXAMPLES: [&str; 5] = ["crawl", "get", "h1dump", "select_loop", "serve"];

/// The path of an example binary, built up to date.
pub(crate) fn example(name: &str) -> PathBuf {
    static DIR: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let dir = DIR
        .get_or_init(build_examples)
        .as_ref()
        .unwrap_or_else(|e| panic!("{e}"));
    dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
}

fn build_examples() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or_else(|| format!("{}: not in target/<profile>/deps", exe.display()))?;
    let profile = profile_dir
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| format!("{}: no profile folder", exe.display()))?;
    let mut target_dir = profile_dir
        .parent()
        .ok_or_else(|| format!("{}: no target folder", exe.display()))?;
    // With --target, the layout is target/<triple>/<profile>.
    let mut triple = None;
    if !target_dir.join("CACHEDIR.TAG").exists() {
        if let Some(up) = target_dir.parent() {
            if up.join("CACHEDIR.TAG").exists() {
                triple = target_dir.file_name().and_then(|n| n.to_str());
                target_dir = up;
            }
        }
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    // The variables cargo sets for this test (CARGO_PKG_NAME...) are not the inner build's:
    // build scripts that watch them (ring's) would make the two builds undo each other.
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if [
            "CARGO_PKG_",
            "CARGO_MANIFEST_",
            "CARGO_CRATE_",
            "CARGO_BIN_",
            "CARGO_PRIMARY_",
        ]
        .iter()
        .any(|prefix| key.starts_with(prefix))
            || key == "CARGO_TARGET_TMPDIR"
        {
            cmd.env_remove(&*key);
        }
    }
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("CARGO_TARGET_DIR", target_dir)
        .args(["build", "--quiet"]);
    for name in EXAMPLES {
        cmd.args(["--example", name]);
    }
    // The same features as this test, or dependencies would be rebuilt for each build in
    // turn (rcgen changes the features of ring).
    if cfg!(feature = "testing") {
        cmd.args(["--features", "testing"]);
    }
    if profile != "debug" {
        cmd.args(["--profile", profile]);
    }
    if let Some(triple) = triple {
        cmd.args(["--target", triple]);
    }
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("running cargo to build the examples: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "building the examples failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(profile_dir.join("examples"))
}
