//! External tools the tests install and run: a cache directory under the target directory, Python
//! virtual environments, and blocking work off the test's runtime.

use std::{
    fs,
    path::{Path, PathBuf},
    process::{Command, Output},
};

/// The tools cache, shared by test processes and runs.
pub fn tools_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("tools");
    fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
    dir
}

pub fn repo_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh directory inside the tools directory, removed when dropped.
pub fn staging_dir(prefix: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(tools_dir())
        .expect("staging directory")
}

/// Runs `cmd` to its end; panics, with its output, unless it succeeds.
pub fn check(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs blocking work off the test's runtime, which keeps serving the server meanwhile; a panic
/// in it is the test's.
pub async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
}

/// The `python` of the virtual environment `name` of the tools directory, made with `packages`
/// (pinned) unless it exists. `name` must change whenever `packages` do.
pub fn find_or_install_venv(name: &str, packages: &[&str]) -> PathBuf {
    let venv = tools_dir().join(name);
    let python = venv.join("bin").join("python");
    if !python.is_file() {
        let work = staging_dir("python-venv-");
        let staged = work.path().join("venv");
        check(Command::new("python3").args(["-m", "venv"]).arg(&staged));
        check(
            Command::new(staged.join("bin").join("python"))
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                ])
                .arg("--no-input")
                .args(packages),
        );
        // A venv holds no path of its own that this uses (`bin/python` and `pyvenv.cfg` find the
        // base interpreter), so it may move. Renaming onto a complete venv of a concurrent
        // installer fails, and that one is used.
        if let Err(e) = fs::rename(&staged, &venv) {
            assert!(python.is_file(), "move the venv to {}: {e}", venv.display());
        }
    }
    python
}
