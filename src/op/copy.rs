//! [`CopyBody`]: a response body written to a file descriptor, without a copy through user
//! memory where the system allows it.

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsFd, AsRawFd};

use super::read::read_body;
use super::stream::{ClientStream, Reading};
use crate::error::Error;
use crate::{Interest, PollNeeded, Progress};

/// The size of the copy loop's buffer (TLS, chunk framing, bytes the core buffered, and
/// every platform without splice(2)). Measured (BENCHMARKS.md, "Body read sizes"): to a
/// file on ext4, each doubling from 16 KiB to 1 MiB was faster (0.9 GB/s at 64 KiB, 1.6 at
/// 512 KiB, 1.7 at 1 MiB), the cost of a write(2) to the file outweighing the cache; to
/// `/dev/null` the rate stops rising at 256 KiB. 512 KiB takes most of the gain at half
/// the memory of 1 MiB; [`CopyBody::with_buffer_size`] sets another.
pub(crate) const COPY_BUFFER: usize = 512 * 1024;

/// The most moved by one splice(2) from the socket, and the capacity asked of the pipe (the
/// most an unprivileged process may ask by default). With the low-water mark of
/// `stream.rs`, the fastest of the pipe sizes measured (BENCHMARKS.md, issue 11).
#[cfg(any(target_os = "linux", target_os = "android"))]
const SPLICE_PIECE: usize = 1024 * 1024;

/// Writes the rest of the response body to a file descriptor: a regular file, `/dev/null`,
/// a pipe, a socket. `Ready` with the number of bytes written, once the body has ended (the
/// next response can then be read).
///
/// On Linux, over a clear-text connection, body bytes go from the socket to the
/// destination with splice(2) through a pipe the operation creates once, never entering
/// user memory: exactly the rest of a `Content-Length` body, the data of each chunk whose
/// length is known, and an until-close body until the end of input. Bytes the core had
/// already received (with the head, or with a chunk's framing) are written first, with
/// write(2). Under TLS (the records must be decrypted), on other systems, and where the
/// kernel refuses splice(2) for the socket or the destination (a file opened for
/// appending, say), the same bytes go through a copy loop with a
/// buffer of 512 KiB instead ([`without_splice`](Self::without_splice) asks for that
/// loop, [`with_buffer_size`](Self::with_buffer_size) sets its size).
///
/// A body cut short is an error ([`ConnectionClosed`](Error::ConnectionClosed)), never a
/// short success; what arrived before the cut has been written. A destination that returns
/// `EAGAIN` (a non-blocking pipe or socket that is full) makes the operation `Pending` on
/// the *destination's* descriptor, for [`WRITABLE`](Interest::WRITABLE); a destination
/// that fails is an [`Io`](Error::Io) error that leaves the connection as it is: resuming
/// tries the write again, or the rest of the body can be [`Discard`](super::Discard)ed.
///
/// ```no_run
/// use pollhttp::op::{ClientStream, CopyBody, ReadResponse};
/// # fn f(stream: &mut ClientStream) -> Result<(), pollhttp::Error> {
/// let head = pollhttp::blocking::run(None, || ReadResponse::new().resume(stream))?;
/// let file = std::fs::File::create("body.bin").map_err(pollhttp::Error::from)?;
/// let mut copy = CopyBody::new(file);
/// let written = pollhttp::blocking::run(None, || copy.resume(stream))?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct CopyBody<F> {
    dest: F,
    /// A duplicate of the destination's descriptor, to write(2) to without `unsafe`;
    /// made on the first write.
    out: Option<File>,
    /// The copy loop's buffer (allocated when first needed); `buf[start..end]` is still
    /// to be written.
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// The size of `buf` when the copy loop allocates it.
    buffer_size: usize,
    /// The splice path.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    splice: Option<Splicer>,
    /// Splice may be tried (not turned off, and not refused so far).
    try_splice: bool,
    written: u64,
}

