//! Chunked bodies: any bytes after a chunked request head (server role) or, with bit 7 of
//! the control byte set, after a chunked response head (client role, GET).
#![no_main]

mod common;
#[path = "../../tests/support/mod.rs"]
mod support;

use http::Method;
use libfuzzer_sys::fuzz_target;
use pollhttp::proto::{ClientConn, Limits, ServerConn};

const REQUEST: &[u8] = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";

fuzz_target!(|data: &[u8]| {
    let parsed = common::Input::new(data);
    let client = parsed.control & 0x80 != 0;
    let bytes = [if client { RESPONSE } else { REQUEST }, parsed.bytes].concat();
    let input = common::Input {
        bytes: &bytes,
        ..parsed
    };
    if client {
        let limits = input.limits(Limits::client());
        common::check(&input, || {
            support::ClientDriver::new(ClientConn::with_limits(limits), Method::GET)
        });
    } else {
        let limits = input.limits(Limits::server());
        common::check(&input, || {
            support::ServerDriver::new(ServerConn::with_limits(limits))
        });
    }
});
