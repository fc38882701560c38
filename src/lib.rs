//! pollhttp: HTTP/1.1 connections for your own event loop.
//!
//! The crate is built in layers; this release has the bottom one, [`proto`], the sans-IO
//! HTTP/1.1 core for both roles: bytes in, events out, strict framing, pipelining,
//! `Expect: 100-continue`, keep-alive and close rules, and limits.

pub mod proto;
