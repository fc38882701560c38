//! The server role: any bytes, in pieces and whole, answered like h1dump answers.
#![no_main]

mod common;
#[path = "../../tests/support/mod.rs"]
mod support;

use libfuzzer_sys::fuzz_target;
use pollhttp::proto::{Limits, ServerConn};

fuzz_target!(|data: &[u8]| {
    let input = common::Input::new(data);
    let limits = input.limits(Limits::server());
    common::check(&input, || {
        support::ServerDriver::new(ServerConn::with_limits(limits))
    });
});
