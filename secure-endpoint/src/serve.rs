//! Serving a [`SecureRouter`] over HTTP/1.1 with the timeouts a service on the open
//! internet needs, which `axum::serve` does not set: a connection that sends half a
//! request head, or trickles a body, is closed instead of held for ever.

use std::convert::Infallible;
use std::future::{Future, IntoFuture};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use http_body::Body as HttpBody;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower_service::Service;

use crate::body_timeout::Timed;
use crate::router::SecureRouter;
use crate::setup_error::SetupError;

/// How long a client may take to send a request head (default): also how long a
/// kept-alive connection may sit idle before its next request.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a client may take to send a request body, from its first byte (default).
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// Serves `app` on `listener`: the router is checked and built here (a route missing a
/// setting stops the program with the [`SetupError`] naming it), every request carries
/// the client's address (`ConnectInfo<SocketAddr>`), and the timeouts apply.
///
/// ```no_run
/// use secure_endpoint::routing::get;
/// use secure_endpoint::{SecureRouter, public};
///
/// #[public]
/// async fn health() -> &'static str { "ok" }
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let app: SecureRouter = SecureRouter::new().route("/health", get(health));
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// secure_endpoint::serve(listener, app)?
///     .header_timeout(std::time::Duration::from_secs(5))
///     .await?;
/// # Ok(())
/// # }
/// ```
///
/// The server speaks HTTP/1.1. A request hyper cannot parse (a malformed request line,
/// a head larger than its buffer, more than 100 headers) is answered by hyper itself,
/// before any router sees it: 400 or 431, with no body and none of the security
/// headers. Those answers carry nothing from the request either.
pub fn serve(listener: TcpListener, app: SecureRouter) -> Result<Serve, SetupError> {
    let router = app.build_for_serving()?;
    Ok(Serve {
        listener,
        router,
        header_timeout: DEFAULT_HEADER_TIMEOUT,
        body_timeout: DEFAULT_BODY_TIMEOUT,
        shutdown: Box::pin(std::future::pending()),
    })
}

/// The server [`serve`] returns; `.await` it to serve until the shutdown signal.
#[must_use = "a server does nothing until it is awaited"]
pub struct Serve {
    listener: TcpListener,
    router: Router,
    header_timeout: Duration,
    body_timeout: Duration,
    shutdown: Pin<Box<dyn Future<Output = ()> + Send>>,
}

impl std::fmt::Debug for Serve {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Serve")
            .field("listener", &self.listener)
            .field("header_timeout", &self.header_timeout)
            .field("body_timeout", &self.body_timeout)
            .finish_non_exhaustive()
    }
}

impl Serve {
    /// How long a client may take to send a request head, and a kept-alive connection
    /// may stay idle (default [`DEFAULT_HEADER_TIMEOUT`], 10 s).
    pub fn header_timeout(mut self, timeout: Duration) -> Self {
        self.header_timeout = timeout;
        self
    }

    /// How long a client may take to send a request body, from its first byte (default
    /// [`DEFAULT_BODY_TIMEOUT`], 30 s). A body still arriving then is cut off: a route
    /// reading it with `validate` answers `408 {"error":"Request timeout"}`.
    pub fn body_timeout(mut self, timeout: Duration) -> Self {
        self.body_timeout = timeout;
        self
    }

    /// Stops accepting connections when `signal` completes, lets the requests in flight
    /// finish, then returns.
    pub fn with_graceful_shutdown<F>(mut self, signal: F) -> Self
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.shutdown = Box::pin(signal);
        self
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    async fn run(mut self) -> io::Result<()> {
        let (stop, stopping) = watch::channel(());
        // Each connection holds a receiver; the server waits until all are dropped.
        let (all_done, done) = watch::channel(());
        loop {
            let (stream, remote) = tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    // Too many open files and the like: wait instead of spinning.
                    Err(error) if !is_connection_error(&error) => {
                        tracing::error!(%error, "accepting a connection failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                    Err(_) => continue,
                },
                () = &mut self.shutdown => break,
            };
            let _ = stream.set_nodelay(true);
            let connection = Connection {
                router: self.router.clone(),
                remote,
                body_timeout: self.body_timeout,
            };
            let header_timeout = self.header_timeout;
            let mut stopping = stopping.clone();
            let done = done.clone();
            tokio::spawn(async move {
                let mut builder = hyper::server::conn::http1::Builder::new();
                builder
                    .timer(TokioTimer::new())
                    .header_read_timeout(header_timeout);
                let served = builder
                    .serve_connection(TokioIo::new(stream), connection)
                    .with_upgrades();
                tokio::pin!(served);
                tokio::select! {
                    _ = served.as_mut() => {}
                    _ = stopping.changed() => {
                        served.as_mut().graceful_shutdown();
                        let _ = served.await;
                    }
                }
                drop(done);
            });
        }
        drop(self.listener);
        drop(stop);
        drop(done);
        all_done.closed().await;
        Ok(())
    }
}

impl IntoFuture for Serve {
    type Output = io::Result<()>;
    type IntoFuture = Pin<Box<dyn Future<Output = io::Result<()>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

fn is_connection_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// One connection's service: the router, with the client's address and the body
/// timeout given to each request.
#[derive(Clone)]
struct Connection {
    router: Router,
    remote: SocketAddr,
    body_timeout: Duration,
}

impl hyper::service::Service<http::Request<Incoming>> for Connection {
    type Response = axum::response::Response;
    type Error = Infallible;
    type Future = axum::routing::future::RouteFuture<Infallible>;

    fn call(&self, request: http::Request<Incoming>) -> Self::Future {
        let timeout = self.body_timeout;
        let mut request = request.map(|body| {
            if body.is_end_stream() {
                Body::new(body)
            } else {
                Body::new(Timed::new(body, timeout))
            }
        });
        request.extensions_mut().insert(ConnectInfo(self.remote));
        self.router.clone().call(request)
    }
}
