//! Integration tests over real HTTP: every server listens on 127.0.0.1:0.

mod api_keys;
mod app;
mod attacks;
mod auth;
mod browser;
mod cluster;
mod discovery;
mod errors;
mod guarded_shapes;
mod hostile;
mod issuers;
mod jwks;
mod key_families;
mod limits;
mod multi_tenant;
mod newcomer;
mod owner;
mod rate;
mod review;
mod revocation;
mod roles;
mod router;
mod scan;
mod schema_agreement;
mod tenants;
mod validation;
