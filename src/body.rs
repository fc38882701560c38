//! [`Body`]: what a message we send carries (a request's or a response's), and how it
//! is framed.

use std::borrow::Cow;
use std::fmt;
use std::io::{self, Read};

use http::HeaderMap;

/// One chunk of a chunked body, with its extensions (`;name` or `;name=value`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Chunk {
    /// The data (an empty chunk is skipped: only the end of the body is empty).
    pub data: Vec<u8>,
    /// Extensions: names must be tokens; a value that is not a token is quoted.
    pub extensions: Vec<(String, Option<String>)>,
}

impl Chunk {
    /// A chunk without extensions.
    pub fn new(data: impl Into<Vec<u8>>) -> Self {
        Self {
            data: data.into(),
            extensions: Vec::new(),
        }
    }

    /// Adds an extension.
    pub fn with_extension(mut self, name: impl Into<String>, value: Option<&str>) -> Self {
        self.extensions
            .push((name.into(), value.map(str::to_owned)));
        self
    }
}

pub(crate) type ChunkIter<'a> = Box<dyn Iterator<Item = io::Result<Chunk>> + Send + 'a>;

pub(crate) enum Kind<'a> {
    Empty,
    Bytes(Cow<'a, [u8]>),
    Following(u64),
    Reader(Box<dyn Read + Send + 'a>, u64),
    ChunkedReader(Box<dyn Read + Send + 'a>),
    Chunks(ChunkIter<'a>),
}

/// The body of a message we send (a client's request, a server's response): its bytes, or
/// where they come from, and so its framing.
///
/// | body | framing |
/// |---|---|
/// | [`Body::empty`] (also `()`) | none (a request: `content-length: 0` for POST, PUT, PATCH; a response: `content-length: 0`) |
/// | [`Body::bytes`] (also `&[u8]`, `Vec<u8>`, `&str`, `String`) | `content-length` |
/// | [`Body::following`]`(n)`, then [`Connection::write`](crate::client::Connection::write) (requests only) | `content-length: n` |
/// | [`Body::reader`]`(r, n)` | `content-length: n`, streamed from `r` |
/// | [`Body::chunked_reader`]`(r)`, [`Body::chunks`]`(iter)` | chunked, with optional [trailers](Body::with_trailers) |
///
/// Readers and chunk iterators must be `Send`: the embedded server writes a response in
/// its event loop, which may run on another thread than the handler's.
///
/// ```
/// use pollhttp::{Body, Chunk};
/// let small = Body::from("hello");
/// let file = Body::reader(std::io::Cursor::new(vec![0u8; 1000]), 1000);
/// let chunks = Body::chunks(vec![Chunk::new("a"), Chunk::new("b").with_extension("k", Some("v"))]);
/// ```
pub struct Body<'a> {
    pub(crate) kind: Kind<'a>,
    /// Boxed: most bodies have none, and a `Body` moves with every response.
    pub(crate) trailers: Option<Box<HeaderMap>>,
}

impl<'a> Body<'a> {
    fn of(kind: Kind<'a>) -> Self {
        Self {
            kind,
            trailers: None,
        }
    }

    /// No body.
    pub fn empty() -> Self {
        Self::of(Kind::Empty)
    }

    /// A body in memory, borrowed or owned.
    pub fn bytes(bytes: impl Into<Cow<'a, [u8]>>) -> Self {
        Self::of(Kind::Bytes(bytes.into()))
    }

    /// `n` bytes the caller writes after sending the head (dugong's `BodyFollowing`):
    /// [`Connection::write`](crate::client::Connection::write) them; the body ends with its
    /// last byte. Requests only.
    pub fn following(n: u64) -> Self {
        Self::of(Kind::Following(n))
    }

    /// Exactly `n` bytes read from `reader` (a reader that ends sooner fails the request,
    /// and the connection with it; bytes beyond `n` are not read).
    ///
    /// What each read gives is sent as it comes, since the next read may wait (a body that
    /// streams): a reader that gives a few bytes a read makes a segment of each. Wrap such
    /// a source in a [`BufReader`](std::io::BufReader), or give a buffer's worth a read: a
    /// server sending a 1 MB body a byte a read spent 10 s in the kernel's sends.
    pub fn reader(reader: impl Read + Send + 'a, n: u64) -> Self {
        Self::of(Kind::Reader(Box::new(reader), n))
    }

    /// A chunked body read from `reader` until it ends, one chunk per read, sent as it
    /// comes (see [`reader`](Self::reader) on small reads).
    pub fn chunked_reader(reader: impl Read + Send + 'a) -> Self {
        Self::of(Kind::ChunkedReader(Box::new(reader)))
    }

    /// A chunked body from an iterator of chunks (with extensions if they have any).
    ///
    /// Each chunk goes out as one chunk on the wire, as given (its extensions may describe
    /// exactly its data), and is copied whole into the connection's output: the embedded
    /// server takes turns between connections per chunk. For large data, prefer chunks of
    /// tens of KiB, or [`Body::reader`] or bytes, which it sends 64 KiB at a time.
    pub fn chunks<I>(chunks: I) -> Self
    where
        I: IntoIterator<Item = Chunk>,
        I::IntoIter: Send + 'a,
    {
        Self::of(Kind::Chunks(Box::new(chunks.into_iter().map(Ok))))
    }

    /// A chunked body from an iterator of chunks that may fail (the error fails the
    /// request, and the connection with it).
    pub fn try_chunks<I>(chunks: I) -> Self
    where
        I: IntoIterator<Item = io::Result<Chunk>>,
        I::IntoIter: Send + 'a,
    {
        Self::of(Kind::Chunks(Box::new(chunks.into_iter())))
    }

    /// Trailer fields after the last chunk (chunked bodies only).
    pub fn with_trailers(mut self, trailers: HeaderMap) -> Self {
        self.trailers = Some(Box::new(trailers));
        self
    }

    /// Whether the body is chunked.
    pub fn is_chunked(&self) -> bool {
        matches!(self.kind, Kind::ChunkedReader(_) | Kind::Chunks(_))
    }
}

impl Default for Body<'_> {
    fn default() -> Self {
        Self::empty()
    }
}

impl fmt::Debug for Body<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Empty => f.write_str("Body::empty()"),
            Kind::Bytes(b) => write!(f, "Body::bytes({} bytes)", b.len()),
            Kind::Following(n) => write!(f, "Body::following({n})"),
            Kind::Reader(_, n) => write!(f, "Body::reader(_, {n})"),
            Kind::ChunkedReader(_) => f.write_str("Body::chunked_reader(_)"),
            Kind::Chunks(_) => f.write_str("Body::chunks(_)"),
        }
    }
}

impl From<()> for Body<'_> {
    fn from((): ()) -> Self {
        Self::empty()
    }
}

impl<'a> From<&'a [u8]> for Body<'a> {
    fn from(bytes: &'a [u8]) -> Self {
        Self::bytes(bytes)
    }
}

impl<'a, const N: usize> From<&'a [u8; N]> for Body<'a> {
    fn from(bytes: &'a [u8; N]) -> Self {
        Self::bytes(&bytes[..])
    }
}

impl From<Vec<u8>> for Body<'_> {
    fn from(bytes: Vec<u8>) -> Self {
        Self::bytes(bytes)
    }
}

impl<'a> From<&'a str> for Body<'a> {
    fn from(text: &'a str) -> Self {
        Self::bytes(text.as_bytes())
    }
}

impl From<String> for Body<'_> {
    fn from(text: String) -> Self {
        Self::bytes(text.into_bytes())
    }
}
