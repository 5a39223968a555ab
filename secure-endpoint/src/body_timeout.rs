//! A request body with a deadline: the timed body the server (`serve.rs`) gives every request
//! that has one, and the error it fails with when the client trickles. The input step
//! recognises that error (408) without knowing the server; choosing the timeout is the
//! server's business, not this module's.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use hyper::body::Incoming;

/// The body could not be read within the body timeout.
#[derive(Debug)]
pub(crate) struct BodyTimedOut;

impl std::fmt::Display for BodyTimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the request body was not received within the body timeout")
    }
}

impl std::error::Error for BodyTimedOut {}

impl BodyTimedOut {
    /// Whether `error` is, at any depth of its sources, the body's timeout.
    pub(crate) fn caused(error: &(dyn std::error::Error + 'static)) -> bool {
        let mut at = Some(error);
        while let Some(error) = at {
            if error.is::<BodyTimedOut>() {
                return true;
            }
            at = error.source();
        }
        false
    }
}

pin_project_lite::pin_project! {
    /// A request body that fails once its time is up, the clock started at its first
    /// poll (when someone reads it).
    pub(crate) struct Timed {
        #[pin]
        body: Incoming,
        timeout: Duration,
        deadline: Option<Pin<Box<tokio::time::Sleep>>>,
    }
}

impl Timed {
    /// `body`, failing once `timeout` has passed since it was first read.
    pub(crate) fn new(body: Incoming, timeout: Duration) -> Timed {
        Timed {
            body,
            timeout,
            deadline: None,
        }
    }
}

impl HttpBody for Timed {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.project();
        if let Poll::Ready(frame) = this.body.poll_frame(cx) {
            return Poll::Ready(frame.map(|frame| frame.map_err(Into::into)));
        }
        let deadline = this
            .deadline
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(*this.timeout)));
        match deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(BodyTimedOut)))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
