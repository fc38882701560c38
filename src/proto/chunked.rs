//! Our own strict chunked decoder (RFC 9112 §7.1).
//!
//! httparse's `parse_chunk_size` accepts any byte in extensions; this one does not:
//! `1*HEXDIG` without overflow, `;name[=value]` extensions with token or quoted-string
//! values and BWS only where the grammar has it, exactly CRLF after the size line and after
//! the data, and trailers parsed as header fields within the head limits.

use super::buffer::RecvBuf;
use super::chars::is_tchar;
use super::error::Error;
use super::framing::{is_qdtext, is_qpair_char};
use super::head::Headers;
use super::limits::Limits;
use super::parse::{parse_trailers, HeadKind, HeadScanner};

/// Most hex digits a chunk size line may have, leading zeros included; without them at
/// most 16 fit a u64 (more is "too large").
const MAX_SIZE_DIGITS: u8 = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Line {
    /// In the size: `digits` so far.
    Size,
    /// BWS after the size or a value; only `;` may follow.
    BwsBeforeSemi,
    /// After `;`: BWS, then an extension name.
    ExtNameStart,
    ExtName,
    /// BWS after a name: `=` or `;` may follow.
    ExtAfterName,
    /// After `=`: BWS, then a token or a quoted-string.
    ExtValueStart,
    ExtToken,
    ExtQuoted,
    ExtQuotedPair,
    ExtAfterQuoted,
    /// Saw the CR ending the line.
    Cr,
}

#[derive(Debug, Clone)]
enum State {
    Line(Line),
    Data(u64),
    DataCr,
    DataLf,
    Trailers(HeadScanner),
    Done,
}

/// What one decoding step produced.
pub(crate) enum Step {
    /// The next this many buffered bytes are chunk data: the caller takes them.
    Data(usize),
    End(Headers),
    NeedData,
}

#[derive(Debug, Clone)]
pub(crate) struct ChunkedDecoder {
    state: State,
    size: u64,
    digits: u8,
    line_len: usize,
    ext_total: usize,
    /// Sum of the chunk sizes announced so far (for the body limit).
    announced: u64,
    /// Data bytes delivered so far.
    received: u64,
}

impl ChunkedDecoder {
    pub(crate) fn new() -> Self {
        Self {
            state: State::Line(Line::Size),
            size: 0,
            digits: 0,
            line_len: 0,
            ext_total: 0,
            announced: 0,
            received: 0,
        }
    }

    /// Bytes of chunk data certain to come next on the wire (0 unless inside a chunk).
    pub(crate) fn data_ahead(&self) -> u64 {
        match self.state {
            State::Data(remaining) => remaining,
            _ => 0,
        }
    }

    /// Counts `n` chunk data bytes received outside the buffer (at most `data_ahead`).
    pub(crate) fn data_received(&mut self, n: u64) {
        if let State::Data(remaining) = &mut self.state {
            let n = n.min(*remaining);
            *remaining -= n;
            self.received += n;
            if *remaining == 0 {
                self.state = State::DataCr;
            }
        }
    }

    /// One step; data steps give at most `max` bytes.
    pub(crate) fn step(
        &mut self,
        buf: &mut RecvBuf,
        limits: &Limits,
        allow_fold: bool,
        max: usize,
    ) -> Result<Step, Error> {
        loop {
            match &mut self.state {
                State::Line(at) => {
                    let at = *at;
                    let pending = buf.pending();
                    let (used, done) = self.line(at, pending, limits)?;
                    buf.consume(used);
                    if !done {
                        return Ok(Step::NeedData);
                    }
                }
                State::Data(remaining) => {
                    if buf.is_empty() {
                        return Ok(Step::NeedData);
                    }
                    let n = (*remaining).min(buf.len().min(max) as u64) as usize;
                    *remaining -= n as u64;
                    self.received += n as u64;
                    if *remaining == 0 {
                        self.state = State::DataCr;
                    }
                    return Ok(Step::Data(n));
                }
                State::DataCr | State::DataLf => {
                    let Some(&b) = buf.pending().first() else {
                        return Ok(Step::NeedData);
                    };
                    let want = if matches!(self.state, State::DataCr) {
                        b'\r'
                    } else {
                        b'\n'
                    };
                    if b != want {
                        return Err(Error::bad("chunk data not followed by CRLF"));
                    }
                    buf.consume(1);
                    self.state = if want == b'\r' {
                        State::DataLf
                    } else {
                        self.start_line();
                        State::Line(Line::Size)
                    };
                }
                State::Trailers(scanner) => {
                    let pending = buf.pending();
                    match scanner.scan(
                        pending,
                        limits.max_head,
                        limits.max_head,
                        HeadKind::Trailers,
                    )? {
                        None => return Ok(Step::NeedData),
                        Some(len) => {
                            let trailers = parse_trailers(&pending[..len], limits, allow_fold)?;
                            buf.consume(len);
                            self.state = State::Done;
                            return Ok(Step::End(trailers));
                        }
                    }
                }
                State::Done => return Ok(Step::End(Headers::default())),
            }
        }
    }

    fn start_line(&mut self) {
        self.size = 0;
        self.digits = 0;
        self.line_len = 0;
    }