/// A pipe between the socket and the destination, with the bytes it holds.
#[cfg(any(target_os = "linux", target_os = "android"))]
#[derive(Debug)]
struct Splicer {
    read: File,
    write: std::os::fd::OwnedFd,
    /// Bytes in the pipe, not yet moved to the destination.
    held: usize,
}

impl<F: AsFd> CopyBody<F> {
    /// Writes the body to `dest` (owned, or borrowed: `&File` and `&mut File` are
    /// descriptors too). Its file position, if it has one, advances with the writes.
    pub fn new(dest: F) -> Self {
        Self {
            dest,
            out: None,
            buf: Vec::new(),
            start: 0,
            end: 0,
            buffer_size: COPY_BUFFER,
            #[cfg(any(target_os = "linux", target_os = "android"))]
            splice: None,
            try_splice: true,
            written: 0,
        }
    }

    /// Copies through a buffer in user memory even where splice(2) would do (to compare
    /// the two, or for a destination that must see ordinary writes).
    pub fn without_splice(mut self) -> Self {
        self.try_splice = false;
        self
    }

    /// Sets the size of the copy loop's buffer, in bytes (at least 1; the default, 512 KiB,
    /// was chosen by measurement: BENCHMARKS.md, "Body read sizes"). The buffer is
    /// allocated only when the copy loop runs, and each read from the connection moves at
    /// most this much. A destination that takes whole messages of a bounded size (a
    /// datagram or `SOCK_SEQPACKET` socket) wants a buffer no larger than its bound.
    pub fn with_buffer_size(mut self, bytes: usize) -> Self {
        self.buffer_size = bytes.max(1);
        self
    }

    /// Bytes written to the destination so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// The destination.
    pub fn destination(&self) -> &F {
        &self.dest
    }

    /// The destination back.
    pub fn into_destination(self) -> F {
        self.dest
    }

    /// Makes progress: `Ready` with the number of bytes written, at the end of the body.
    pub fn resume(&mut self, stream: &mut ClientStream) -> Result<Progress<u64>, Error> {
        loop {
            // What is held goes out first.
            if let Progress::Pending(p) = self.drain()? {
                return Ok(Progress::Pending(p));
            }
            stream.check_read()?;
            if stream.reading() != Reading::Body {
                return Ok(Progress::Ready(self.written));
            }
            #[cfg(any(target_os = "linux", target_os = "android"))]
            if self.try_splice {
                match self.splice_in(stream)? {
                    Some(Progress::Ready(())) => continue,
                    Some(Progress::Pending(p)) => return Ok(Progress::Pending(p)),
                    None => {}
                }
            }
            if self.buf.len() != self.buffer_size {
                // Zeroed by the allocator: a large buffer's pages are touched only as
                // reads fill them.
                self.buf = vec![0; self.buffer_size];
            }
            match read_body(stream, &mut self.buf)? {
                Progress::Pending(p) => return Ok(Progress::Pending(p)),
                Progress::Ready(0) => return Ok(Progress::Ready(self.written)),
                Progress::Ready(n) => {
                    self.start = 0;
                    self.end = n;
                }
            }
        }
    }

    /// Moves body bytes from the socket into the pipe. `None`: not now, or not on this
    /// connection (then splicing is not tried again): use the copy loop.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn splice_in(&mut self, stream: &mut ClientStream) -> Result<Option<Progress<()>>, Error> {
        use super::stream::Spliced;

