//! What a handler parameter's type looks like, for the attributes' expansion: an
//! extractor, or a type only an attribute fills (a request body, a principal) written
//! bare. The second is a compile error on the parameter that names the mistake and its
//! fix, rather than axum's "`Handler<_, _>` is not satisfied" at the route.
//!
//! Decided by method resolution where the type is known: `(&&&&&Parameter::<T>::new())
//! .kind()` is found at the first of its levels whose bound the type meets (an extractor
//! of any state, then a principal, then a body), each level one reference fewer. A type meeting
//! none of them (an extractor of one particular state) is left to the handler's own
//! bounds. Not part of the API.

use std::marker::PhantomData;

use axum::extract::{FromRequest, FromRequestParts};
use serde::de::DeserializeOwned;

use crate::principal::Principal;

/// A parameter's type, probed.
#[doc(hidden)]
pub struct Parameter<T: ?Sized>(PhantomData<T>);

impl<T: ?Sized> Parameter<T> {
    pub fn new() -> Self {
        Parameter(PhantomData)
    }
}

impl<T: ?Sized> Default for Parameter<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// The type is an extractor (of any state), or nothing this probe can tell about.
#[doc(hidden)]
#[derive(Clone, Copy)]
pub struct Extracted;

/// The type reads like a request body: it deserializes, and is no extractor.
#[doc(hidden)]
#[derive(Clone, Copy)]
pub struct BareBody;

/// The type is a principal, taken bare rather than as `Authenticated<T>`.
#[doc(hidden)]
#[derive(Clone, Copy)]
pub struct BarePrincipal;

#[doc(hidden)]
pub trait ByParts {
    fn kind(&self) -> Extracted {
        Extracted
    }
}

impl<T: FromRequestParts<()>> ByParts for &&&&Parameter<T> {}

#[doc(hidden)]
pub trait ByRequest {
    fn kind(&self) -> Extracted {
        Extracted
    }
}

impl<T: FromRequest<()>> ByRequest for &&&Parameter<T> {}

#[doc(hidden)]
pub trait AsPrincipal {
    fn kind(&self) -> BarePrincipal {
        BarePrincipal
    }
}

impl<T: Principal> AsPrincipal for &&Parameter<T> {}

#[doc(hidden)]
pub trait AsBody {
    fn kind(&self) -> BareBody {
        BareBody
    }
}

impl<T: DeserializeOwned> AsBody for &Parameter<T> {}

#[doc(hidden)]
pub trait Unknown {
    fn kind(&self) -> Extracted {
        Extracted
    }
}

impl<T: ?Sized> Unknown for Parameter<T> {}

/// Met by every parameter kind but a bare body.
#[diagnostic::on_unimplemented(
    message = "`{T}` reads like a request body, but no attribute fills this parameter",
    label = "a body type taken bare: nothing reads it from the request",
    note = "declare it in the attribute, `validate = {T}`: the JSON body is then parsed into it, checked for undeclared fields and validated (400 otherwise); `validate_query = {T}` for the query string"
)]
pub trait NotABareBody<T: ?Sized> {}

impl<T: ?Sized> NotABareBody<T> for Extracted {}
impl<T: ?Sized> NotABareBody<T> for BarePrincipal {}

/// Met by every parameter kind but a bare principal.
#[diagnostic::on_unimplemented(
    message = "`{T}` is a principal type, taken bare: the handler receives the principal as `Authenticated<{T}>`",
    label = "a principal type taken bare",
    note = "write the parameter as `Authenticated(user): Authenticated<{T}>` (or take `Claims` with the default claims)"
)]
pub trait NotABarePrincipal<T: ?Sized> {}

impl<T: ?Sized> NotABarePrincipal<T> for Extracted {}
impl<T: ?Sized> NotABarePrincipal<T> for BareBody {}

/// The check the expansion calls on each extractor parameter of type `T`.
#[doc(hidden)]
pub fn assert_parameter<T: ?Sized, K: NotABareBody<T> + NotABarePrincipal<T>>(_kind: K) {}
