//! The client role: any bytes as responses to pipelined requests (one sent whenever none
//! is outstanding), in pieces and whole.
#![no_main]

mod common;
#[path = "../../tests/support/mod.rs"]
mod support;

use libfuzzer_sys::fuzz_target;
use pollhttp::proto::{ClientConn, Limits};

fuzz_target!(|data: &[u8]| {
    let input = common::Input::new(data);
    let (limits, method) = (input.limits(Limits::client()), input.method());
    common::check(&input, || {
        support::ClientDriver::new(ClientConn::with_limits(limits), method.clone())
    });
});
