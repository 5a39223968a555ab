//! What the scanner needs to know that the router cannot tell it: how to sign tokens,
//! concrete paths for patterns, owners, tenants and guarded types.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use crate::guard::GuardedKey;
use crate::rejection::ErrorBody;
use crate::testing::TokenMint;

/// What the scanner needs to know that the router cannot tell it.
///
/// ```
/// use secure_endpoint::testing::{ScanSettings, TokenMint};
/// use jsonwebtoken::Algorithm;
///
/// let settings = ScanSettings::new()
///     .mint(TokenMint::hmac(Algorithm::HS256, [7u8; 32]).issuer("blog").audience("blog"))
///     .path("/posts/{id}", "/posts/1")
///     .owner("/posts/{id}", "1");
/// ```
#[derive(Clone, Default)]
pub struct ScanSettings {
    pub(super) mint: Option<TokenMint>,
    pub(super) paths: BTreeMap<String, String>,
    pub(super) owners: BTreeMap<String, String>,
    pub(super) outside: Vec<String>,
    pub(super) error_body: Option<Arc<dyn ErrorBody>>,
    pub(super) tenant_claim: Option<String>,
    pub(super) tenants: BTreeMap<String, String>,
    pub(super) guarded: Vec<GuardedKey>,
    pub(super) intruder: Option<String>,
    pub(super) principal: Option<String>,
}

impl fmt::Debug for ScanSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScanSettings")
            .field("mint", &self.mint.is_some())
            .field("paths", &self.paths)
            .field("owners", &self.owners)
            .field("outside", &self.outside)
            .finish()
    }
}

impl ScanSettings {
    /// Nothing known: routes with path parameters are probed with `1` for each.
    pub fn new() -> Self {
        Self::default()
    }

    /// Mints tokens the router accepts: needed for the cases past authentication (a
    /// missing role, another principal's resource, bodies, limits on `auth` routes).
    pub fn mint(mut self, mint: TokenMint) -> Self {
        self.mint = Some(mint);
        self
    }

    /// The concrete path to probe for a route pattern (`/posts/{id}` → `/posts/1`).
    pub fn path(mut self, pattern: &str, concrete: &str) -> Self {
        self.paths.insert(pattern.to_owned(), concrete.to_owned());
        self
    }

    /// A path the served application answers outside the inventory (added to the
    /// `axum::Router` after [`SecureRouter::into_router`](crate::SecureRouter::into_router), say):
    /// [`scan_router`](crate::testing::scan_router) sends it
    /// a GET and checks the security headers and that a 5xx carries no detail.
    pub fn outside_the_inventory(mut self, path: &str) -> Self {
        self.outside.push(path.to_owned());
        self
    }

    /// The application's own error body, for [`scan_router`](crate::testing::scan_router)
    /// (which cannot read it from the settings; [`scan`](crate::testing::scan) does): refusals and the 500 are then checked against it.
    pub fn error_body<E: ErrorBody>(mut self, writer: E) -> Self {
        self.error_body = Some(Arc::new(writer));
        self
    }

    /// The claim that carries the principal's tenant in the minted tokens (`"org"`), for
    /// the tenant cases.
    pub fn tenant_claim(mut self, claim: &str) -> Self {
        self.tenant_claim = Some(claim.to_owned());
        self
    }

    /// For a `tenant` route: the tenant that owns the resource at its concrete path (or
    /// the items of the list). A principal of another tenant must get 404 (or none of
    /// them).
    pub fn tenant(mut self, pattern: &str, tenant: &str) -> Self {
        self.tenants.insert(pattern.to_owned(), tenant.to_owned());
        self
    }

    /// The guarded fields of `T`, checked in every answer of every route: a type the
    /// router does not name (one a handler serializes some other way) is found this way.
    /// The fields of the routes' own bodies and answers are checked without it.
    pub fn guarded<T: crate::guard::Guarded>(mut self) -> Self {
        self.guarded.extend_from_slice(T::KEYS);
        self
    }

    /// The id of a principal the service serves (an existing account), for the tokens
    /// the scanner signs to get past authentication: bodies, limits, lists. Without it
    /// the scanner invents ids (`scan-author`, …), which a service with a
    /// [`principal_check`](crate::SecurityBuilder::principal_check) refuses.
    pub fn principal(mut self, id: &str) -> Self {
        self.principal = Some(id.to_owned());
        self
    }

    /// The id of the second principal the scanner signs tokens for, one that owns
    /// nothing: `scan-intruder` unless given. Give one of the shape the service's ids
    /// have (a number, for a service whose ids are numbers), or its loaders refuse the
    /// id before they show what they would have let through.
    pub fn intruder(mut self, id: &str) -> Self {
        self.intruder = Some(id.to_owned());
        self
    }

    /// For an `owner` route: the principal id that owns the resource at its concrete
    /// path. Another principal is then refused (403, or 404 when existence is hidden).
    pub fn owner(mut self, pattern: &str, owner_id: &str) -> Self {
        self.owners.insert(pattern.to_owned(), owner_id.to_owned());
        self
    }
}
