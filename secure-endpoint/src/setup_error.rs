//! The one error of start-up: a setting that cannot work, or a route whose policy needs a
//! setting that was not given. Found when the settings or the router are built, never at
//! request time.

use std::fmt;

/// A setting that cannot work, found when the settings or the router are built — never
/// at request time.
///
/// Its `Debug` is its message, so that `fn main() -> Result<(), Box<dyn Error>>` ending
/// with one prints the sentence that names the setting, not the variant's fields.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SetupError {
    /// A route's policy needs a setting that was not given.
    Missing {
        /// `METHOD /path` of the route.
        route: String,
        /// What the route needs, e.g. "an authenticator".
        needs: &'static str,
    },
    /// An HMAC secret shorter than the algorithm's minimum.
    WeakSecret {
        /// The setting that holds the secret.
        setting: &'static str,
        /// Its length in bytes.
        len: usize,
        /// The minimum length in bytes.
        min: usize,
    },
    /// A route names an authenticator (`auth = "name"`) the settings do not have.
    UnknownAuthenticator {
        /// `METHOD /path` of the route.
        route: String,
        /// The name it gives.
        name: String,
    },
    /// A handler takes a principal of a type its route's authenticator does not produce:
    /// every request would be refused.
    PrincipalMismatch {
        /// `METHOD /path` of the route.
        route: String,
        /// The handler.
        handler: &'static str,
        /// The principal type the handler takes.
        wanted: &'static str,
        /// The principal type the authenticator produces.
        produced: &'static str,
    },
    /// A route names a role or scope (as a string) that the settings' declared names
    /// ([`SecurityBuilder::roles`](crate::SecurityBuilder::roles),
    /// [`scopes`](crate::SecurityBuilder::scopes)) do not list: a misspelling that would
    /// refuse everyone.
    UndeclaredName {
        /// `METHOD /path` of the route.
        route: String,
        /// `"role"` or `"scope"`.
        kind: &'static str,
        /// The name the route gives.
        name: String,
        /// The declared name nearest to it, when one is near.
        nearest: Option<String>,
    },
    /// A setting whose value cannot be used.
    InvalidSetting {
        /// The setting's name.
        setting: &'static str,
        /// Why.
        reason: String,
    },
}

impl fmt::Display for SetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetupError::Missing { route, needs } => write!(
                f,
                "route `{route}` requires {needs}, but the router's security settings have none: \
                 give one with `SecureRouter::with_security`"
            ),
            SetupError::WeakSecret { setting, len, min } => write!(
                f,
                "`{setting}` is {len} bytes long; an HMAC secret must be at least {min} bytes"
            ),
            SetupError::UnknownAuthenticator { route, name } => write!(
                f,
                "route `{route}` names the authenticator `{name}` (`auth = \"{name}\"`), but the security settings have none of that name: add it with `Security::builder().named_authenticator(\"{name}\", …)`"
            ),
            SetupError::PrincipalMismatch {
                route,
                handler,
                wanted,
                produced,
            } => write!(
                f,
                "handler `{handler}` of route `{route}` takes a principal of type `{wanted}`, but the route's authenticator produces `{produced}`: every request would be refused; take `Authenticated<{produced}>` (or give the authenticator `.claims::<…>()` of the type the handler takes)"
            ),
            SetupError::UndeclaredName {
                route,
                kind,
                name,
                nearest,
            } => {
                write!(
                    f,
                    "route `{route}` names the {kind} \"{name}\", which the security settings do not declare ({kind}s: `Security::builder().{kind}s([...])`)"
                )?;
                match nearest {
                    Some(nearest) => write!(f, ": did you mean \"{nearest}\"?"),
                    None => write!(f, ": declare it there, or correct the route's `{kind}`"),
                }
            }
            SetupError::InvalidSetting { setting, reason } => {
                write!(f, "invalid setting `{setting}`: {reason}")
            }
        }
    }
}

impl fmt::Debug for SetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for SetupError {}

impl SetupError {
    /// A key in `setting` that cannot be used: the one message of every key parser.
    pub(crate) fn bad_key(setting: &'static str, error: impl fmt::Display) -> SetupError {
        SetupError::InvalidSetting {
            setting,
            reason: format!("not a usable key: {error}"),
        }
    }
}
