//! What the targets share: reading the fuzz input's first bytes, and the checks.
//!
//! Input layout: byte 0 is a control byte; its low nibble says how many piece-size bytes
//! follow (a size byte `b` is a piece of `b + 1` bytes, the sizes repeating until the input
//! is used up; none: one piece), bit 4 selects small limits that short inputs can exceed,
//! bits 5-6 pick the client's method. The rest is what the peer sent.
#![allow(dead_code)] // each target uses part of it

use http::Method;
use pollhttp::proto::Limits;

use crate::support::{ClientDriver, Ev, ServerDriver};

pub struct Input<'a> {
    pub control: u8,
    pub sizes: Vec<usize>,
    pub bytes: &'a [u8],
}

impl<'a> Input<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        let (control, rest) = data.split_first().map_or((0, data), |(&c, r)| (c, r));
        let n = usize::from(control & 0x0f).min(rest.len());
        let (sizes, bytes) = rest.split_at(n);
        let sizes = sizes.iter().map(|&b| usize::from(b) + 1).collect();
        Self {
            control,
            sizes,
            bytes,
        }
    }

    /// `default`, or small limits when bit 4 is set.
    pub fn limits(&self, default: Limits) -> Limits {
        if self.control & 0x10 == 0 {
            return default;
        }
        default
            .max_head(256)
            .max_headers(4)
            .max_chunk_line(32)
            .max_chunk_extensions(64)
            .max_body(Some(300))
    }

    /// GET, HEAD, POST or CONNECT, from bits 5-6.
    pub fn method(&self) -> Method {
        [Method::GET, Method::HEAD, Method::POST, Method::CONNECT]
            [usize::from(self.control >> 5 & 3)]
        .clone()
    }

    /// The bytes in pieces of the chosen sizes.
    pub fn pieces(&self) -> Vec<&'a [u8]> {
        if self.sizes.is_empty() {
            return vec![self.bytes];
        }
        let mut pieces = Vec::new();
        let mut at = 0;
        for &size in self.sizes.iter().cycle() {
            if at == self.bytes.len() {
                break;
            }
            let end = (at + size).min(self.bytes.len());
            pieces.push(&self.bytes[at..end]);
            at = end;
        }
        pieces
    }
}

/// A connection driven like h1dump drives it (see `tests/support`).
pub trait Driver {
    /// Feeds a piece; false once processing stopped.
    fn feed(&mut self, piece: &[u8]) -> bool;
    fn buffered(&self) -> usize;
    fn max_head(&self) -> usize;
    fn finish(self) -> Vec<Ev>;
}

impl Driver for ServerDriver {
    fn feed(&mut self, piece: &[u8]) -> bool {
        ServerDriver::feed(self, piece)
    }
    fn buffered(&self) -> usize {
        self.conn.buffered()
    }
    fn max_head(&self) -> usize {
        self.conn.limits().max_head_bytes()
    }
    fn finish(self) -> Vec<Ev> {
        ServerDriver::finish(self)
    }
}

impl Driver for ClientDriver {
    fn feed(&mut self, piece: &[u8]) -> bool {
        ClientDriver::feed(self, piece)
    }
    fn buffered(&self) -> usize {
        self.conn.buffered()
    }
    fn max_head(&self) -> usize {
        self.conn.limits().max_head_bytes()
    }
    fn finish(self) -> Vec<Ev> {
        ClientDriver::finish(self)
    }
}

/// Feeds `pieces` then EOF, checking after each piece that memory stays bounded: what is
/// still buffered while the core waits for more never exceeds the head limit plus the
/// piece just fed.
pub fn run(mut driver: impl Driver, pieces: &[&[u8]]) -> Vec<Ev> {
    for piece in pieces {
        if driver.feed(piece) {
            let (held, max) = (driver.buffered(), driver.max_head());
            assert!(
                held <= max + piece.len(),
                "{held} bytes buffered: more than the head limit {max} plus the last piece {}",
                piece.len()
            );
        }
    }
    driver.finish()
}

/// Runs the input whole and in the chosen pieces and insists on the same events.
pub fn check<D: Driver>(input: &Input<'_>, new: impl Fn() -> D) {
    let whole = run(new(), &[input.bytes]);
    let split = run(new(), &input.pieces());
    assert_eq!(
        whole, split,
        "pieces of sizes {:?} differ from the whole input",
        input.sizes
    );
}
