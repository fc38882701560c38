//! Running programs (the example binaries, curl, Python...) to their end for the tests that
//! drive them, with a time limit, capturing what they print.
// Each test crate including this uses part of it.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// How long a program may run before it is killed and the test fails.
pub(crate) const PROGRAM_LIMIT: Duration = Duration::from_secs(60);

/// What a finished program printed.
pub(crate) struct Run {
    pub(crate) status: ExitStatus,
    pub(crate) stdout: Vec<u8>,
    pub(crate) stderr: String,
    pub(crate) elapsed: Duration,
}

impl Run {
    pub(crate) fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    pub(crate) fn last_line(&self) -> String {
        self.stdout_text().lines().last().unwrap_or("").to_owned()
    }

    #[track_caller]
    pub(crate) fn assert_success(&self, what: &str) {
        assert!(
            self.status.success(),
            "{what}: exit {}; stdout: {}; stderr: {}",
            self.status,
            self.stdout_text(),
            self.stderr
        );
    }
}

/// Runs a program to its end, killed (and the test failed) past [`PROGRAM_LIMIT`].
pub(crate) fn run(command: &mut Command, what: &str) -> Run {
    run_with_input(command, None, what)
}

/// [`run`], with `input` on the program's standard input (then closed), or none (null).
pub(crate) fn run_with_input(command: &mut Command, input: Option<&[u8]>, what: &str) -> Run {
    let start = Instant::now();
    let mut child = command
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{what} does not run: {e}"));
    // A program that exits without reading all of it must not fail the test here.
    let writer = input.map(|input| {
        let mut stdin = child.stdin.take().expect("stdin");
        let input = input.to_vec();
        thread::spawn(move || {
            let _ = stdin.write_all(&input);
        })
    });
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let out_reader = thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let err_reader = thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for a program") {
            break status;
        }
        if start.elapsed() > PROGRAM_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} ran longer than {PROGRAM_LIMIT:?}");
        }
        thread::sleep(Duration::from_millis(5));
    };
    if let Some(writer) = writer {
        let _ = writer.join();
    }
    Run {
        status,
        stdout: out_reader.join().expect("stdout reader"),
        stderr: String::from_utf8_lossy(&err_reader.join().expect("stderr reader")).into_owned(),
        elapsed: start.elapsed(),
    }
}

/// Runs an example binary (built up to date first) with `args`.
pub(crate) fn run_example(name: &str, args: &[&str]) -> Run {
    let bin = crate::examples::example(name);
    run(Command::new(&bin).args(args), &format!("{name} {args:?}"))
}
