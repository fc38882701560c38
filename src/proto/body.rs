//! Body decoding (by framing) and encoding.

use http::HeaderMap;

use super::buffer::RecvBuf;
use super::chunked::{self, ChunkedDecoder};
use super::error::Error;
use super::framing::{is_qdtext, valid_token, Framing};
use super::head::Headers;
use super::limits::Limits;
use super::write::write_fields;

/// What one decoding step produced.
pub(crate) enum BodyStep {
    /// The next this many buffered bytes are body data: the caller takes them.
    Data(usize),
    End(Headers),
    NeedData,
}

#[derive(Debug, Clone)]
pub(crate) enum BodyDecoder {
    Length { remaining: u64, expected: u64 },
    Chunked(ChunkedDecoder),
    UntilClose,
}

impl BodyDecoder {
    /// A decoder for `framing`; `None` for a message without a body.
    pub(crate) fn new(framing: Framing) -> Self {
        match framing {
            Framing::None => Self::Length {
                remaining: 0,
                expected: 0,
            },
            Framing::Length(n) => Self::Length {
                remaining: n,
                expected: n,
            },
            Framing::Chunked => Self::Chunked(ChunkedDecoder::new()),
            Framing::UntilClose => Self::UntilClose,
        }
    }

    /// The framing this decoder reads.
    pub(crate) fn framing(&self) -> Framing {
        match self {
            Self::Length { expected: 0, .. } => Framing::None,
            Self::Length { expected, .. } => Framing::Length(*expected),
            Self::Chunked(_) => Framing::Chunked,
            Self::UntilClose => Framing::UntilClose,
        }
    }

    /// How many of the next bytes on the wire are body data for sure (0 when the next
    /// bytes are framing, or the body is complete).
    pub(crate) fn data_ahead(&self) -> u64 {
        match self {
            Self::Length { remaining, .. } => *remaining,
            Self::Chunked(decoder) => decoder.data_ahead(),
            Self::UntilClose => u64::MAX,
        }
    }

    /// Counts `n` body bytes the caller received without the buffer (at most
    /// [`data_ahead`](Self::data_ahead)).
    pub(crate) fn data_received(&mut self, n: u64) {
        match self {
            Self::Length { remaining, .. } => *remaining -= n.min(*remaining),
            Self::Chunked(decoder) => decoder.data_received(n),
            Self::UntilClose => {}
        }
    }

    /// One step: body data (at most `max` bytes, `max` ≥ 1), the end, or a need for more.
    pub(crate) fn step(
        &mut self,
        buf: &mut RecvBuf,
        limits: &Limits,
        allow_fold: bool,
        max: usize,
    ) -> Result<BodyStep, Error> {
        let max = max.max(1);
        let eof = buf.eof();
        match self {
            Self::Length {
                remaining,
                expected,
            } => {
                if *remaining == 0 {
                    return Ok(BodyStep::End(Headers::default()));
                }
                if buf.is_empty() {
                    return if eof {
                        Err(Error::closed(format!(
                            "peer closed connection without sending complete message body \
                             (received {} bytes, expected {expected})",
                            *expected - *remaining
                        )))
                    } else {
                        Ok(BodyStep::NeedData)
                    };
                }
                let n = (*remaining).min(buf.len().min(max) as u64) as usize;
                *remaining -= n as u64;
                Ok(BodyStep::Data(n))
            }
            Self::Chunked(decoder) => match decoder.step(buf, limits, allow_fold, max)? {
                chunked::Step::Data(d) => Ok(BodyStep::Data(d)),
                chunked::Step::End(t) => Ok(BodyStep::End(t)),
                chunked::Step::NeedData if eof => Err(decoder.eof_error()),
                chunked::Step::NeedData => Ok(BodyStep::NeedData),
            },
            Self::UntilClose => {
                if !buf.is_empty() {
                    Ok(BodyStep::Data(buf.len().min(max)))
                } else if eof {
                    Ok(BodyStep::End(Headers::default()))
                } else {
                    Ok(BodyStep::NeedData)
                }
            }
        }
    }
}

