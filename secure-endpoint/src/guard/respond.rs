//! A handler's answer, turned into the response for its caller: serialized for that
//! caller when it holds guarded values, plainly otherwise; and the caller kept for the
//! answer when the request itself is consumed before it.

use std::cell::Cell;
use std::sync::Arc;

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use http::header::{CONTENT_TYPE, HeaderValue};
use serde::Serialize;

use super::{Guarded, GuardedKey, Viewer};
use crate::error::Error;
use crate::principal::AnyPrincipal;

/// The caller, kept for the answer of a handler whose last parameter consumes the
/// request (and with it the principal the request carried).
#[doc(hidden)]
pub struct Snapshot(Option<Arc<dyn AnyPrincipal>>);

impl Snapshot {
    pub(crate) fn new(principal: Option<Arc<dyn AnyPrincipal>>) -> Self {
        Snapshot(principal)
    }

    /// Nobody: the answer needs no caller.
    pub fn none() -> Self {
        Snapshot(None)
    }

    /// The caller it keeps.
    pub fn viewer(&self) -> Viewer<'_> {
        Viewer::of_principal(self.0.as_deref())
    }
}

/// Checked on a handler's return value: it must be a response.
#[doc(hidden)]
pub fn assert_response<R: IntoResponse>(_value: &R) {}

/// A response a handler returned that holds guarded values.
#[doc(hidden)]
pub trait GuardedResponse {
    /// The guarded keys of the values it holds.
    const KEYS: &'static [GuardedKey];

    fn into_response_for(self, viewer: &Viewer<'_>) -> Response;
}

impl<T: Guarded + Serialize> GuardedResponse for Json<T> {
    const KEYS: &'static [GuardedKey] = T::KEYS;

    fn into_response_for(self, viewer: &Viewer<'_>) -> Response {
        let mut body = Vec::with_capacity(128);
        match self
            .0
            .serialize_for(viewer, &mut serde_json::Serializer::new(&mut body))
        {
            Ok(()) => (
                [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
                body,
            )
                .into_response(),
            Err(error) => Error::from(error).into_response(),
        }
    }
}

impl<T: GuardedResponse> GuardedResponse for (StatusCode, T) {
    const KEYS: &'static [GuardedKey] = T::KEYS;

    fn into_response_for(self, viewer: &Viewer<'_>) -> Response {
        let mut response = self.1.into_response_for(viewer);
        *response.status_mut() = self.0;
        response
    }
}

/// An answer with headers of its own (`([(SET_COOKIE, cookie)], Json(value))`).
impl<K, V, T, const N: usize> GuardedResponse for ([(K, V); N], T)
where
    K: TryInto<http::HeaderName>,
    K::Error: std::fmt::Display,
    V: TryInto<http::HeaderValue>,
    V::Error: std::fmt::Display,
    T: GuardedResponse,
{
    const KEYS: &'static [GuardedKey] = T::KEYS;

    fn into_response_for(self, viewer: &Viewer<'_>) -> Response {
        (self.0, self.1.into_response_for(viewer)).into_response()
    }
}

/// A status and headers of its own.
impl<K, V, T, const N: usize> GuardedResponse for (StatusCode, [(K, V); N], T)
where
    K: TryInto<http::HeaderName>,
    K::Error: std::fmt::Display,
    V: TryInto<http::HeaderValue>,
    V::Error: std::fmt::Display,
    T: GuardedResponse,
{
    const KEYS: &'static [GuardedKey] = T::KEYS;

    fn into_response_for(self, viewer: &Viewer<'_>) -> Response {
        (self.0, self.1, self.2.into_response_for(viewer)).into_response()
    }
}

impl<T: GuardedResponse, E: IntoResponse> GuardedResponse for Result<T, E> {
    const KEYS: &'static [GuardedKey] = T::KEYS;

    fn into_response_for(self, viewer: &Viewer<'_>) -> Response {
        match self {
            Ok(value) => value.into_response_for(viewer),
            Err(error) => error.into_response(),
        }
    }
}

/// A handler's return value, turned into the response for its caller: through
/// [`GuardedResponse`] when it holds guarded values ([`RespondGuarded`]), plainly
/// otherwise ([`RespondPlain`]), chosen where the type is known.
#[doc(hidden)]
pub struct Respond<R>(Cell<Option<R>>);

impl<R> Respond<R> {
    pub fn new(value: R) -> Self {
        Respond(Cell::new(Some(value)))
    }

    fn take(&self) -> R {
        self.0.take().expect("a response is made once")
    }
}

#[doc(hidden)]
pub trait RespondGuarded {
    fn respond(&self, viewer: &Viewer<'_>) -> Response;
}

impl<R: GuardedResponse> RespondGuarded for Respond<R> {
    fn respond(&self, viewer: &Viewer<'_>) -> Response {
        self.take().into_response_for(viewer)
    }
}

#[doc(hidden)]
pub trait RespondPlain {
    fn respond(&self, viewer: &Viewer<'_>) -> Response;
}

impl<R: IntoResponse> RespondPlain for &Respond<R> {
    fn respond(&self, _viewer: &Viewer<'_>) -> Response {
        self.take().into_response()
    }
}
