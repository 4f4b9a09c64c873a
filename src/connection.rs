//! The client connection: gdbstub writes replies into an in-memory buffer that the session loop
//! flushes to the socket asynchronously (gdbstub's `Connection` is synchronous and WASI sockets
//! are not), and the loop reads the socket in blocks rather than a byte per call.

use gdbstub::conn::Connection;
use std::cell::RefCell;
use std::rc::Rc;
use wstd::io::{AsyncRead, AsyncWrite};
use wstd::net::TcpStream;

/// gdbstub's side of the connection: the reply buffer. Cloning shares the buffer, so the session
/// can rebuild gdbstub's state machine without losing the socket.
#[derive(Clone, Default)]
pub struct ReplyBuffer(Rc<RefCell<Vec<u8>>>);

impl ReplyBuffer {
    pub fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.0.borrow_mut())
    }

    /// Appends fields to the stop reply gdbstub just wrote (see `crate::stop_reply`).
    pub fn append_stop_fields(&self, fields: &[(&str, String)]) {
        let mut buffer = self.0.borrow_mut();
        if let Some(edited) = crate::stop_reply::append_fields(&buffer, fields) {
            *buffer = edited;
        }
    }

    /// Queues bytes the session answers itself, bypassing gdbstub.
    pub fn push_raw(&self, bytes: &[u8]) {
        self.0.borrow_mut().extend_from_slice(bytes);
    }

    /// Lets the session write a large reply in place (binary memory reads).
    pub fn append_with<R>(&self, write: impl FnOnce(&mut Vec<u8>) -> R) -> R {
        write(&mut self.0.borrow_mut())
    }

    pub fn len(&self) -> usize {
        self.0.borrow().len()
    }

    pub fn byte_at(&self, index: usize) -> Option<u8> {
        self.0.borrow().get(index).copied()
    }

    pub fn clear(&self) {
        self.0.borrow_mut().clear();
    }
}

impl Connection for ReplyBuffer {
    type Error = std::convert::Infallible;

    fn write(&mut self, byte: u8) -> Result<(), Self::Error> {
        self.0.borrow_mut().push(byte);
        Ok(())
    }

    fn write_all(&mut self, buf: &[u8]) -> Result<(), Self::Error> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// The socket side: block reads and flushes of the reply buffer.
pub struct Client {
    stream: TcpStream,
    pub replies: ReplyBuffer,
    inbox: Vec<u8>,
}

/// Socket read size: large enough that a connect's packets rarely need two reads.
const READ_BLOCK: usize = 64 * 1024;

impl Client {
    pub fn new(stream: TcpStream) -> Self {
        Client {
            stream,
            replies: ReplyBuffer::default(),
            inbox: vec![0; READ_BLOCK],
        }
    }

    /// Waits for data from the client and returns how many bytes arrived ([`Client::received`]);
    /// 0 means the connection is closed.
    pub async fn read(&mut self) -> usize {
        self.stream
            .read(&mut self.inbox)
            .await
            .map_or(0, |n| n.min(READ_BLOCK))
    }

    pub fn received(&self, n: usize) -> &[u8] {
        &self.inbox[..n.min(READ_BLOCK)]
    }

    /// Sends buffered replies. Returns false if the client is gone.
    pub async fn flush(&mut self) -> bool {
        let out = self.replies.take();
        if out.is_empty() {
            return true;
        }
        self.stream.write_all(&out).await.is_ok() && self.stream.flush().await.is_ok()
    }

    pub async fn send_raw(&mut self, bytes: &[u8]) -> bool {
        self.stream.write_all(bytes).await.is_ok() && self.stream.flush().await.is_ok()
    }
}
