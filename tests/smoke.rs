mod support;
use support::*;

#[test]
fn smoke_server() {
    let ev = server_events(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(ev.len(), 3, "{ev:?}");
}
