//! A connection whose writes must make progress: a client that stops reading its answer
//! leaves the server's writes pending, and the answer held in memory, for as long as it
//! keeps the connection open. Here a write pending for longer than the deadline fails,
//! so the server drops the connection and what it held for it. The server (`serve.rs`)
//! chooses the deadline; reading is not this module's business (the header and body
//! timeouts bound that).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

pin_project_lite::pin_project! {
    /// `io`, whose writes fail once one stays pending past `deadline`.
    pub(crate) struct WriteDeadline<S> {
        #[pin]
        io: S,
        deadline: Duration,
        // Armed while a write waits, disarmed by any progress.
        stalled: Option<Pin<Box<tokio::time::Sleep>>>,
    }
}

impl<S> WriteDeadline<S> {
    pub(crate) fn new(io: S, deadline: Duration) -> Self {
        WriteDeadline {
            io,
            deadline,
            stalled: None,
        }
    }
}

/// The outcome of a write: progress disarms the deadline, waiting arms it, and a wait
/// past the deadline is an error.
fn judged<T>(
    outcome: Poll<io::Result<T>>,
    stalled: &mut Option<Pin<Box<tokio::time::Sleep>>>,
    deadline: Duration,
    cx: &mut Context<'_>,
) -> Poll<io::Result<T>> {
    match outcome {
        Poll::Ready(result) => {
            *stalled = None;
            Poll::Ready(result)
        }
        Poll::Pending => {
            let sleep = stalled.get_or_insert_with(|| Box::pin(tokio::time::sleep(deadline)));
            match sleep.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the client read nothing of its answer within the write timeout",
                ))),
                Poll::Pending => Poll::Pending,
            }
        }
    }
}

impl<S: AsyncRead> AsyncRead for WriteDeadline<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.project().io.poll_read(cx, buf)
    }
}

impl<S: AsyncWrite> AsyncWrite for WriteDeadline<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.project();
        let outcome = this.io.poll_write(cx, buf);
        judged(outcome, this.stalled, *this.deadline, cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.project();
        let outcome = this.io.poll_write_vectored(cx, bufs);
        judged(outcome, this.stalled, *this.deadline, cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.project();
        let outcome = this.io.poll_flush(cx);
        judged(outcome, this.stalled, *this.deadline, cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.project();
        let outcome = this.io.poll_shutdown(cx);
        judged(outcome, this.stalled, *this.deadline, cx)
    }
}
