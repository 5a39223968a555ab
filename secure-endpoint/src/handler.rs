//! The route gate: the trait only annotated handlers implement, and the proof type that
//! only the attributes' expansion produces.

use std::future::Future;
use std::pin::Pin;

use axum::response::Response;

use crate::policy::Policy;

/// The proof that a policy was declared by an attribute; see [`SecureHandler`].
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct Decision {
    _declared: (),
}

impl Decision {
    /// Named only by the attributes' expansion, through `secure_endpoint::__private`,
    /// which allows the warning: anywhere else it is a hand-written bypass of the route
    /// gate, whose declared policy nothing enforces, and the compiler says so.
    #[deprecated(
        note = "a hand-written `SecureHandler` declares a policy that nothing enforces; annotate the handler with `#[secure(...)]` or `#[public]` instead"
    )]
    pub const fn declared_by_attribute() -> Self {
        Decision { _declared: () }
    }
}

/// The future of a generated handler, boxed as axum's own handlers are.
#[doc(hidden)]
pub type HandlerFuture = Pin<Box<dyn Future<Output = Response> + Send>>;

/// A handler whose security policy was declared with `#[secure(...)]` or `#[public]`.
///
/// [`routing::get`](crate::routing::get) and its siblings accept only handlers that
/// implement this trait, so a route whose handler states no policy does not compile:
///
/// ```compile_fail
/// use secure_endpoint::routing::get;
///
/// async fn plain() -> &'static str { "who checks me?" }
///
/// let _ = get::<_, _, ()>(plain); // error: `plain` has no declared security policy
/// ```
///
/// The attributes implement it; there is nothing to implement by hand. The trait's
/// [`DECISION`](SecureHandler::DECISION) can only be given a value through the hidden
/// `secure_endpoint::__private` module, which no code outside the attributes' expansion
/// has a reason to name. A deliberate bypass therefore looks like this, and is easy to
/// find in review (search for `__private`):
///
/// ```text
/// impl secure_endpoint::SecureHandler for MyHandler {
///     const DECISION: secure_endpoint::__private::Decision = /* … */;
///     // …
/// }
/// ```
///
/// The supported way to serve an unchecked route is
/// [`SecureRouter::route_unchecked`](crate::SecureRouter::route_unchecked), which the
/// inventory lists as unchecked.
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no declared security policy",
    label = "this handler is not annotated with `#[secure(...)]` or `#[public]`",
    note = "add `#[secure(auth, ...)]` to the handler to require a verified caller, or `#[public]` if anyone may call it on purpose"
)]
pub trait SecureHandler: Clone + Send + Sync + 'static {
    /// The handler's name as written in the source.
    const NAME: &'static str;
    /// The policy its attribute declared.
    const POLICY: &'static Policy;
    /// Proof that the policy was declared by an attribute; see the trait docs.
    #[doc(hidden)]
    const DECISION: Decision;

    /// The principal types the handler's parameters take ([`Claims`](crate::Claims),
    /// [`Authenticated<P>`](crate::Authenticated)), checked against the route's
    /// authenticator when the router is built.
    #[doc(hidden)]
    fn requested_principals() -> Vec<(std::any::TypeId, &'static str)> {
        Vec::new()
    }

    /// The guarded fields of the handler's body and answer, for the inventory and the
    /// scanner.
    #[doc(hidden)]
    fn guarded_keys() -> Guards {
        Guards::default()
    }

    /// The JSON Schemas of the handler's body, query, path key and answer, where its
    /// types derive `schemars::JsonSchema` (feature `schemars`).
    #[doc(hidden)]
    fn schemas() -> crate::schema::Schemas {
        crate::schema::Schemas::default()
    }
}

/// The guarded fields a handler reads and answers with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Guards {
    /// Those of its `validate` body.
    pub body: &'static [crate::guard::GuardedKey],
    /// Those of its answer.
    pub response: &'static [crate::guard::GuardedKey],
}

/// Tells a principal parameter from any other, for
/// [`SecureHandler::requested_principals`]: `Probe::<T>::principal()` is the inherent
/// function for the principal extractors and [`NotAPrincipal`]'s for every other type.
#[doc(hidden)]
pub struct Probe<T: ?Sized>(std::marker::PhantomData<T>);

/// The answer for a parameter that takes no principal.
#[doc(hidden)]
pub trait NotAPrincipal {
    /// None.
    fn principal() -> Option<(std::any::TypeId, &'static str)> {
        None
    }
}

impl<T: ?Sized> NotAPrincipal for Probe<T> {}

impl Probe<crate::principal::Claims> {
    /// The default claims.
    pub fn principal() -> Option<(std::any::TypeId, &'static str)> {
        Some((
            std::any::TypeId::of::<crate::principal::Claims>(),
            std::any::type_name::<crate::principal::Claims>(),
        ))
    }
}

impl<P: crate::principal::Principal> Probe<crate::principal::Authenticated<P>> {
    /// The principal type `P`.
    pub fn principal() -> Option<(std::any::TypeId, &'static str)> {
        Some((std::any::TypeId::of::<P>(), std::any::type_name::<P>()))
    }
}

impl Probe<Option<crate::principal::Claims>> {
    /// The default claims, of an `optional_auth` handler.
    pub fn principal() -> Option<(std::any::TypeId, &'static str)> {
        Probe::<crate::principal::Claims>::principal()
    }
}

impl<P: crate::principal::Principal> Probe<Option<crate::principal::Authenticated<P>>> {
    /// The principal type `P`, of an `optional_auth` handler.
    pub fn principal() -> Option<(std::any::TypeId, &'static str)> {
        Probe::<crate::principal::Authenticated<P>>::principal()
    }
}

impl Guards {
    /// Neither its body nor its answer has guarded fields.
    pub fn is_empty(&self) -> bool {
        self.body.is_empty() && self.response.is_empty()
    }
}