/// A chunk extension to send: `;name` or `;name=value` (the value is quoted when it is
/// not a token).
pub type ChunkExtension<'a> = (&'a str, Option<&'a str>);

/// Serializes a body in its framing and checks the caller keeps to it.
#[derive(Debug, Clone)]
pub(crate) enum BodyEncoder {
    Length { remaining: u64 },
    Chunked,
    UntilClose,
}

impl BodyEncoder {
    pub(crate) fn new(framing: Framing) -> Option<Self> {
        match framing {
            Framing::None => None,
            Framing::Length(n) => Some(Self::Length { remaining: n }),
            Framing::Chunked => Some(Self::Chunked),
            Framing::UntilClose => Some(Self::UntilClose),
        }
    }

    pub(crate) fn data(
        &mut self,
        data: &[u8],
        extensions: &[ChunkExtension<'_>],
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        match self {
            Self::Length { remaining } => {
                if !extensions.is_empty() {
                    return Err(Error::local("chunk extensions need a chunked body"));
                }
                if data.len() as u64 > *remaining {
                    return Err(Error::local(format!(
                        "body data exceeds the Content-Length ({} bytes given, {remaining} left)",
                        data.len()
                    )));
                }
                *remaining -= data.len() as u64;
                out.extend_from_slice(data);
            }
            Self::Chunked => {
                // An empty chunk would end the body: skip it.
                if data.is_empty() {
                    return Ok(());
                }
                let start = out.len();
                if let Err(e) = write_chunk_line(data.len() as u64, extensions, out) {
                    // Nothing of a refused chunk goes out.
                    out.truncate(start);
                    return Err(e);
                }
                out.extend_from_slice(data);
                out.extend_from_slice(b"\r\n");
            }
            Self::UntilClose => {
                if !extensions.is_empty() {
                    return Err(Error::local("chunk extensions need a chunked body"));
                }
                out.extend_from_slice(data);
            }
        }
        Ok(())
    }

    pub(crate) fn end(
        &mut self,
        trailers: Option<&HeaderMap>,
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        let trailers = trailers.filter(|t| !t.is_empty());
        match self {
            Self::Length { remaining } => {
                if *remaining != 0 {
                    return Err(Error::local(format!(
                        "body ended {remaining} bytes short of the Content-Length"
                    )));
                }
                if trailers.is_some() {
                    return Err(Error::local("trailers need a chunked body"));
                }
            }
            Self::Chunked => {
                // Checked before anything is written.
                for name in ["content-length", "transfer-encoding", "host"] {
                    if trailers.is_some_and(|t| t.contains_key(name)) {
                        return Err(Error::local(format!("{name} is not allowed in trailers")));
                    }
                }
                out.extend_from_slice(b"0\r\n");
                if let Some(trailers) = trailers {
                    write_fields(trailers, out);
                }
                out.extend_from_slice(b"\r\n");
            }
            Self::UntilClose => {
                if trailers.is_some() {
                    return Err(Error::local("trailers need a chunked body"));
                }
            }
        }
        Ok(())
    }
}

fn write_chunk_line(
    len: u64,
    extensions: &[ChunkExtension<'_>],
    out: &mut Vec<u8>,
) -> Result<(), Error> {
    write_hex(len, out);
    for (name, value) in extensions {
        if !valid_token(name) {
            return Err(Error::local("chunk extension name is not a token"));
        }
        out.push(b';');
        out.extend_from_slice(name.as_bytes());
        if let Some(value) = value {
            out.push(b'=');
            if valid_token(value) {
                out.extend_from_slice(value.as_bytes());
            } else {
                out.push(b'"');
                for b in value.bytes() {
                    if is_qdtext(b) {
                        out.push(b);
                    } else if b == b'"' || b == b'\\' {
                        out.extend_from_slice(&[b'\\', b]);
                    } else {
                        return Err(Error::local(
                            "chunk extension value has a control character",
                        ));
                    }
                }
                out.push(b'"');
            }
        }
    }
    out.extend_from_slice(b"\r\n");
    Ok(())
}

fn write_hex(mut n: u64, out: &mut Vec<u8>) {
    let mut digits = [0u8; 16];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b"0123456789abcdef"[(n & 0xf) as usize];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}
