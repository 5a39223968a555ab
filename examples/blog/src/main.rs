//! `cargo run -p blog` serves the blog; `cargo run -p blog -- routes [--json|--openapi|
//! --matrix [--html]]` prints every route with its policy (as a table, as JSON, as the
//! security part of an OpenAPI 3.1 document, or as who may call what: a Markdown table or
//! a standalone HTML page).

use std::process::ExitCode;

use blog::Config;
use tracing_subscriber::EnvFilter;

/// glibc serves a large allocation from a memory map and returns it when freed, until
/// one is freed: it then raises that threshold to the freed size and keeps later ones
/// in its per-thread arenas. Password hashing allocates 19 MiB per hash, so under a burst
/// of logins the resident memory would grow to hundreds of MiB of freed blocks. A fixed
/// threshold keeps each hash's memory mapped for the hash only.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn return_large_blocks_to_the_system() {
    // SAFETY: `mallopt` only sets a tuning parameter of the allocator; it is called
    // before any other thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn return_large_blocks_to_the_system() {}

fn main() -> ExitCode {
    return_large_blocks_to_the_system();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("the tokio runtime starts")
        .block_on(run())
}

async fn run() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    match args.first().map(String::as_str) {
        None => {
            tracing_subscriber::fmt().with_env_filter(filter).init();
            serve().await
        }
        Some("routes") => {
            // What is printed is the document; what is logged goes to stderr.
            tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_writer(std::io::stderr)
                .init();
            // The blog as it runs (the session cookie and its CSRF answers, CORS), from
            // the description of its settings: no secret, database or Redis is needed.
            let config = match Config::from_env() {
                Ok(config) => config,
                Err(error) => return fail(&error),
            };
            let inventory = match blog::description(&config) {
                Ok(described) => blog::routes().inventory_with(&described),
                Err(error) => return fail(&error),
            };
            if args.iter().any(|a| a == "--matrix") {
                let matrix = inventory.matrix();
                if args.iter().any(|a| a == "--html") {
                    print!("{}", matrix.to_html("blog"));
                } else {
                    print!("{}", matrix.to_markdown());
                }
            } else if args.iter().any(|a| a == "--openapi") {
                println!("{:#}", inventory.openapi("blog", env!("CARGO_PKG_VERSION")));
            } else if args.iter().any(|a| a == "--json") {
                println!("{:#}", inventory.to_json());
            } else {
                print!("{inventory}");
            }
            ExitCode::SUCCESS
        }
        Some(other) => {
            eprintln!(
                "unknown command {other:?}; usage: blog [routes [--json|--openapi|--matrix [--html]]]"
            );
            ExitCode::from(2)
        }
    }
}

async fn serve() -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => return fail(&error),
    };
    if config.jwt_secret_generated {
        tracing::warn!(
            "JWT_SECRET is unset: using a random secret; tokens will not survive a restart"
        );
    }
    for warning in config.warnings() {
        tracing::warn!("{warning}");
    }
    // Before the router is built: its routes' counters are registered with the recorder.
    if let Some(addr) = config.metrics_addr {
        match blog::serve_metrics(addr).await {
            Ok(bound) => println!("metrics on http://{bound}/metrics"),
            Err(error) => return fail(&error),
        }
    }
    let (app, _state) = match blog::app(&config).await {
        Ok(app) => app,
        Err(error) => return fail(&error),
    };
    let listener = match tokio::net::TcpListener::bind(config.addr).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("error: cannot listen on BLOG_ADDR {}: {error}", config.addr);
            return ExitCode::FAILURE;
        }
    };
    // The one place a misconfigured route stops the blog: building it to serve.
    let server = match secure_endpoint::serve(listener, app) {
        Ok(server) => server,
        Err(error) => return fail(&error),
    };
    let addr = server.local_addr().unwrap_or(config.addr);
    println!("listening on http://{addr}");
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    // 10 s to send a request head (and for an idle connection), 30 s to send a body,
    // 30 s for a write of an answer the client reads nothing of; at most 4096
    // connections at once, 64 from one address (secure_endpoint's defaults, set here so
    // that they show where the service is started). Behind trusted proxies every
    // connection comes from a proxy: the per-address cap is then the proxies' own.
    let per_address = if config.trusted_proxies.is_empty() {
        secure_endpoint::DEFAULT_MAX_CONNECTIONS_PER_ADDRESS
    } else {
        secure_endpoint::DEFAULT_MAX_CONNECTIONS
    };
    let server = server
        .header_timeout(secure_endpoint::DEFAULT_HEADER_TIMEOUT)
        .body_timeout(secure_endpoint::DEFAULT_BODY_TIMEOUT)
        .write_timeout(secure_endpoint::DEFAULT_WRITE_TIMEOUT)
        .max_connections(secure_endpoint::DEFAULT_MAX_CONNECTIONS)
        .max_connections_per_address(per_address);
    match server.with_graceful_shutdown(shutdown).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: server stopped: {error}");
            ExitCode::FAILURE
        }
    }
}

fn fail(error: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("error: {error}");
    ExitCode::FAILURE
}
