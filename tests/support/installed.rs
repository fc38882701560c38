//! For tests of real peers that `tests/peers/setup.sh` installs: skipping when they are
//! absent, their scripts, scratch paths and free ports.
#![allow(dead_code)]

use std::io::{self, Write};
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// True when the test must skip: `POLLHTTP_PEERS` is not set. Prints a notice straight to
/// stderr (past the test harness's capture) so it shows.
pub(crate) fn skip() -> bool {
    if std::env::var_os("POLLHTTP_PEERS").is_some_and(|v| !v.is_empty() && v != "0") {
        return false;
    }
    let name = thread::current().name().unwrap_or("test").to_owned();
    let _ = writeln!(
        io::stderr(),
        "{name}: skipped: POLLHTTP_PEERS is not set (eval \"$(tests/peers/setup.sh)\" first)"
    );
    true
}

/// A fresh path in the temporary directory, unique to this process and call.
pub(crate) fn unique_path(tag: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    std::env::temp_dir().join(format!(
        "pollhttp-peers-{}-{}-{tag}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ))
}

/// A script of `tests/peers/`.
pub(crate) fn peers_script(name: &str) -> PathBuf {
    Path::new(ROOT).join("tests/peers").join(name)
}

/// A port free a moment ago (bound to 127.0.0.1:0, then released).
pub(crate) fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("binding 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}
