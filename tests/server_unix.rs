//! The socket file of a server bound to a Unix socket path: replaced when stale, never
//! taken from a live server or from something that is not a socket, removed when the
//! server stops (only if the path still names it), and an empty path refused.
//!
//! Each test works in a folder of its own under the temporary directory; each server
//! answers `GET /` with its own name, so a test can tell which one a path leads to.

#[path = "support/temp_dir.rs"]
mod temp_dir;

use std::fs;
use std::io;
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::time::Duration;

use http::{HeaderMap, StatusCode};
use pollhttp::client::Client;
use pollhttp::io::Address;
use pollhttp::server::{Response, RunningServer, Server};
use temp_dir::TempDir;

/// The longest any single wait in these tests may take before the test fails.
const WAIT: Duration = Duration::from_secs(10);

/// A server at `path` answering `GET /` with `name`.
fn bind(path: &Path, name: &'static str) -> io::Result<Server> {
    Server::bind(Address::Unix(path.to_owned()), move |_, _| {
        Response::text(StatusCode::OK, name)
    })
}

fn start(path: &Path, name: &'static str) -> RunningServer {
    bind(path, name)
        .expect("binding the Unix socket")
        .start()
        .expect("starting the server")
}

/// The name of the server that answers at `path`.
fn answer(path: &Path) -> String {
    let client = Client::new(Address::Unix(path.to_owned())).with_timeout(Some(WAIT));
    let mut conn = client.connect().expect("connecting to the Unix socket");
    let mut response = conn.get("/", HeaderMap::new()).expect("GET /");
    assert_eq!(response.status, StatusCode::OK);
    String::from_utf8(response.body.read_all().unwrap()).unwrap()
}

fn is_socket(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket())
}

/// The bind failed "in use", and its message names the path and says `why`.
fn assert_refused(result: io::Result<Server>, path: &Path, why: &str) {
    let e = result.expect_err("the bind succeeded");
    assert_eq!(e.kind(), io::ErrorKind::AddrInUse, "{e}");
    let message = e.to_string();
    assert!(
        message.contains(&path.display().to_string()) && message.contains(why),
        "{message:?} should name {} and say {why:?}",
        path.display()
    );
}

#[test]
fn stop_removes_the_socket_file_and_the_path_binds_again() {
    let dir = TempDir::new("restart");
    let path = dir.path("s.sock");
    for name in ["first", "second", "third"] {
        let server = start(&path, name);
        assert_eq!(answer(&path), name);
        server.shutdown().expect("shutdown");
        assert!(
            !path.exists(),
            "{} left after {name} stopped",
            path.display()
        );
    }
}

#[test]
fn dropping_the_server_removes_the_socket_file() {
    let dir = TempDir::new("drop");
    let path = dir.path("s.sock");
    // Running, then dropped: dropping stops it.
    let server = start(&path, "running");
    assert_eq!(answer(&path), "running");
    drop(server);
    assert!(!path.exists(), "left after the running server was dropped");
    // Never started.
    let server = bind(&path, "idle").expect("binding again");
    assert!(is_socket(&path));
    drop(server);
    assert!(
        !path.exists(),
        "left after the server never started was dropped"
    );
}

#[test]
fn a_stale_socket_file_is_replaced() {
    let dir = TempDir::new("stale");
    let path = dir.path("s.sock");
    // As a killed server leaves it: std removes no socket file when its listener closes.
    drop(UnixListener::bind(&path).expect("binding with std"));
    assert!(is_socket(&path), "std removed its socket file");
    let server = start(&path, "new");
    assert_eq!(answer(&path), "new");
    server.shutdown().unwrap();
    assert!(!path.exists());
}

#[test]
fn a_live_servers_path_is_not_taken() {
    let dir = TempDir::new("live");
    let path = dir.path("s.sock");
    let first = start(&path, "first");
    assert_refused(bind(&path, "second"), &path, "a server is listening");
    assert_eq!(answer(&path), "first");
    first.shutdown().unwrap();
    assert!(!path.exists());

    // A listener that never accepts is live too: its backlog takes the connect.
    let other = UnixListener::bind(&path).expect("binding with std");
    assert_refused(bind(&path, "second"), &path, "a server is listening");
    assert!(is_socket(&path));
    drop(other);
}

#[test]
fn what_is_not_a_socket_is_left_in_place() {
    let dir = TempDir::new("not-socket");
    let file = dir.path("file");
    fs::write(&file, b"precious").unwrap();
    assert_refused(bind(&file, "server"), &file, "a regular file, not a socket");
    assert_eq!(fs::read(&file).unwrap(), b"precious");

    let folder = dir.path("folder");
    fs::create_dir(&folder).unwrap();
    assert_refused(
        bind(&folder, "server"),
        &folder,
        "a directory, not a socket",
    );
    assert!(folder.is_dir());

    // A link to a stale socket is not followed: the link is what is at the path.
    let stale = dir.path("stale.sock");
    drop(UnixListener::bind(&stale).unwrap());
    let link = dir.path("link");
    std::os::unix::fs::symlink(&stale, &link).unwrap();
    assert_refused(
        bind(&link, "server"),
        &link,
        "a symbolic link, not a socket",
    );
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(is_socket(&stale));
}

#[test]
fn a_successors_socket_is_not_removed() {
    let dir = TempDir::new("successor");
    let path = dir.path("s.sock");

    // A's file moved away, B bound at the path: A's stop leaves B's file.
    let a = start(&path, "a");
    let moved = dir.path("moved.sock");
    fs::rename(&path, &moved).unwrap();
    let b = start(&path, "b");
    a.shutdown().unwrap();
    assert!(is_socket(&path), "A's stop removed B's socket");
    assert_eq!(answer(&path), "b");
    b.shutdown().unwrap();
    assert!(!path.exists());

    // A's file removed by hand, C bound at the path: the same.
    let a = start(&path, "a");
    fs::remove_file(&path).unwrap();
    let c = start(&path, "c");
    drop(a);
    assert!(is_socket(&path), "A's drop removed C's socket");
    assert_eq!(answer(&path), "c");
    c.shutdown().unwrap();
    assert!(!path.exists());
}

#[test]
fn a_listener_handed_in_keeps_its_file() {
    let dir = TempDir::new("handed-in");
    let path = dir.path("s.sock");
    let listener = UnixListener::bind(&path).unwrap();
    let server =
        Server::from_unix_listener(listener, |_, _| Response::text(StatusCode::OK, "handed in"))
            .unwrap()
            .start()
            .unwrap();
    assert_eq!(answer(&path), "handed in");
    server.shutdown().unwrap();
    assert!(is_socket(&path), "the caller's socket file was removed");
}

#[test]
fn an_empty_path_is_refused() {
    let e = bind(Path::new(""), "server").expect_err("an empty path was bound");
    assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{e}");
    assert!(e.to_string().contains("an empty Unix socket path"), "{e}");
    // `Address::unix` takes "" as a path too.
    let e = Server::bind(Address::unix(""), |_, _| Response::text(StatusCode::OK, ""))
        .expect_err("an empty path was bound");
    assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{e}");
}
