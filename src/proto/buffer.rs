//! The receive buffer: bytes the peer sent that no event has consumed yet.

/// Below this many consumed bytes we do not bother moving the rest to the front.
const COMPACT_AFTER: usize = 4096;

#[derive(Debug, Default)]
pub(crate) struct RecvBuf {
    data: Vec<u8>,
    start: usize,
    eof: bool,
    /// Length of the zeroed space handed out by `spare`, not yet committed.
    spare: usize,
}

impl RecvBuf {
    pub(crate) fn pending(&self) -> &[u8] {
        &self.data[self.start..]
    }

    pub(crate) fn len(&self) -> usize {
        self.data.len() - self.start
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.start == self.data.len()
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
        if self.start == self.data.len() {
            // Empty: forget the buffer position (and, when it grew large, the memory), so
            // that an idle connection holds no receive buffer.
            self.start = 0;
            self.data.clear();
            if self.data.capacity() > 64 * 1024 {
                self.data = Vec::new();
            }
        }
    }

    /// Consumes `n` bytes and returns them.
    pub(crate) fn take(&mut self, n: usize) -> &[u8] {
        debug_assert!(n <= self.len());
        let from = self.start;
        self.start += n;
        // Not cleared here: the slice is still borrowed. `compact` runs on the next push.
        &self.data[from..from + n]
    }

    pub(crate) fn push(&mut self, bytes: &[u8]) {
        self.drop_spare();
        self.compact();
        self.data.extend_from_slice(bytes);
    }

    /// Space to read into: at least `min` bytes, zeroed. Call `commit` with what was
    /// written.
    pub(crate) fn spare(&mut self, min: usize) -> &mut [u8] {
        self.drop_spare();
        self.compact();
        let len = self.data.len();
        self.data.resize(len + min, 0);
        self.spare = min;
        &mut self.data[len..]
    }

    /// Keeps `written` bytes of the space `spare` gave out.
    pub(crate) fn commit(&mut self, written: usize) {
        let written = written.min(self.spare);
        let new_len = self.data.len() - self.spare + written;
        self.data.truncate(new_len);
        self.spare = 0;
    }

    pub(crate) fn drop_spare(&mut self) {
        if self.spare > 0 {
            self.commit(0);
        }
    }

    /// Takes everything not yet consumed (after a protocol switch).
    pub(crate) fn take_all(&mut self) -> Vec<u8> {
        let mut data = std::mem::take(&mut self.data);
        data.drain(..self.start);
        self.start = 0;
        data
    }

    fn compact(&mut self) {
        if self.start == 0 {
            return;
        }
        if self.start == self.data.len() {
            self.start = 0;
            self.data.clear();
        } else if self.start >= COMPACT_AFTER && self.start * 2 >= self.data.len() {
            self.data.drain(..self.start);
            self.start = 0;
        }
    }

    pub(crate) fn capacity(&self) -> usize {
        self.data.capacity()
    }
}
