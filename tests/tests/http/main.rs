//! Integration tests over real HTTP: every server listens on 127.0.0.1:0.

mod app;
mod auth;
mod errors;
mod router;
