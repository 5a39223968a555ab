//! The probes, one file per request step they attack; each is a method of the
//! scanner, which chooses the ones a route's policy calls for.

mod authentication;
mod browsers;
mod fields;
mod input;
mod limits;
mod ownership;
mod permissions;

pub(super) use permissions::{Recorder, Recording};
