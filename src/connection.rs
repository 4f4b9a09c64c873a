//! The client's socket: block reads, and flushes of the reply buffer the session fills (gdbstub's
//! `Connection` is synchronous and WASI sockets are not, so replies are buffered and sent here).

use crate::rsp::ReplyBuffer;
use wstd::io::{AsyncRead, AsyncWrite};
use wstd::net::TcpStream;

pub struct Client {
    stream: TcpStream,
    inbox: Vec<u8>,
}

/// Socket read size: large enough that a connect's packets rarely need two reads.
const READ_BLOCK: usize = 64 * 1024;

impl Client {
    pub fn new(stream: TcpStream) -> Self {
        Client {
            stream,
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
    pub async fn flush(&mut self, replies: &ReplyBuffer) -> bool {
        let out = replies.take();
        if out.is_empty() {
            return true;
        }
        self.send_raw(&out).await
    }

    pub async fn send_raw(&mut self, bytes: &[u8]) -> bool {
        self.stream.write_all(bytes).await.is_ok() && self.stream.flush().await.is_ok()
    }
}
