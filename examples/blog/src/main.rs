//! `cargo run -p blog` serves the blog; `cargo run -p blog -- routes [--json|--openapi]`
//! prints every route with its policy (as a table, as JSON, or as the security part of an
//! OpenAPI 3.1 document).

use std::net::SocketAddr;
use std::process::ExitCode;

use blog::Config;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();

    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        None => serve().await,
        Some("routes") => {
            let inventory = blog::routes().inventory();
            if args.iter().any(|a| a == "--openapi") {
                println!("{:#}", inventory.openapi("blog", env!("CARGO_PKG_VERSION")));
            } else if args.iter().any(|a| a == "--json") {
                println!("{:#}", inventory.to_json());
            } else {
                print!("{inventory}");
            }
            ExitCode::SUCCESS
        }
        Some(other) => {
            eprintln!("unknown command {other:?}; usage: blog [routes [--json|--openapi]]");
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
    let (app, _state) = match blog::app(&config).await {
        Ok(app) => app,
        Err(error) => return fail(&error),
    };
    let service = match app.into_make_service_with_connect_info::<SocketAddr>() {
        Ok(service) => service,
        Err(error) => return fail(&error),
    };
    let listener = match tokio::net::TcpListener::bind(config.addr).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("error: cannot listen on BLOG_ADDR {}: {error}", config.addr);
            return ExitCode::FAILURE;
        }
    };
    let addr = listener.local_addr().unwrap_or(config.addr);
    println!("listening on http://{addr}");
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    match axum::serve(listener, service)
        .with_graceful_shutdown(shutdown)
        .await
    {
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
