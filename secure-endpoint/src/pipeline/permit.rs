//! Step `can`: the permission engine asked whether the principal may take the action on
//! the loaded resource (`on = "post"`) or on the route itself. Denied is 403, or 404 when
//! the engine also denies `read` (a caller never learns of an object they may not see) or
//! the settings hide forbidden resources; an engine that does not answer is 503, a
//! question that cannot be put to it 500. The audit event names the action, the
//! resource's type and id and the policies that decided, never an attribute's value.
//!
//! On a list (`on = "posts[]"`) the engine is asked twice per request, whatever the
//! number of items: for its plan before the loader runs, then about every item the
//! loader returned, in one batch. An item it denies is the loader's bug: the request
//! fails closed (500), and nothing of the items is sent.

use axum::response::{IntoResponse, Response};

use super::Admitted;
use crate::audit::{self, Step};
use crate::handler::SecureHandler;
use crate::permission::{
    Decision, EngineError, Entity, ListQuestion, Object, PermissionEngine, Plan, Question, Subject,
};
use crate::rejection::Rejection;

/// The question `action` on `object` put for the caller of `admitted`.
fn question<'a>(
    admitted: &'a Admitted,
    route: &'a str,
    action: &'a str,
    object: Option<Object>,
) -> Question<'a> {
    Question {
        route,
        subject: subject(admitted),
        action,
        object,
    }
}

/// The caller of `admitted` as the engine sees it.
fn subject(admitted: &Admitted) -> Subject<'_> {
    match admitted.caller() {
        Some(principal) => Subject {
            id: principal.id(),
            roles: principal.roles(),
            tenant: principal.tenant(),
        },
        None => Subject {
            id: "",
            roles: Vec::new(),
            tenant: None,
        },
    }
}

/// What the audit log says of a question and its answer: never attribute values.
/// Written only when the event is logged.
struct Detail<'q>(&'q Question<'q>, Option<&'q Decision>);

impl std::fmt::Display for Detail<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Detail(question, decision) = self;
        write!(f, "action {:?} on ", question.action)?;
        match &question.object {
            Some(object) => write!(f, "{}::{:?}", object.kind, object.id)?,
            None => f.write_str("the route")?,
        }
        write!(f, " for {:?}", question.subject.id)?;
        if let Some(decision) = decision {
            write!(f, ", decided by {:?}", decision.reasons)?;
        }
        Ok(())
    }
}

impl std::fmt::Debug for Detail<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.to_string(), f)
    }
}

fn detail<'q>(question: &'q Question<'q>, decision: Option<&'q Decision>) -> Detail<'q> {
    Detail(question, decision)
}

fn engine_of(admitted: &Admitted) -> Result<(&dyn PermissionEngine, String), Rejection> {
    let route = admitted.audit_route();
    let Some(entry) = admitted.route() else {
        audit::deny(
            route,
            Step::Permit,
            "the route has no entry in a SecureRouter",
        );
        return Err(Rejection::Internal);
    };
    match entry.permissions() {
        Some(engine) => Ok((engine, route.method_and_path())),
        None => {
            audit::deny(route, Step::Permit, "no permission engine in the settings");
            Err(Rejection::Internal)
        }
    }
}

/// The refusal an engine's error earns, logged with what was asked.
fn refused(admitted: &Admitted, error: &EngineError, asked: &dyn std::fmt::Debug) -> Rejection {
    audit::deny_with(
        admitted.audit_route(),
        Step::Permit,
        &error.to_string(),
        asked,
    );
    match error {
        EngineError::Unavailable(_) | EngineError::Partial(_) => Rejection::Unavailable,
        EngineError::Question(_) => Rejection::Internal,
    }
}

/// The answer, or the refusal an engine that could not answer gets.
async fn ask(
    admitted: &Admitted,
    engine: &dyn PermissionEngine,
    question: &Question<'_>,
) -> Result<Decision, Rejection> {
    engine
        .decide(question)
        .await
        .map_err(|error| refused(admitted, &error, &detail(question, None)))
}

/// The loaded `resource` as the engine is asked about it.
pub fn object_of<R: Entity>(resource: &R) -> Object {
    Object {
        kind: R::TYPE,
        id: resource.entity_id(),
        attributes: resource.attributes(),
    }
}