        let splicer = match &mut self.splice {
            Some(s) => s,
            None => match Splicer::new() {
                Ok(s) => self.splice.insert(s),
                Err(e) => {
                    log::debug!("CopyBody: no pipe ({e}); copying instead");
                    self.try_splice = false;
                    return Ok(None);
                }
            },
        };
        match stream.splice_direct(splicer.write.as_fd(), SPLICE_PIECE)? {
            Spliced::Moved(n) => {
                splicer.held = n;
                Ok(Some(Progress::Ready(())))
            }
            Spliced::Pending(p) => Ok(Some(Progress::Pending(p))),
            Spliced::NotNow => Ok(None),
            Spliced::Unsupported => {
                log::debug!("CopyBody: splice(2) refused for this connection; copying instead");
                self.try_splice = false;
                Ok(None)
            }
        }
    }

    /// Writes what the pipe and the buffer hold to the destination.
    fn drain(&mut self) -> Result<Progress<()>, Error> {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        if let Progress::Pending(p) = self.drain_pipe()? {
            return Ok(Progress::Pending(p));
        }
        while self.start < self.end {
            if self.out.is_none() {
                let fd = self.dest.as_fd().try_clone_to_owned().map_err(dest_error)?;
                self.out = Some(File::from(fd));
            }
            let out = self.out.as_mut().expect("just made");
            match out.write(&self.buf[self.start..self.end]) {
                Ok(0) => return Err(dest_error(io::ErrorKind::WriteZero.into())),
                Ok(n) => {
                    self.start += n;
                    self.written += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    return Ok(Progress::Pending(self.dest_writable()))
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(dest_error(e)),
            }
        }
        Ok(Progress::Ready(()))
    }

    /// Splices what the pipe holds to the destination. A destination splice(2) refuses
    /// gets the pipe's bytes through the buffer instead, and no more splicing.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn drain_pipe(&mut self) -> Result<Progress<()>, Error> {
        use rustix::io::Errno;
        use rustix::pipe::{splice, SpliceFlags};
        use std::io::Read;

        let Some(splicer) = &mut self.splice else {
            return Ok(Progress::Ready(()));
        };
        while splicer.held > 0 {
            match splice(
                &splicer.read,
                None,
                self.dest.as_fd(),
                None,
                splicer.held,
                SpliceFlags::MOVE,
            ) {
                Ok(0) => return Err(dest_error(io::ErrorKind::WriteZero.into())),
                Ok(n) => {
                    splicer.held -= n;
                    self.written += n as u64;
                }
                Err(Errno::AGAIN) => return Ok(Progress::Pending(self.dest_writable())),
                Err(Errno::INTR) => {}
                Err(Errno::INVAL | Errno::NOSYS | Errno::OPNOTSUPP) => {
                    // Not this destination: take the bytes back out of the pipe, to be
                    // written with write(2) by the copy loop.
                    log::debug!("CopyBody: splice(2) refused the destination; copying instead");
                    self.try_splice = false;
                    let mut held = vec![0; splicer.held];
                    splicer.read.read_exact(&mut held).map_err(Error::from)?;
                    splicer.held = 0;
                    self.buf = held;
                    self.start = 0;
                    self.end = self.buf.len();
                    return Ok(Progress::Ready(()));
                }
                Err(e) => return Err(dest_error(e.into())),
            }
        }
        Ok(Progress::Ready(()))
    }

    fn dest_writable(&self) -> PollNeeded {
        PollNeeded {
            fd: self.dest.as_fd().as_raw_fd(),
            interest: Interest::WRITABLE,
        }
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
impl Splicer {
    fn new() -> io::Result<Self> {
        use rustix::pipe::{fcntl_setpipe_size, pipe_with, PipeFlags};

        let (read, write) = pipe_with(PipeFlags::CLOEXEC | PipeFlags::NONBLOCK)?;
        // A larger pipe moves more per call; the default (64 KiB) is kept when refused.
        let _ = fcntl_setpipe_size(&write, SPLICE_PIECE);
        Ok(Self {
            read: File::from(read),
            write,
            held: 0,
        })
    }
}

/// An error of the destination's: this side's, never the peer closing (a broken pipe here
/// is the reader of our output gone, not the server).
fn dest_error(e: io::Error) -> Error {
    let e = io::Error::new(e.kind(), format!("writing the response body: {e}"));
    Error::Io(std::sync::Arc::new(e))
}
