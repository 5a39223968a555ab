//! The authenticated caller: the trait the application's claims implement, the ready
//! [`Claims`], and the principal as the policy steps see it. Handing it to a handler (the
//! extractors) is `extractors.rs`'s business.

use serde::{Deserialize, Serialize};

/// The verified caller of an `auth` route, as produced by an
/// [`Authenticator`](crate::Authenticator).
///
/// Implement it for your own claims type to use it with
/// [`JwtAuthenticator`](crate::JwtAuthenticator); [`Claims`] is a ready one.
///
/// ```
/// use secure_endpoint::Principal;
///
/// #[derive(Clone, serde::Deserialize)]
/// struct Staff { sub: String, groups: Vec<String> }
///
/// impl Principal for Staff {
///     fn id(&self) -> &str { &self.sub }
///     fn has_role(&self, role: &str) -> bool { self.groups.iter().any(|g| g == role) }
/// }
/// ```
pub trait Principal: Clone + Send + Sync + 'static {
    /// The caller's id (a JWT's `sub`).
    fn id(&self) -> &str;

    /// Whether the caller holds `role` (checked by `role`/`roles`).
    fn has_role(&self, role: &str) -> bool;

    /// Whether the caller was granted OAuth scope `scope` (checked by `scope`/`scopes`).
    /// None by default.
    fn has_scope(&self, scope: &str) -> bool {
        let _ = scope;
        false
    }

    /// The caller's tenant (an organisation, a workspace), checked by `tenant = "…"`.
    /// None by default: a principal without one is refused (403) on tenant routes. To
    /// require the claim of every token, make it a plain field of the claims type
    /// (`org: String`, not `Option<String>`): a token without it then does not make a
    /// principal, and is 401 on every route.
    fn tenant(&self) -> Option<&str> {
        None
    }

    /// Every role the caller holds, for a permission engine's policies
    /// (`principal.roles`). None by default; [`Claims`] gives its `roles`.
    fn roles(&self) -> Vec<&str> {
        Vec::new()
    }
}

/// A principal seen through the questions the policy steps ask of it, whatever its type:
/// what the router holds while the concrete type is known only to its authenticator.
pub(crate) trait AnyPrincipal: Send + Sync {
    fn id(&self) -> &str;
    fn has_role(&self, role: &str) -> bool;
    fn has_scope(&self, scope: &str) -> bool;
    fn tenant(&self) -> Option<&str>;
    fn roles(&self) -> Vec<&str>;
    /// The principal as its own type, for the extractor that hands it to a handler.
    fn as_any(&self) -> &dyn std::any::Any;
}

impl<P: Principal> AnyPrincipal for P {
    fn id(&self) -> &str {
        Principal::id(self)
    }

    fn has_role(&self, role: &str) -> bool {
        Principal::has_role(self, role)
    }

    fn has_scope(&self, scope: &str) -> bool {
        Principal::has_scope(self, scope)
    }

    fn tenant(&self) -> Option<&str> {
        Principal::tenant(self)
    }

    fn roles(&self) -> Vec<&str> {
        Principal::roles(self)
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// The default claims: `sub`, `roles` (an array of strings) and the OAuth `scope`
/// (space-separated). Other claims in the token are ignored.
///
/// Handlers of `auth` routes receive it by declaring a parameter of this type:
///
/// ```
/// use secure_endpoint::{Claims, secure};
///
/// #[secure(auth)]
/// async fn me(claims: Claims) -> String {
///     claims.sub
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The subject: the caller's id.
    pub sub: String,
    /// The caller's roles.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Granted scopes, space-separated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Expiry, seconds since the Unix epoch (required and checked by the verifier).
    pub exp: u64,
}

impl Principal for Claims {
    fn id(&self) -> &str {
        &self.sub
    }

    fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }

    fn roles(&self) -> Vec<&str> {
        self.roles.iter().map(String::as_str).collect()
    }

    fn has_scope(&self, scope: &str) -> bool {
        self.scope
            .as_deref()
            .is_some_and(|granted| granted.split(' ').any(|s| s == scope))
    }
}

/// Extracts the verified principal of type `P` for a handler whose principal type is
/// not [`Claims`].
///
/// The principal is there only on `auth` routes; elsewhere the extractor refuses with 401.
///
/// ```
/// use secure_endpoint::{Authenticated, Claims, secure};
///
/// #[secure(auth)]
/// async fn me(Authenticated(claims): Authenticated<Claims>) -> String {
///     claims.sub
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Authenticated<P>(pub P);
