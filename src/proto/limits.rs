//! Limits on what the core accepts from a peer.

/// Limits applied to incoming messages. Every limit has a status hint that a server
/// answers with when the peer exceeds it.
///
/// ```
/// use pollhttp::proto::Limits;
/// let limits = Limits::server().max_head(8 * 1024).max_headers(50);
/// assert_eq!(limits.max_head_bytes(), 8 * 1024);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub(crate) max_head: usize,
    pub(crate) max_headers: usize,
    pub(crate) max_chunk_line: usize,
    pub(crate) max_chunk_ext_total: usize,
    pub(crate) max_body: Option<u64>,
    pub(crate) max_informational: usize,
}

impl Limits {
    /// Defaults for a client reading responses: 64 KiB heads.
    pub const fn client() -> Self {
        Self {
            max_head: 64 * 1024,
            max_headers: 100,
            max_chunk_line: 4096,
            max_chunk_ext_total: 16 * 1024,
            max_body: None,
            max_informational: 100,
        }
    }

    /// Defaults for a server reading requests: 16 KiB heads.
    pub const fn server() -> Self {
        Self {
            max_head: 16 * 1024,
            ..Self::client()
        }
    }

    /// Start line plus header section (and, separately, a trailer section), in bytes.
    /// Excess: 431 (414 if the request line alone does not fit).
    pub const fn max_head(mut self, bytes: usize) -> Self {
        self.max_head = bytes;
        self
    }

    /// Number of header (or trailer) fields. Excess: 431.
    pub const fn max_headers(mut self, count: usize) -> Self {
        self.max_headers = count;
        self
    }

    /// One chunk-size line, extensions included. Excess: 400.
    pub const fn max_chunk_line(mut self, bytes: usize) -> Self {
        self.max_chunk_line = bytes;
        self
    }

    /// All chunk extensions of one message together. Excess: 400.
    pub const fn max_chunk_extensions(mut self, bytes: usize) -> Self {
        self.max_chunk_ext_total = bytes;
        self
    }

    /// Body size, by Content-Length or by the sum of chunks; `None` for no limit (the
    /// default). Excess: 413.
    pub const fn max_body(mut self, bytes: Option<u64>) -> Self {
        self.max_body = bytes;
        self
    }

    /// Informational (1xx) responses before one request's final response (a client's
    /// limit; default 100). Excess: the response fails (400 as a hint): a peer sending
    /// them without end would hold the request for ever, each one resetting any timeout.
    pub const fn max_informational(mut self, count: usize) -> Self {
        self.max_informational = count;
        self
    }

    /// The head size limit.
    pub const fn max_head_bytes(&self) -> usize {
        self.max_head
    }

    /// The header count limit.
    pub const fn max_header_count(&self) -> usize {
        self.max_headers
    }

    /// The chunk-size line limit.
    pub const fn max_chunk_line_bytes(&self) -> usize {
        self.max_chunk_line
    }

    /// The per-message chunk-extension limit.
    pub const fn max_chunk_extension_bytes(&self) -> usize {
        self.max_chunk_ext_total
    }

    /// The body size limit.
    pub const fn max_body_bytes(&self) -> Option<u64> {
        self.max_body
    }

    /// The limit on informational responses before a final one.
    pub const fn max_informational_count(&self) -> usize {
        self.max_informational
    }
}
