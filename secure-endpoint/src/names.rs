//! Role and scope names, declared so that a misspelled one cannot pass silently (DESIGN
//! §3): typed, as the variants of an enum deriving [`Role`](macro@crate::Role) or
//! [`Scope`](macro@crate::Scope), which rustc checks; or as strings declared once in the
//! settings ([`SecurityBuilder::roles`](crate::SecurityBuilder::roles)), which the router
//! checks when it is built.

use std::collections::BTreeSet;

use crate::policy::Policy;
use crate::setup_error::SetupError;

/// The roles a type's values name: implemented by `#[derive(secure_endpoint::Role)]`.
///
/// ```
/// use secure_endpoint::{RoleNames, secure};
///
/// #[derive(secure_endpoint::Role)]
/// enum Role {
///     Admin,
///     #[role(rename = "editor-in-chief")]
///     Chief,
/// }
///
/// assert_eq!(Role::NAMES, ["admin", "editor-in-chief"]);
/// assert_eq!(Role::Chief.name(), "editor-in-chief");
///
/// #[secure(auth, roles = [Role::Admin, Role::Chief])]
/// async fn publish() {}
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not name roles",
    label = "a typed role is a variant of an enum deriving `secure_endpoint::Role`",
    note = "derive it: `#[derive(secure_endpoint::Role)] enum {Self} {{ Admin, Editor }}`, or name the role by a string: `role = \"admin\"`"
)]
pub trait RoleNames {
    /// Every variant's name, in the variants' order.
    const NAMES: &'static [&'static str];

    /// This variant's name, as tokens carry it.
    fn name(&self) -> &'static str;
}

/// The scopes a type's values name: implemented by `#[derive(secure_endpoint::Scope)]`.
///
/// ```
/// use secure_endpoint::{ScopeNames, secure};
///
/// #[derive(secure_endpoint::Scope)]
/// enum Scope {
///     #[scope(rename = "posts:write")]
///     PostsWrite,
/// }
///
/// assert_eq!(Scope::PostsWrite.name(), "posts:write");
///
/// #[secure(auth, scope = Scope::PostsWrite)]
/// async fn write() {}
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not name scopes",
    label = "a typed scope is a variant of an enum deriving `secure_endpoint::Scope`",
    note = "derive it: `#[derive(secure_endpoint::Scope)] enum {Self} {{ ... }}`, or name the scope by a string: `scope = \"posts:write\"`"
)]
pub trait ScopeNames {
    /// Every variant's name, in the variants' order.
    const NAMES: &'static [&'static str];

    /// This variant's name, as tokens carry it.
    fn name(&self) -> &'static str;
}

/// The role and scope names the settings declare
/// ([`SecurityBuilder::roles`](crate::SecurityBuilder::roles) and
/// [`scopes`](crate::SecurityBuilder::scopes)); `None` where they declare none.
#[derive(Debug, Clone, Default)]
pub(crate) struct Declared {
    pub(crate) roles: Option<Vec<String>>,
    pub(crate) scopes: Option<Vec<String>>,
}

impl Declared {
    /// The names declared for `kind` (`"role"` or `"scope"`), when some are.
    pub(crate) fn of(&self, kind: &str) -> Option<&[String]> {
        match kind {
            "role" => self.roles.as_deref(),
            _ => self.scopes.as_deref(),
        }
    }
}

/// Checks one declared list: every name not empty and without spaces, none twice.
pub(crate) fn check_list(names: &[String]) -> Result<(), String> {
    for (index, name) in names.iter().enumerate() {
        if name.trim().is_empty() || name.chars().any(char::is_whitespace) {
            return Err(format!("{name:?}: a name is not empty and has no spaces"));
        }
        if names[..index].contains(name) {
            return Err(format!("{name:?} is declared twice"));
        }
    }
    Ok(())
}

/// The names the routes give as strings, checked against the declared ones as each route
/// is built; where none are declared, collected to be logged once.
pub(crate) struct NamesInUse<'a> {
    declared: Option<&'a Declared>,
    roles: BTreeSet<&'static str>,
    scopes: BTreeSet<&'static str>,
}

impl<'a> NamesInUse<'a> {
    pub(crate) fn new(declared: Option<&'a Declared>) -> Self {
        NamesInUse {
            declared,
            roles: BTreeSet::new(),
            scopes: BTreeSet::new(),
        }
    }

    /// Checks the names of the route `label`'s policy, and the roles of its guarded
    /// fields, against the declared ones.
    pub(crate) fn check(
        &mut self,
        policy: &Policy,
        guarded_roles: impl Iterator<Item = &'static str>,
        label: &str,
    ) -> Result<(), SetupError> {
        let guarded = guarded_roles.map(|role| ("role", role));
        for (kind, name) in policy.string_names().chain(guarded) {
            match self.declared.and_then(|declared| declared.of(kind)) {
                Some(declared) if !declared.iter().any(|known| known == name) => {
                    return Err(SetupError::UndeclaredName {
                        route: label.to_owned(),
                        kind,
                        name: name.to_owned(),
                        nearest: nearest(name, declared).map(str::to_owned),
                    });
                }
                Some(_) => {}
                None if kind == "role" => {
                    self.roles.insert(name);
                }
                None => {
                    self.scopes.insert(name);
                }
            }
        }
        Ok(())
    }

    /// Logs, once, the names routes give that no declaration covers, so that a
    /// misspelling shows beside the others.
    pub(crate) fn log_when_undeclared(&self) {
        if !self.roles.is_empty() {
            tracing::info!(
                target: "secure_endpoint",
                roles = ?self.roles,
                "the routes name these roles; declare them with `Security::builder().roles([...])` to have a misspelled one refused at start"
            );
        }
        if !self.scopes.is_empty() {
            tracing::info!(
                target: "secure_endpoint",
                scopes = ?self.scopes,
                "the routes name these scopes; declare them with `Security::builder().scopes([...])` to have a misspelled one refused at start"
            );
        }
    }
}

/// The declared name nearest to `name`, when one is near enough to be a likely misspelling
/// (at most a third of its letters apart).
pub(crate) fn nearest<'a>(name: &str, declared: &'a [String]) -> Option<&'a str> {
    declared
        .iter()
        .map(|candidate| (distance(name, candidate), candidate))
        .filter(|(d, candidate)| *d <= name.chars().count().max(candidate.chars().count()) / 3 + 1)
        .min_by_key(|(d, _)| *d)
        .map(|(_, candidate)| candidate.as_str())
}

/// Levenshtein distance over characters.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous + usize::from(ca != *cb);
            previous = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(previous + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::nearest;

    #[test]
    fn a_misspelling_finds_its_name_and_a_stranger_finds_none() {
        let declared = ["admin".to_owned(), "editor".to_owned()];
        assert_eq!(nearest("admn", &declared), Some("admin"));
        assert_eq!(nearest("Admin", &declared), Some("admin"));
        assert_eq!(nearest("editors", &declared), Some("editor"));
        assert_eq!(nearest("billing", &declared), None);
    }
}
