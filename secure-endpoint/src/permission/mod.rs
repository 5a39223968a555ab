//! Permissions on a policy engine (DESIGN §16): `#[secure(auth, can = "edit", on =
//! "post")]` asks an engine whether the principal may take the action on the loaded
//! resource. This module is what every engine answers to ([`PermissionEngine`]), what it
//! is asked ([`Question`]) and what a resource gives it ([`Entity`]); the engine built in
//! is `Cedar` (feature `cedar`, in process).
//!
//! Three questions are put to an engine: a decision on one loaded resource (`on =
//! "post"`) or on the route itself (`can` without `on`); the plan for a list (`on =
//! "posts[]"`: which items the caller may take the action on, as a [`Filter`] the
//! loader applies in its query); and the decisions on every item a list's loader
//! returned, in one batch.

#[cfg(feature = "authzen")]
mod authzen;
#[cfg(feature = "cedar")]
mod cedar;
#[cfg(feature = "cedar")]
mod compiled;
mod plan;

#[cfg(feature = "authzen")]
pub use authzen::AuthZen;
#[cfg(feature = "cedar")]
pub use cedar::Cedar;
pub use plan::{Columns, Dialect, Filter, Plan, SqlCondition, SqlError, SqlValue};

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use serde_json::{Map, Value};

use crate::setup_error::SetupError;

/// What a resource gives the permission engine: its type name, its id and its
/// attributes. Derived for the plain case, `#[derive(serde::Serialize,
/// secure_endpoint::Entity)]`: the type's name is the struct's (`#[entity(type = "…")]`
/// for another), the id is the field marked `#[entity(id)]` (or named `id`), the
/// attributes are the struct as serde serializes it. By hand otherwise:
///
/// ```
/// use secure_endpoint::Entity;
/// use serde_json::{Map, Value, json};
///
/// struct Post { id: i64, author: String, draft: bool, editors: Vec<String> }
///
/// impl Entity for Post {
///     const TYPE: &'static str = "Post";
///
///     fn entity_id(&self) -> String {
///         self.id.to_string()
///     }
///
///     fn attributes(&self) -> Map<String, Value> {
///         let mut attributes = Map::new();
///         attributes.insert("author".into(), json!(self.author));
///         attributes.insert("draft".into(), json!(self.draft));
///         attributes.insert("editors".into(), json!(self.editors));
///         attributes
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not say what a permission engine needs of it",
    label = "the resource `on` names must implement `secure_endpoint::Entity`",
    note = "implement `secure_endpoint::Entity` for `{Self}`: its type name as the engine's schema names it, its id, and its attributes"
)]
pub trait Entity {
    /// The type's name in the engine's schema, e.g. `"Post"`.
    const TYPE: &'static str;

    /// This resource's id.
    fn entity_id(&self) -> String;

    /// The attributes the engine's policies read (`resource.author`, `resource.draft`):
    /// strings, booleans, whole numbers, lists and objects of them. A value the engine
    /// cannot represent (a fraction) makes the request a 500, logged with the field's
    /// name, never a half-built question.
    fn attributes(&self) -> Map<String, Value>;
}

/// The attributes of a derived [`Entity`]: `value` as serde serializes it, when that is
/// an object; none otherwise.
#[doc(hidden)]
pub fn entity_attributes<T: serde::Serialize + ?Sized>(value: &T) -> Map<String, Value> {
    match serde_json::to_value(value) {
        Ok(Value::Object(attributes)) => attributes,
        Ok(_) => Map::new(),
        Err(error) => {
            tracing::error!(%error, "an entity's attributes could not be serialized");
            Map::new()
        }
    }
}

/// Who asks: the principal as the engine sees it. An anonymous caller (on a
/// `#[public(optional_auth, can = …)]` route) has the empty id and no roles.
#[derive(Debug, Clone)]
pub struct Subject<'a> {
    /// The principal's id; empty for an anonymous caller.
    pub id: &'a str,
    /// Its roles.
    pub roles: Vec<&'a str>,
    /// Its tenant, when it has one.
    pub tenant: Option<&'a str>,
}

/// What is asked about: a resource's type, id and attributes.
#[derive(Debug, Clone)]
pub struct Object {
    /// The type's name ([`Entity::TYPE`]).
    pub kind: &'static str,
    /// The id.
    pub id: String,
    /// The attributes.
    pub attributes: Map<String, Value>,
}

/// One question: may `subject` take `action` on `object` (or, without one, on the
/// route itself)?
#[derive(Debug, Clone)]
pub struct Question<'a> {
    /// The route asked on, `METHOD /path`.
    pub route: &'a str,
    /// Who asks.
    pub subject: Subject<'a>,
    /// The action, as `can` names it.
    pub action: &'a str,
    /// The resource, or `None` for the route itself.
    pub object: Option<Object>,
}