    /// Runs the size-line machine from `at` over `input`; returns bytes used and whether
    /// the line (CRLF included) is complete.
    fn line(
        &mut self,
        mut at: Line,
        input: &[u8],
        limits: &Limits,
    ) -> Result<(usize, bool), Error> {
        let bad_ext = || Error::bad("malformed chunk extension");
        let mut used = 0;
        let mut done = false;
        for &b in input {
            used += 1;
            self.line_len += 1;
            if self.line_len > limits.max_chunk_line {
                return Err(Error::bad(format!(
                    "chunk-size line longer than {} bytes",
                    limits.max_chunk_line
                )));
            }
            if !matches!(at, Line::Size | Line::Cr) {
                self.ext_total += 1;
                if self.ext_total > limits.max_chunk_ext_total {
                    return Err(Error::bad(format!(
                        "chunk extensions larger than {} bytes",
                        limits.max_chunk_ext_total
                    )));
                }
            }
            at = match (at, b) {
                (Line::Size, b) if b.is_ascii_hexdigit() => {
                    // Leading zeros are digits too (`0000000000000000005` is 5): only a
                    // seventeenth significant digit overflows.
                    if self.digits == MAX_SIZE_DIGITS || self.size >> 60 != 0 {
                        return Err(Error::bad("chunk size too large"));
                    }
                    self.digits += 1;
                    let digit = (b as char).to_digit(16).unwrap_or(0);
                    self.size = (self.size << 4) | u64::from(digit);
                    Line::Size
                }
                (Line::Size, _) if self.digits == 0 => {
                    return Err(Error::bad("invalid chunk size"));
                }
                (Line::Size, b';') => Line::ExtNameStart,
                (Line::Size, b' ' | b'\t') => Line::BwsBeforeSemi,
                (Line::Size, b'\r') => Line::Cr,
                (Line::Size, _) => return Err(Error::bad("invalid chunk size")),

                (Line::BwsBeforeSemi, b' ' | b'\t') => Line::BwsBeforeSemi,
                (Line::BwsBeforeSemi, b';') => Line::ExtNameStart,
                (Line::BwsBeforeSemi, _) => return Err(bad_ext()),

                (Line::ExtNameStart, b' ' | b'\t') => Line::ExtNameStart,
                (Line::ExtNameStart, b) if is_tchar(b) => Line::ExtName,
                (Line::ExtNameStart, _) => return Err(bad_ext()),

                (Line::ExtName, b) if is_tchar(b) => Line::ExtName,
                (Line::ExtName, b' ' | b'\t') => Line::ExtAfterName,
                (Line::ExtName, b'=') => Line::ExtValueStart,
                (Line::ExtName, b';') => Line::ExtNameStart,
                (Line::ExtName, b'\r') => Line::Cr,
                (Line::ExtName, _) => return Err(bad_ext()),

                (Line::ExtAfterName, b' ' | b'\t') => Line::ExtAfterName,
                (Line::ExtAfterName, b'=') => Line::ExtValueStart,
                (Line::ExtAfterName, b';') => Line::ExtNameStart,
                (Line::ExtAfterName, _) => return Err(bad_ext()),

                (Line::ExtValueStart, b' ' | b'\t') => Line::ExtValueStart,
                (Line::ExtValueStart, b'"') => Line::ExtQuoted,
                (Line::ExtValueStart, b) if is_tchar(b) => Line::ExtToken,
                (Line::ExtValueStart, _) => return Err(bad_ext()),

                (Line::ExtToken, b) if is_tchar(b) => Line::ExtToken,
                (Line::ExtToken, b';') => Line::ExtNameStart,
                (Line::ExtToken, b' ' | b'\t') => Line::BwsBeforeSemi,
                (Line::ExtToken, b'\r') => Line::Cr,
                (Line::ExtToken, _) => return Err(bad_ext()),

                (Line::ExtQuoted, b'"') => Line::ExtAfterQuoted,
                (Line::ExtQuoted, b'\\') => Line::ExtQuotedPair,
                (Line::ExtQuoted, b) if is_qdtext(b) => Line::ExtQuoted,
                (Line::ExtQuoted, _) => return Err(bad_ext()),

                (Line::ExtQuotedPair, b) if is_qpair_char(b) => Line::ExtQuoted,
                (Line::ExtQuotedPair, _) => return Err(bad_ext()),

                (Line::ExtAfterQuoted, b';') => Line::ExtNameStart,
                (Line::ExtAfterQuoted, b' ' | b'\t') => Line::BwsBeforeSemi,
                (Line::ExtAfterQuoted, b'\r') => Line::Cr,
                (Line::ExtAfterQuoted, _) => return Err(bad_ext()),

                (Line::Cr, b'\n') => {
                    done = true;
                    Line::Cr
                }
                (Line::Cr, _) => return Err(Error::bad("chunk-size line not ended by CRLF")),
            };
            if done {
                break;
            }
        }
        if done {
            if self.size == 0 {
                self.state = State::Trailers(HeadScanner::default());
            } else {
                if let Some(max) = limits.max_body {
                    if self.announced.saturating_add(self.size) > max {
                        return Err(Error::remote(
                            format!("chunked body exceeds the limit of {max} bytes"),
                            413,
                        ));
                    }
                }
                // Sizes are peer data: without a limit the sum may pass 2^64 - 1.
                self.announced = self.announced.saturating_add(self.size);
                self.state = State::Data(self.size);
            }
        } else {
            self.state = State::Line(at);
        }
        Ok((used, done))
    }

    /// The error for a peer that closed mid-body.
    pub(crate) fn eof_error(&self) -> Error {
        let at = match self.state {
            State::Data(remaining) => {
                format!("in chunk data, {remaining} bytes of the current chunk missing")
            }
            State::Trailers(_) => "in the trailer section".to_owned(),
            _ => "in chunk framing".to_owned(),
        };
        Error::closed(format!(
            "peer closed connection without sending complete message body: incomplete chunked \
             body ({} bytes of data received, {at})",
            self.received
        ))
    }
}
