//! The real `backspin` binary as a child process, configured through its flags and
//! environment only (the test's own environment is never changed).

use std::path::PathBuf;
use std::process::Stdio;

use tokio::process::{Child, Command};

use crate::Pipeline;
use crate::fixtures::profile_dir;

/// `target/<profile>/backspin`, next to the test executable's `deps/` folder.
pub fn backspin_binary() -> PathBuf {
    let bin = profile_dir().join(format!("backspin{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.is_file(),
        "the backspin binary is missing at {}: these tests run the real worker process. Build it \
         first with `cargo build -p backspin` (`cargo test --workspace` builds it too)",
        bin.display()
    );
    bin
}

/// A `backspin` command on `pipeline`'s database and data folder, with its queue settings.
/// Inherited `DATABASE_URL` and `BACKSPIN_*` variables are removed so that only the test's
/// configuration applies.
pub fn backspin(pipeline: &Pipeline) -> Command {
    let mut cmd = Command::new(backspin_binary());
    for (key, _) in std::env::vars_os() {
        let k = key.to_string_lossy();
        if k.starts_with("BACKSPIN_") || k == "DATABASE_URL" {
            cmd.env_remove(&key);
        }
    }
    cmd.env("DATABASE_URL", &pipeline.test_db.url)
        .env("BACKSPIN_DATA_DIR", pipeline.data.path())
        .env(
            "BACKSPIN_VISIBILITY_TIMEOUT_SECS",
            pipeline.settings.visibility_timeout.as_secs().to_string(),
        )
        .env("RUST_LOG", "info,sqlx=warn")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    cmd
}

/// Runs `backspin ARGS…` to completion, failing the test on a non-zero exit; returns stdout.
pub async fn run(pipeline: &Pipeline, args: &[&str]) -> String {
    let out = backspin(pipeline)
        .args(args)
        .output()
        .await
        .expect("run backspin");
    assert!(
        out.status.success(),
        "backspin {args:?} exited with {}:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A running `backspin worker`, killed (SIGKILL) when dropped.
#[derive(Debug)]
pub struct WorkerProcess {
    child: Child,
    log: PathBuf,
}

impl WorkerProcess {
    /// Starts `backspin worker` on `pipeline`, logging to `<data>/<name>.log`.
    pub fn start(pipeline: &Pipeline, name: &str) -> WorkerProcess {
        let log = pipeline.data.path().join(format!("{name}.log"));
        let file = std::fs::File::create(&log).expect("worker log file");
        let child = backspin(pipeline)
            .arg("worker")
            .stdout(file.try_clone().expect("log file handle"))
            .stderr(file)
            .spawn()
            .expect("start backspin worker");
        WorkerProcess { child, log }
    }

    /// Kills it with SIGKILL (no chance to finish anything) and reaps it.
    pub async fn kill(&mut self) {
        self.child.kill().await.expect("SIGKILL the worker");
    }

    /// Fails the test if it has exited.
    pub fn assert_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("the worker exited with {status}:\n{}", self.log());
        }
    }

    /// Its log so far, without colour codes.
    pub fn log(&self) -> String {
        strip_ansi(&std::fs::read_to_string(&self.log).unwrap_or_default())
    }
}

/// `s` without ANSI escape sequences (`ESC [ … letter`).
pub fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}