/// A list's question: which items of the type `kind` may `subject` take `action` on?
#[derive(Debug, Clone)]
pub struct ListQuestion<'a> {
    /// The route asked on, `METHOD /path`.
    pub route: &'a str,
    /// Who asks.
    pub subject: Subject<'a>,
    /// The action, as `can` names it.
    pub action: &'a str,
    /// The items' type name ([`Entity::TYPE`]).
    pub kind: &'static str,
}

/// The engine's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Whether the action is permitted.
    pub allowed: bool,
    /// The ids of the policies that decided it, for the audit log.
    pub reasons: Vec<String>,
}

/// Why an engine could not answer: the request is then refused (503 when the engine is
/// unreachable, 500 when the question could not be put), never admitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineError {
    /// The engine did not answer in time, or not at all.
    Unavailable(String),
    /// The question cannot be put to the engine (an attribute it cannot represent, a
    /// type or action its schema lacks), or its answer cannot be read (a plan with a
    /// condition no [`Filter`] can state).
    Question(String),
    /// The engine answered part of what it was asked (fewer decisions than questions, a
    /// truncated plan): never taken as a shorter answer.
    Partial(String),
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EngineError::Unavailable(why) => {
                write!(f, "the permission engine did not answer: {why}")
            }
            EngineError::Question(why) => write!(
                f,
                "the question cannot be put to the permission engine: {why}"
            ),
            EngineError::Partial(why) => {
                write!(f, "the permission engine answered in part: {why}")
            }
        }
    }
}

impl std::error::Error for EngineError {}

/// The future an engine's [`decide`](PermissionEngine::decide) returns.
pub type DecisionFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Decision, EngineError>> + Send + 'a>>;

/// The future an engine's [`decide_all`](PermissionEngine::decide_all) returns.
pub type DecisionsFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Vec<Decision>, EngineError>> + Send + 'a>>;

/// The future an engine's [`plan`](PermissionEngine::plan) returns.
pub type PlanFuture<'a> = Pin<Box<dyn Future<Output = Result<Plan, EngineError>> + Send + 'a>>;

/// A permission engine: `Cedar` in process (feature `cedar`), a remote AuthZEN decision
/// point, or an application's own.
pub trait PermissionEngine: Send + Sync + 'static {
    /// Answers one question.
    fn decide<'a>(&'a self, question: &'a Question<'a>) -> DecisionFuture<'a>;

    /// Answers every question, in order: one decision per question. An engine that can
    /// answer a batch in one call does; the default asks one at a time. Fewer or more
    /// decisions than questions is refused by the caller as a partial answer.
    fn decide_all<'a>(&'a self, questions: &'a [Question<'a>]) -> DecisionsFuture<'a> {
        Box::pin(async move {
            let mut decisions = Vec::with_capacity(questions.len());
            for question in questions {
                decisions.push(self.decide(question).await?);
            }
            Ok(decisions)
        })
    }

    /// The plan for a list: which items of `question.kind` the subject may take the
    /// action on. An engine without plans answers [`EngineError::Question`], and a list
    /// route on it is refused (500), never served unfiltered.
    fn plan<'a>(&'a self, question: &'a ListQuestion<'a>) -> PlanFuture<'a> {
        let _ = question;
        Box::pin(async {
            Err(EngineError::Question(
                "this permission engine gives no plans for lists".to_owned(),
            ))
        })
    }

    /// Whether the engine knows the action `action` on the resource type `on` (`None`:
    /// the route itself), for the startup check of every route's `can`. `Err` says why
    /// not, with the nearest known name where there is one.
    fn knows(&self, action: &str, on: Option<&str>) -> Result<(), String> {
        let _ = (action, on);
        Ok(())
    }

    /// What the security lock records of the engine: its kind and a digest of its
    /// policies, so that a change to them shows in review.
    fn describe(&self) -> String {
        "custom".to_owned()
    }
}

/// The permission engine of a router's settings
/// ([`SecurityBuilder::permissions`](crate::SecurityBuilder::permissions)).
pub(crate) type Engine = std::sync::Arc<dyn PermissionEngine>;

/// Checks that every `(action, on)` of `routes` is known to `engine`.
pub(crate) fn check_route(
    engine: &dyn PermissionEngine,
    route: &str,
    action: &str,
    on: Option<&str>,
) -> Result<(), SetupError> {
    engine
        .knows(action, on)
        .map_err(|why| SetupError::InvalidSetting {
            setting: "permissions",
            reason: format!(
                "route `{route}` asks `can = \"{action}\"`{}: {why}",
                match on {
                    Some(on) => format!(" on `{on}`"),
                    None => String::new(),
                }
            ),
        })
}
