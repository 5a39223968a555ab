//! Serving a [`SecureRouter`] over HTTP/1.1 with the timeouts and bounds a service on
//! the open internet needs, which `axum::serve` does not set: a connection that sends
//! half a request head, trickles a body, or stops reading its answer is closed instead
//! of held for ever, and the connections held at once are bounded, in all and per client
//! address.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::{Future, IntoFuture};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
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
use crate::write_deadline::WriteDeadline;

/// How long a client may take to send a request head (default): also how long a
/// kept-alive connection may sit idle before its next request.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a client may take to send a request body, from its first byte (default).
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a write of the answer may wait on a client that reads nothing (default).
pub const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// The most connections served at once (default): more are closed as they arrive.
pub const DEFAULT_MAX_CONNECTIONS: usize = 4096;

/// The most connections one client address (IPv6 by /64) holds at once (default).
pub const DEFAULT_MAX_CONNECTIONS_PER_ADDRESS: usize = 64;

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
        write_timeout: DEFAULT_WRITE_TIMEOUT,
        max_connections: DEFAULT_MAX_CONNECTIONS,
        max_per_address: DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
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
    write_timeout: Duration,
    max_connections: usize,
    max_per_address: usize,
    shutdown: Pin<Box<dyn Future<Output = ()> + Send>>,
}

impl std::fmt::Debug for Serve {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Serve")
            .field("listener", &self.listener)
            .field("header_timeout", &self.header_timeout)
            .field("body_timeout", &self.body_timeout)
            .field("write_timeout", &self.write_timeout)
            .field("max_connections", &self.max_connections)
            .field("max_per_address", &self.max_per_address)
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

    /// How long a write of an answer may wait on a client that reads nothing (default
    /// [`DEFAULT_WRITE_TIMEOUT`], 30 s): past it the connection is closed, and the answer
    /// it held is dropped. A client reading slowly but steadily is served.
    pub fn write_timeout(mut self, timeout: Duration) -> Self {
        self.write_timeout = timeout;
        self
    }

    /// The most connections served at once (default [`DEFAULT_MAX_CONNECTIONS`], 4096);
    /// a connection beyond it is closed as it arrives, before anything is read.
    pub fn max_connections(mut self, connections: usize) -> Self {
        self.max_connections = connections;
        self
    }

    /// The most connections one client address holds at once (default
    /// [`DEFAULT_MAX_CONNECTIONS_PER_ADDRESS`], 64; IPv6 addresses by /64), so that one
    /// client cannot take every connection. The address is the peer's: behind a proxy,
    /// the proxy's own cap decides.
    pub fn max_connections_per_address(mut self, connections: usize) -> Self {
        self.max_per_address = connections;
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
        let held = Arc::new(Held::default());
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
            let Some(slot) = held.take(remote.ip(), self.max_connections, self.max_per_address)
            else {
                // Closed before anything is read: the client may retry elsewhere or later.
                tracing::debug!(%remote, "a connection over the cap was closed");
                continue;
            };
            let _ = stream.set_nodelay(true);
            let stream = WriteDeadline::new(stream, self.write_timeout);
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
                drop(slot);
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

/// The connections held now, in all and per client address.
#[derive(Default)]
struct Held {
    all: AtomicUsize,
    by_address: Mutex<HashMap<IpAddr, usize>>,
}

/// One held connection, given back when dropped.
struct Slot {
    held: Arc<Held>,
    address: IpAddr,
}

impl Held {
    /// A slot for a connection from `ip`, unless a cap is reached.
    fn take(self: &Arc<Self>, ip: IpAddr, max: usize, per_address: usize) -> Option<Slot> {
        let address = crate::client_addr::limit_key(ip);
        let mut by_address = self.by_address.lock().expect("connections held");
        let from_here = by_address.get(&address).copied().unwrap_or(0);
        if self.all.load(Ordering::Relaxed) >= max || from_here >= per_address {
            return None;
        }
        self.all.fetch_add(1, Ordering::Relaxed);
        by_address.insert(address, from_here + 1);
        Some(Slot {
            held: Arc::clone(self),
            address,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.held.all.fetch_sub(1, Ordering::Relaxed);
        let mut by_address = self.held.by_address.lock().expect("connections held");
        if let Some(count) = by_address.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                by_address.remove(&self.address);
            }
        }
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