/// The engine's answer to `asked`, logged: `Ok(true)` when it permits, `Ok(false)` when
/// it denies.
async fn decided(
    admitted: &Admitted,
    engine: &dyn PermissionEngine,
    asked: &Question<'_>,
) -> Result<bool, Response> {
    let decision = ask(admitted, engine, asked)
        .await
        .map_err(IntoResponse::into_response)?;
    let (log, reason): (fn(_, _, _, _), _) = if decision.allowed {
        (audit::allow_with, "the engine permits it")
    } else {
        (audit::deny_with, "the engine denies it")
    };
    log(
        admitted.audit_route(),
        Step::Permit,
        reason,
        &detail(asked, Some(&decision)),
    );
    Ok(decision.allowed)
}

/// `can = action, on = …`: the engine asked about the loaded resource, `object`.
pub async fn permit<H: SecureHandler>(
    admitted: &Admitted,
    action: &str,
    object: Object,
) -> Result<(), Response> {
    let (engine, route) = engine_of(admitted).map_err(IntoResponse::into_response)?;
    let asked = question(admitted, &route, action, Some(object));
    if decided(admitted, engine, &asked).await? {
        return Ok(());
    }
    // A caller who may not read the resource does not learn it exists.
    let hidden = if action == "read"
        || admitted
            .route()
            .is_some_and(|entry| entry.hides_forbidden())
    {
        true
    } else {
        let read = Question {
            action: "read",
            ..asked.clone()
        };
        !ask(admitted, engine, &read)
            .await
            .map_err(IntoResponse::into_response)?
            .allowed
    };
    Err(if hidden {
        Rejection::NotFound
    } else {
        Rejection::Forbidden
    }
    .into_response())
}

/// `can = action` without `on`: the engine asked about the route itself.
pub async fn permit_route<H: SecureHandler>(
    admitted: &Admitted,
    action: &str,
) -> Result<(), Response> {
    let (engine, route) = engine_of(admitted).map_err(IntoResponse::into_response)?;
    let asked = question(admitted, &route, action, None);
    if decided(admitted, engine, &asked).await? {
        Ok(())
    } else {
        Err(Rejection::Forbidden.into_response())
    }
}

/// `can = action, on = "items[]"`, before the loader: the engine's plan for the caller,
/// which the loader receives in its scope.
pub async fn list_plan<C: Entity, H: SecureHandler>(
    admitted: &Admitted,
    action: &str,
) -> Result<Plan, Response> {
    let (engine, route) = engine_of(admitted).map_err(IntoResponse::into_response)?;
    let asked = ListQuestion {
        route: &route,
        subject: subject(admitted),
        action,
        kind: C::TYPE,
    };
    let on = format!(
        "action {action:?} on every {} for {:?}",
        C::TYPE,
        asked.subject.id
    );
    engine
        .plan(&asked)
        .await
        .map_err(|error| refused(admitted, &error, &on).into_response())
}

/// `can = action, on = "items[]"`, after the loader: every item asked about in one
/// batch. An item the engine denies fails the request closed.
pub async fn permit_items<C: Entity, H: SecureHandler>(
    admitted: &Admitted,
    action: &str,
    items: &[C],
) -> Result<(), Response> {
    if items.is_empty() {
        return Ok(());
    }
    let (engine, route) = engine_of(admitted).map_err(IntoResponse::into_response)?;
    let questions: Vec<Question<'_>> = items
        .iter()
        .map(|item| question(admitted, &route, action, Some(object_of(item))))
        .collect();
    let on = format!(
        "action {action:?} on {} {} for {:?}",
        items.len(),
        C::TYPE,
        subject(admitted).id
    );
    let decisions = engine
        .decide_all(&questions)
        .await
        .map_err(|error| refused(admitted, &error, &on).into_response())?;
    if decisions.len() != questions.len() {
        let error = EngineError::Partial(format!(
            "{} decisions for {} items",
            decisions.len(),
            questions.len()
        ));
        return Err(refused(admitted, &error, &on).into_response());
    }
    if let Some((asked, decision)) = questions
        .iter()
        .zip(&decisions)
        .find(|(_, decision)| !decision.allowed)
    {
        tracing::error!(
            loader = std::any::type_name::<C>(),
            "a collection's loader returned an item the permission engine denies; the request fails closed"
        );
        audit::deny_with(
            admitted.audit_route(),
            Step::Permit,
            "the loader returned an item the engine denies",
            &detail(asked, Some(decision)),
        );
        return Err(Rejection::Internal.into_response());
    }
    audit::allow_with(
        admitted.audit_route(),
        Step::Permit,
        "the engine permits every item",
        &on,
    );
    Ok(())
}
