//! The receive buffer: bytes the peer sent that no event has consumed yet.

/// Below this many consumed bytes we do not bother moving the rest to the front.
const COMPACT_AFTER: usize = 4096;

/// Above this size an emptied buffer gives its memory back.
const KEEP_AT_MOST: usize = 256 * 1024;

/// `data[start..end]` holds received, unconsumed bytes; `data[end..]` is initialized space
/// (zeros, or bytes of an earlier read) kept for the next read, so reading into it does not
/// zero it again every time.
#[derive(Debug, Default)]
pub(crate) struct RecvBuf {
    data: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
}

impl RecvBuf {
    pub(crate) fn pending(&self) -> &[u8] {
        &self.data[self.start..self.end]
    }

    pub(crate) fn len(&self) -> usize {
        self.end - self.start
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.start == self.end
    }

    pub(crate) fn eof(&self) -> bool {
        self.eof
    }

    pub(crate) fn set_eof(&mut self) {
        self.eof = true;
    }

    pub(crate) fn consume(&mut self, n: usize) {
        debug_assert!(n <= self.len());
        self.start += n;
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
            if self.data.capacity() > KEEP_AT_MOST {
                self.data = Vec::new();
            }
        }
    }

    /// Consumes the empty lines (CRLF, or a lone LF) at the front, adding their length to
    /// `skipped`; `false` once `skipped` passes `max`. RFC 9112 §2.2: a server ignores
    /// empty lines before a request line, and the client is as robust before a status
    /// line (a stray CRLF after a body frames nothing); both roles bound them by the head
    /// limit.
    pub(crate) fn skip_empty_lines(&mut self, skipped: &mut usize, max: usize) -> bool {
        loop {
            let n = match self.pending() {
                [b'\r', b'\n', ..] => 2,
                [b'\n', ..] => 1,
                _ => return true,
            };
            self.consume(n);
            *skipped += n;
            if *skipped > max {
                return false;
            }
        }
    }

    /// Consumes `n` bytes and returns them.
    pub(crate) fn take(&mut self, n: usize) -> &[u8] {
        debug_assert!(n <= self.len());
        let from = self.start;
        self.start += n;
        // Not reset when emptied: the slice is still borrowed. `compact` does it later.
        &self.data[from..from + n]
    }

    pub(crate) fn push(&mut self, bytes: &[u8]) {
        self.compact();
        // Copying over the zeroed tail would write it twice: drop it instead.
        self.data.truncate(self.end);
        self.data.extend_from_slice(bytes);
        self.end = self.data.len();
    }

    /// Space to read into: at least `min` bytes. Call `commit` with what was written.
    pub(crate) fn spare(&mut self, min: usize) -> &mut [u8] {
        self.compact();
        if self.data.len() < self.end + min {
            self.data.resize(self.end + min, 0);
        }
        &mut self.data[self.end..]
    }

    /// Keeps `written` bytes of the space `spare` gave out.
    pub(crate) fn commit(&mut self, written: usize) {
        self.end += written.min(self.data.len() - self.end);
    }

    /// Takes everything not yet consumed (after a protocol switch).
    pub(crate) fn take_all(&mut self) -> Vec<u8> {
        let mut data = std::mem::take(&mut self.data);
        data.truncate(self.end);
        data.drain(..self.start);
        self.start = 0;
        self.end = 0;
        data
    }

    fn compact(&mut self) {
        if self.start == 0 {
            return;
        }
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.start >= COMPACT_AFTER && self.start * 2 >= self.end {
            self.data.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
    }

    pub(crate) fn capacity(&self) -> usize {
        self.data.capacity()
    }

    /// Takes the memory out if nothing is buffered, for another buffer to adopt: its
    /// space stays initialized (not zeroed again), and no byte of it is ever read before
    /// a read has written it.
    pub(crate) fn take_storage(&mut self) -> Option<Vec<u8>> {
        if self.start != self.end || self.data.capacity() == 0 {
            return None;
        }
        self.start = 0;
        self.end = 0;
        Some(std::mem::take(&mut self.data))
    }

    /// Uses `storage` (from `take_storage`) as the buffer's memory, if it holds none.
    pub(crate) fn adopt_storage(&mut self, storage: Vec<u8>) {
        if self.data.capacity() == 0 && self.start == self.end {
            self.start = 0;
            self.end = 0;
            self.data = storage;
        }
    }

    /// Gives the memory back if nothing is buffered (an idle connection needs none).
    pub(crate) fn release(&mut self) {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
            self.data = Vec::new();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spare_and_commit_keep_the_zeroed_tail() {
        let mut buf = RecvBuf::default();
        let space = buf.spare(8);
        assert!(space.len() >= 8);
        space[..3].copy_from_slice(b"abc");
        buf.commit(3);
        assert_eq!(buf.pending(), b"abc");
        // The rest of the space is still there, and more is added only when needed.
        assert!(buf.spare(4).len() >= 5);
        buf.commit(0);
        assert_eq!(buf.pending(), b"abc");
        buf.consume(3);
        assert!(buf.is_empty());
        buf.push(b"xy");
        assert_eq!(buf.pending(), b"xy");
        // Committing more than was handed out keeps only what exists.
        let n = buf.spare(2).len();
        buf.commit(n + 100);
        assert_eq!(buf.len(), 2 + n);
    }

    #[test]
    fn compaction_keeps_the_unconsumed_bytes() {
        let mut buf = RecvBuf::default();
        let bytes: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
        buf.push(&bytes);
        buf.consume(6_000);
        buf.push(b"tail");
        let mut expected = bytes[6_000..].to_vec();
        expected.extend_from_slice(b"tail");
        assert_eq!(buf.pending(), &expected[..]);
        assert_eq!(buf.take_all(), expected);
        assert!(buf.is_empty());
    }

    #[test]
    fn storage_moves_only_from_an_empty_buffer_to_one_without_memory() {
        let mut first = RecvBuf::default();
        assert!(
            first.take_storage().is_none(),
            "no memory held: nothing to give"
        );
        first.push(b"GET / HTTP/1.1\r\n");
        assert!(
            first.take_storage().is_none(),
            "bytes wait: the memory stays"
        );
        first.consume(first.len());
        let storage = first.take_storage().expect("empty, with memory");
        let capacity = storage.capacity();
        assert!(capacity > 0);
        assert_eq!(first.capacity(), 0);
        assert!(first.is_empty());

        // A buffer holding memory of its own keeps it...
        let mut busy = RecvBuf::default();
        busy.push(b"x");
        busy.adopt_storage(Vec::with_capacity(64));
        assert_eq!(busy.pending(), b"x");
        // ...one without takes the storage, and the old bytes in it are never pending.
        let mut second = RecvBuf::default();
        second.adopt_storage(storage);
        assert_eq!(second.capacity(), capacity);
        assert!(second.is_empty());
        let space = second.spare(4);
        space[..2].copy_from_slice(b"ab");
        second.commit(2);
        assert_eq!(second.pending(), b"ab");
    }
}
