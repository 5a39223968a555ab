//! A remote decision point (feature `authzen`): decisions through the OpenID AuthZEN
//! Authorization API 1.0 (`/access/v1/evaluation`, `/access/v1/evaluations`), list plans
//! through Cerbos's `PlanResources` (`/api/plan/resources`), since Cerbos does not serve
//! AuthZEN's search.
//!
//! This module is the HTTP client and the translation of the decision point's JSON into
//! our [`Decision`] and [`Plan`]; the AuthZEN and Cerbos shapes stay here. It is not
//! where the answer is acted on (the permit step is), nor where the policies live: those
//! are the decision point's, and no check of them happens at startup.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::{Map, Value, json};
use tokio::sync::Semaphore;

use super::{
    Decision, DecisionFuture, DecisionsFuture, EngineError, Filter, ListQuestion, PermissionEngine,
    Plan, PlanFuture, Question, Subject,
};
use crate::setup_error::SetupError;

/// A remote policy decision point, asked over the OpenID AuthZEN Authorization API 1.0;
/// list plans come from Cerbos's `PlanResources`.
///
/// Each question is one `POST {base}/access/v1/evaluation`:
///
/// - the **subject** is `{type: "User", id, properties}` (another type with
///   [`principal_type`](Self::principal_type)). Its properties are `roles` (the
///   principal's own roles), `tenant` when it has one, and `cerbos.roles`, the roles
///   Cerbos matches its rules on: `user` and then the principal's own. Every signed-in
///   principal thus has the base role `user`, as Cerbos needs at least one role.
/// - an **anonymous** caller (on a `#[public(optional_auth, can = …)]` route) is the
///   subject `anonymous` with the one role `anonymous`, and never `user`: Cerbos refuses
///   an empty id, and a policy that compares the principal's id (the author, the
///   editors) on rules for the role `user` cannot match an anonymous caller even if a
///   user is named `anonymous`.
/// - the **action** is `{name: <can>}`; the **resource** is `{type: <Entity::TYPE>, id,
///   properties: <its attributes>}`, or for `can` without `on`, `{type: "Route", id:
///   "METHOD /path"}`.
///
/// A decision's reasons, for the audit log, are the ids the answer's context names:
/// AuthZEN's `id`, or the policy Cerbos matched (asked for with `cerbos.includeMeta`, a
/// context key other decision points ignore).
///
/// A list's items are checked in one `POST {base}/access/v1/evaluations` (split into
/// batches of 50, Cerbos's default `maxResourcesPerRequest`), which must answer exactly
/// one decision per question. A list's plan is Cerbos's `POST {base}/api/plan/resources`;
/// its condition becomes a [`Filter`], and a condition no filter states exactly (a
/// comparison other than equality or membership, a function, a comparison of two
/// attributes) refuses the request rather than being dropped.
///
/// Every request waits for one of [`max_in_flight`](Self::max_in_flight) slots and must
/// be answered within [`timeout`](Self::timeout), the wait included. A decision point
/// that does not answer in time, cannot be reached or answers with an error status makes
/// the request a 503; a question it refuses as malformed (400, 422) a 500. Nothing is
/// ever allowed by default. The decision point's policies are not visible at startup, so
/// every route's `can` is taken as known ([`PermissionEngine::knows`] answers `Ok`).
///
/// The base URL is `https://`, or `http://` on a loopback host only (a decision point
/// beside the service): an answer that could be altered in transit would decide every
/// permission. It takes no credentials, query or fragment, so that it can be written to
/// the log and the security lock as it is.
///
/// ```
/// # #[cfg(feature = "authzen")] {
/// use std::time::Duration;
///
/// use secure_endpoint::AuthZen;
///
/// let pdp = AuthZen::new("http://127.0.0.1:3592")?
///     .timeout(Duration::from_millis(500))
///     .max_in_flight(16);
/// # }
/// # Ok::<(), secure_endpoint::SetupError>(())
/// ```
pub struct AuthZen {
    base: String,
    client: reqwest::Client,
    timeout: Duration,
    slots: Arc<Semaphore>,
    principal_type: String,
}

/// The role every signed-in principal has.
const BASE_ROLE: &str = "user";
/// The id and only role of an anonymous caller.
const ANONYMOUS: &str = "anonymous";
/// The most evaluations in one batch: Cerbos's default `maxResourcesPerRequest`.
const BATCH: usize = 50;
/// The largest answer read from the decision point.
const MAX_ANSWER_BYTES: usize = 4 * 1024 * 1024;
/// Integers beyond ±2^53 do not survive JSON parsers that read numbers as doubles
/// (Cerbos's among them).
const MAX_EXACT_INTEGER: u64 = 1 << 53;

impl AuthZen {
    /// The decision point at `base_url` (`https://pdp.example:3592`, or a path prefix
    /// under which it serves `/access/v1/…` and `/api/plan/resources`), with a timeout of
    /// 2 seconds per request and at most 32 requests in flight.
    ///
    /// A URL that does not parse, is not `https://` (or `http://` on a loopback host), or
    /// carries credentials, a query or a fragment is a [`SetupError`] naming the problem.
    pub fn new(base_url: &str) -> Result<AuthZen, SetupError> {
        let invalid = |reason: String| SetupError::InvalidSetting {
            setting: "permissions",
            reason,
        };
        let base = checked_url(base_url).map_err(invalid)?;
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|error| invalid(format!("cannot build the HTTP client: {error}")))?;
        Ok(AuthZen {
            base,
            client,
            timeout: Duration::from_secs(2),
            slots: Arc::new(Semaphore::new(32)),
            principal_type: "User".to_owned(),
        })
    }

    /// The longest a question may take, from waiting for a slot to the last byte of the
    /// answer (2 seconds unless set). Past it the request is refused with 503.
    pub fn timeout(mut self, timeout: Duration) -> AuthZen {
        self.timeout = timeout;
        self
    }

    /// How many requests to the decision point may be in flight at once (32 unless set,
    /// at least 1); the others wait for a slot within their [`timeout`](Self::timeout).
    pub fn max_in_flight(mut self, requests: usize) -> AuthZen {
        self.slots = Arc::new(Semaphore::new(requests.clamp(1, Semaphore::MAX_PERMITS)));
        self
    }

    /// The subject's type in every question, `User` unless another is given.
    pub fn principal_type(mut self, name: &str) -> AuthZen {
        name.clone_into(&mut self.principal_type);
        self
    }

    /// Sends `body` to `path` and returns the JSON answer: within the timeout, slot wait
    /// included, and never more than `MAX_ANSWER_BYTES` of it.
    async fn post(&self, path: &str, body: &impl Serialize) -> Result<Value, EngineError> {
        let url = format!("{}{path}", self.base);
        let exchange = async {
            let _slot = self
                .slots
                .acquire()
                .await
                .map_err(|_| EngineError::Unavailable("the request pool is closed".into()))?;
            let mut response = self
                .client
                .post(&url)
                .json(body)
                .send()
                .await
                .map_err(|error| {
                    EngineError::Unavailable(format!("{path} at {}: {}", self.base, cause(&error)))
                })?;
            let status = response.status();
            let mut bytes = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(|error| {
                EngineError::Partial(format!(
                    "{path} at {}: the answer was cut off: {}",
                    self.base,
                    cause(&error)
                ))
            })? {
                if bytes.len() + chunk.len() > MAX_ANSWER_BYTES {
                    return Err(EngineError::Partial(format!(
                        "{path} at {}: the answer is larger than {} MiB",
                        self.base,
                        MAX_ANSWER_BYTES >> 20
                    )));
                }
                bytes.extend_from_slice(&chunk);
            }
            Ok((status, bytes))
        };
        let (status, bytes) = tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| {
                EngineError::Unavailable(format!(
                    "{path} at {}: no answer within {:?}",
                    self.base, self.timeout
                ))
            })??;
        if !status.is_success() {
            let why = refusal_message(&bytes);
            let message = format!("{path} at {} answered {status}{why}", self.base);
            return Err(match status.as_u16() {
                400 | 422 => EngineError::Question(message),
                _ => EngineError::Unavailable(message),
            });
        }
        serde_json::from_slice(&bytes).map_err(|error| {
            EngineError::Partial(format!(
                "{path} at {}: the answer is not JSON: {error}",
                self.base
            ))
        })
    }

    /// One AuthZEN evaluation, without its context.
    fn evaluation(&self, question: &Question<'_>) -> Result<Value, EngineError> {
        let resource = match &question.object {
            Some(object) => {
                for (name, value) in &object.attributes {
                    exact_in_json(name, value)?;
                }
                json!({
                    "type": object.kind,
                    "id": object.id,
                    "properties": object.attributes,
                })
            }
            None => json!({ "type": "Route", "id": question.route, "properties": {} }),
        };
        let (id, roles) = principal(&question.subject);
        let mut properties = Map::new();
        properties.insert("cerbos.roles".into(), json!(roles));
        properties.insert("roles".into(), json!(question.subject.roles));
        if let Some(tenant) = question.subject.tenant {
            properties.insert("tenant".into(), json!(tenant));
        }
        Ok(json!({
            "subject": { "type": self.principal_type, "id": id, "properties": properties },
            "action": { "name": question.action },
            "resource": resource,
        }))
    }

    async fn decide_batch(&self, questions: &[Question<'_>]) -> Result<Vec<Decision>, EngineError> {
        let evaluations = questions
            .iter()
            .map(|question| self.evaluation(question))
            .collect::<Result<Vec<_>, _>>()?;
        let body = json!({
            "evaluations": evaluations,
            // Every evaluation answered, whatever the decision point's default.
            "options": { "evaluations_semantic": "execute_all" },
        });
        let answer = self.post("/access/v1/evaluations", &body).await?;
        let Some(answers) = answer.get("evaluations").and_then(Value::as_array) else {
            return Err(EngineError::Partial(
                "the batch's answer has no `evaluations`".into(),
            ));
        };
        if answers.len() != questions.len() {
            return Err(EngineError::Partial(format!(
                "{} decisions for {} questions",
                answers.len(),
                questions.len()
            )));
        }
        answers
            .iter()
            .zip(questions)
            .map(|(answer, question)| decision(answer, question.action))
            .collect()
    }

    async fn plan_of(&self, question: &ListQuestion<'_>) -> Result<Plan, EngineError> {
        let (id, roles) = principal(&question.subject);
        let mut attributes = Map::new();
        attributes.insert("roles".into(), json!(question.subject.roles));
        if let Some(tenant) = question.subject.tenant {
            attributes.insert("tenant".into(), json!(tenant));
        }
        let body = json!({
            "actions": [question.action],
            "principal": { "id": id, "roles": roles, "attr": attributes },
            "resource": { "kind": question.kind, "attr": {} },
        });
        let answer = self.post("/api/plan/resources", &body).await?;
        plan(&answer)
    }
}

/// `url` without its trailing `/`, if questions may go to it.
fn checked_url(url: &str) -> Result<String, String> {
    // Credentials are looked for first: the scheme's refusal quotes the URL.
    let parsed = reqwest::Url::parse(url).map_err(|error| format!("{url:?}: {error}"))?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(
            "the decision point's URL carries credentials, which would be written to the log and the security lock".into(),
        );
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(format!(
            "{url:?}: the decision point's URL takes no query or fragment"
        ));
    }
    let parsed = crate::remote_url::secure_url(url, "decisions")?;
    Ok(parsed.as_str().trim_end_matches('/').to_owned())
}

/// The id and Cerbos roles of `subject`.
fn principal<'a>(subject: &Subject<'a>) -> (&'a str, Vec<&'a str>) {
    if subject.id.is_empty() {
        return (ANONYMOUS, vec![ANONYMOUS]);
    }
    let mut roles = Vec::with_capacity(subject.roles.len() + 1);
    roles.push(BASE_ROLE);
    roles.extend(subject.roles.iter().filter(|role| **role != BASE_ROLE));
    (subject.id, roles)
}

/// Refuses an attribute the decision point would not read as sent: an integer beyond
/// what a double holds exactly.
fn exact_in_json(name: &str, value: &Value) -> Result<(), EngineError> {
    match value {
        Value::Number(n) => {
            let exact = match (n.as_u64(), n.as_i64()) {
                (Some(n), _) => n <= MAX_EXACT_INTEGER,
                (None, Some(n)) => n.unsigned_abs() <= MAX_EXACT_INTEGER,
                (None, None) => true,
            };
            if exact {
                Ok(())
            } else {
                Err(EngineError::Question(format!(
                    "the attribute `{name}` is an integer beyond 2^53, which JSON does not carry exactly"
                )))
            }
        }
        Value::Array(items) => items.iter().try_for_each(|item| exact_in_json(name, item)),
        Value::Object(fields) => fields
            .iter()
            .try_for_each(|(field, value)| exact_in_json(&format!("{name}.{field}"), value)),
        _ => Ok(()),
    }
}

/// The text of the reqwest error `error` and its causes, without the URL.
fn cause(error: &reqwest::Error) -> String {
    let mut text = if error.is_timeout() {
        "timed out".to_owned()
    } else if error.is_connect() {
        "cannot connect".to_owned()
    } else {
        "request failed".to_owned()
    };
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

/// What a refusing decision point said, if it said it as `{"message": …}`: shortened,
/// since it goes to the log.
fn refusal_message(body: &[u8]) -> String {
    let message = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|answer| {
            answer
                .get("message")
                .and_then(Value::as_str)
                .map(|message| message.chars().take(200).collect::<String>())
        });
    match message {
        Some(message) => format!(": {message}"),
        None => String::new(),
    }
}

/// One AuthZEN evaluation's answer: `{"decision": bool, "context": {...}}`.
fn decision(answer: &Value, action: &str) -> Result<Decision, EngineError> {
    let Some(allowed) = answer.get("decision").and_then(Value::as_bool) else {
        return Err(EngineError::Partial(
            "an answer has no boolean `decision`".into(),
        ));
    };
    Ok(Decision {
        allowed,
        reasons: answer
            .get("context")
            .map(|context| reasons(context, action))
            .unwrap_or_default(),
    })
}

/// The ids of what decided, as the decision point gives them in an answer's context:
/// AuthZEN's `id`, and the policies Cerbos matched when asked for its metadata.
fn reasons(context: &Value, action: &str) -> Vec<String> {
    let mut reasons = Vec::new();
    if let Some(id) = context.get("id").and_then(Value::as_str) {
        reasons.push(id.to_owned());
    }
    let results = context
        .pointer("/cerbos.response/results")
        .and_then(Value::as_array);
    for result in results.into_iter().flatten() {
        let policy = result
            .get("meta")
            .and_then(|meta| meta.get("actions"))
            .and_then(|actions| actions.get(action))
            .and_then(|effect| effect.get("matchedPolicy"))
            .and_then(Value::as_str);
        if let Some(policy) = policy
            && !reasons.iter().any(|known| known == policy)
        {
            reasons.push(policy.to_owned());
        }
    }
    reasons
}

/// A Cerbos `PlanResources` answer as a plan.
fn plan(answer: &Value) -> Result<Plan, EngineError> {
    let Some(filter) = answer.get("filter") else {
        return Err(EngineError::Partial("the plan has no `filter`".into()));
    };
    match filter.get("kind").and_then(Value::as_str) {
        Some("KIND_ALWAYS_ALLOWED") => Ok(Plan::All),
        Some("KIND_ALWAYS_DENIED") => Ok(Plan::Nothing),
        Some("KIND_CONDITIONAL") => {
            let Some(condition) = filter.get("condition") else {
                return Err(EngineError::Partial(
                    "a conditional plan has no `condition`".into(),
                ));
            };
            Ok(Plan::of(condition_of(condition)?))
        }
        Some(other) => Err(EngineError::Question(format!(
            "the plan's filter is of the kind `{other}`, which is not one of always allowed, always denied or conditional"
        ))),
        None => Err(EngineError::Partial(
            "the plan's filter has no `kind`".into(),
        )),
    }
}

/// A Cerbos plan operand in a boolean position as a filter: an expression, a resource
/// attribute (true when it is `true`), or a boolean constant.
fn condition_of(operand: &Value) -> Result<Filter, EngineError> {
    match Operand::of(operand)? {
        Operand::Expression(operator, operands) => expression(operator, operands),
        Operand::Attribute(name) => Ok(Filter::Eq(name, Value::Bool(true))),
        Operand::Value(Value::Bool(true)) => Ok(Filter::And(Vec::new())),
        Operand::Value(Value::Bool(false)) => Ok(Filter::Or(Vec::new())),
        Operand::Value(other) => Err(untranslatable(format!(
            "the constant {other} stands where a condition is expected"
        ))),
    }
}

fn expression(operator: &str, operands: &[Value]) -> Result<Filter, EngineError> {
    match (operator, operands) {
        // Never empty from Cerbos: an empty `and` would admit every item.
        ("and" | "or", [_, ..]) => {
            let mut parts = Vec::with_capacity(operands.len());
            for operand in operands {
                // `or(a, or(b, c))` as one `Or(a, b, c)`: the same condition, flatter.
                match (operator, condition_of(operand)?) {
                    ("and", Filter::And(inner)) | ("or", Filter::Or(inner)) => {
                        parts.extend(inner);
                    }
                    (_, part) => parts.push(part),
                }
            }
            Ok(if operator == "and" {
                Filter::And(parts)
            } else {
                Filter::Or(parts)
            })
        }
        ("not", [operand]) => Ok(Filter::Not(Box::new(condition_of(operand)?))),
        ("eq" | "ne", [left, right]) => {
            let (name, value) = match (Operand::of(left)?, Operand::of(right)?) {
                (Operand::Attribute(name), Operand::Value(value))
                | (Operand::Value(value), Operand::Attribute(name)) => (name, value),
                _ => {
                    return Err(untranslatable(format!(
                        "`{operator}` compares something other than an attribute with a value"
                    )));
                }
            };
            let eq = Filter::Eq(name.clone(), scalar(&name, value)?);
            Ok(if operator == "eq" {
                eq
            } else {
                Filter::Not(Box::new(eq))
            })
        }
        ("in", [left, right]) => match (Operand::of(left)?, Operand::of(right)?) {
            // `P.id in R.attr.editors`: the set attribute holds the value.
            (Operand::Value(value), Operand::Attribute(name)) => {
                let value = scalar(&name, value)?;
                Ok(Filter::Contains(name, value))
            }
            // `R.attr.author in ["a", "b"]`: the attribute is one of the values.
            (Operand::Attribute(name), list) => {
                let values = list_of(&name, list)?;
                Ok(Filter::In(name, values))
            }
            _ => Err(untranslatable(
                "`in` relates something other than an attribute and values".into(),
            )),
        },
        // `hasIntersection(R.attr.editors, [a, b])`: the set holds a, or it holds b.
        ("hasIntersection", [left, right]) => {
            let (name, list) = match (Operand::of(left)?, Operand::of(right)?) {
                (Operand::Attribute(name), list) | (list, Operand::Attribute(name)) => (name, list),
                _ => {
                    return Err(untranslatable(
                        "`hasIntersection` without an attribute".into(),
                    ));
                }
            };
            let values = list_of(&name, list)?;
            Ok(Filter::Or(
                values
                    .into_iter()
                    .map(|value| Filter::Contains(name.clone(), value))
                    .collect(),
            ))
        }
        (operator, operands) => Err(untranslatable(format!(
            "the operator `{operator}` with {} operand(s)",
            operands.len()
        ))),
    }
}

/// One node of a Cerbos plan's condition.
enum Operand<'a> {
    Expression(&'a str, &'a [Value]),
    Attribute(String),
    Value(Value),
}

impl<'a> Operand<'a> {
    fn of(operand: &'a Value) -> Result<Operand<'a>, EngineError> {
        if let Some(expression) = operand.get("expression") {
            let operator = expression.get("operator").and_then(Value::as_str);
            let operands = expression.get("operands").and_then(Value::as_array);
            return match (operator, operands) {
                (Some(operator), Some(operands)) => {
                    Ok(Operand::Expression(operator, operands.as_slice()))
                }
                _ => Err(EngineError::Partial(
                    "a plan's expression has no operator or operands".into(),
                )),
            };
        }
        if let Some(variable) = operand.get("variable") {
            let name = variable
                .as_str()
                .and_then(|variable| variable.strip_prefix("request.resource.attr."))
                .filter(|name| !name.is_empty() && !name.contains(['.', '[', ']']));
            return match name {
                Some(name) => Ok(Operand::Attribute(name.to_owned())),
                None => Err(untranslatable(format!(
                    "the variable {variable}, which is not one of the resource's own attributes"
                ))),
            };
        }
        match operand.get("value") {
            Some(value) => Ok(Operand::Value(value.clone())),
            None => Err(EngineError::Partial(
                "a plan's operand is none of expression, variable and value".into(),
            )),
        }
    }
}

/// The values of a list operand: a constant list, or Cerbos's `list` of constants.
fn list_of(name: &str, operand: Operand<'_>) -> Result<Vec<Value>, EngineError> {
    match operand {
        Operand::Value(Value::Array(items)) => {
            items.into_iter().map(|item| scalar(name, item)).collect()
        }
        Operand::Expression("list", items) => items
            .iter()
            .map(|item| match Operand::of(item)? {
                Operand::Value(value) => scalar(name, value),
                _ => Err(untranslatable(format!(
                    "a list compared with `{name}` holds something other than values"
                ))),
            })
            .collect(),
        _ => Err(untranslatable(format!(
            "`{name}` is compared with something other than a list of values"
        ))),
    }
}

/// A value a filter may compare with: a string, a boolean or a whole number.
fn scalar(name: &str, value: Value) -> Result<Value, EngineError> {
    match value {
        Value::String(_) | Value::Bool(_) => Ok(value),
        Value::Number(n) => {
            if let Some(whole) = n.as_i64() {
                return Ok(Value::from(whole));
            }
            if let Some(whole) = n.as_u64() {
                return Ok(Value::from(whole));
            }
            // Cerbos states numbers as doubles: 3.0 is the whole number 3.
            match n.as_f64() {
                Some(f) if f.fract() == 0.0 && f.abs() <= MAX_EXACT_INTEGER as f64 => {
                    Ok(Value::from(f as i64))
                }
                _ => Err(untranslatable(format!(
                    "`{name}` is compared with {n}, which is not a whole number"
                ))),
            }
        }
        other => Err(untranslatable(format!(
            "`{name}` is compared with {other}, which is not a string, boolean or whole number"
        ))),
    }
}

fn untranslatable(what: String) -> EngineError {
    EngineError::Question(format!(
        "the plan's condition cannot be stated as a filter: {what}"
    ))
}

impl PermissionEngine for AuthZen {
    fn decide<'a>(&'a self, question: &'a Question<'a>) -> DecisionFuture<'a> {
        Box::pin(async move {
            let mut body = self.evaluation(question)?;
            // Cerbos names the policy that decided when asked; other decision points
            // ignore a context key they do not know.
            body["context"] = json!({ "cerbos.includeMeta": true });
            let answer = self.post("/access/v1/evaluation", &body).await?;
            decision(&answer, question.action)
        })
    }

    fn decide_all<'a>(&'a self, questions: &'a [Question<'a>]) -> DecisionsFuture<'a> {
        Box::pin(async move {
            let batches = questions
                .chunks(BATCH)
                .map(|batch| self.decide_batch(batch));
            let answers = futures_util::future::try_join_all(batches).await?;
            Ok(answers.into_iter().flatten().collect())
        })
    }

    fn plan<'a>(&'a self, question: &'a ListQuestion<'a>) -> PlanFuture<'a> {
        Box::pin(self.plan_of(question))
    }

    fn describe(&self) -> String {
        format!("authzen {}", self.base)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn conditional(condition: Value) -> Value {
        json!({ "filter": { "kind": "KIND_CONDITIONAL", "condition": condition } })
    }

    fn attr(name: &str) -> Value {
        json!({ "variable": format!("request.resource.attr.{name}") })
    }

    fn op(operator: &str, operands: Vec<Value>) -> Value {
        json!({ "expression": { "operator": operator, "operands": operands } })
    }

    fn question_error(answer: &Value) -> String {
        match plan(answer) {
            Err(EngineError::Question(why)) => why,
            other => panic!("expected a refused plan, got {other:?}"),
        }
    }

    #[test]
    fn always_allowed_and_always_denied_are_all_and_nothing() {
        assert_eq!(
            plan(&json!({ "filter": { "kind": "KIND_ALWAYS_ALLOWED" } })),
            Ok(Plan::All)
        );
        assert_eq!(
            plan(&json!({ "filter": { "kind": "KIND_ALWAYS_DENIED" } })),
            Ok(Plan::Nothing)
        );
    }

    #[test]
    fn an_authors_read_plan_is_published_or_own_or_edited() {
        // What Cerbos 0.55 answers for `read` by the user alice on the blog's policies.
        let answer = conditional(op(
            "or",
            vec![
                op("eq", vec![attr("draft"), json!({ "value": false })]),
                op(
                    "or",
                    vec![
                        op("eq", vec![attr("author"), json!({ "value": "alice" })]),
                        op("in", vec![json!({ "value": "alice" }), attr("editors")]),
                    ],
                ),
            ],
        ));
        assert_eq!(
            plan(&answer),
            Ok(Plan::Only(Filter::Or(vec![
                Filter::Eq("draft".into(), json!(false)),
                Filter::Eq("author".into(), json!("alice")),
                Filter::Contains("editors".into(), json!("alice")),
            ])))
        );
    }

    #[test]
    fn ne_not_and_a_bare_attribute_translate_exactly() {
        let answer = conditional(op(
            "and",
            vec![
                op("ne", vec![attr("author"), json!({ "value": "alice" })]),
                op(
                    "not",
                    vec![op("eq", vec![json!({ "value": 3.0 }), attr("n")])],
                ),
                attr("published"),
            ],
        ));
        assert_eq!(
            plan(&answer),
            Ok(Plan::Only(Filter::And(vec![
                Filter::Not(Box::new(Filter::Eq("author".into(), json!("alice")))),
                Filter::Not(Box::new(Filter::Eq("n".into(), json!(3)))),
                Filter::Eq("published".into(), json!(true)),
            ])))
        );
    }

    #[test]
    fn a_value_in_a_literal_list_is_in_and_has_intersection_is_contains() {
        let listed = conditional(op(
            "in",
            vec![attr("author"), json!({ "value": ["a", "b"] })],
        ));
        assert_eq!(
            plan(&listed),
            Ok(Plan::Only(Filter::In(
                "author".into(),
                vec![json!("a"), json!("b")]
            )))
        );
        let intersecting = conditional(op(
            "hasIntersection",
            vec![attr("editors"), json!({ "value": ["alice", "x"] })],
        ));
        assert_eq!(
            plan(&intersecting),
            Ok(Plan::Only(Filter::Or(vec![
                Filter::Contains("editors".into(), json!("alice")),
                Filter::Contains("editors".into(), json!("x")),
            ])))
        );
        // An empty list is no item.
        let empty = conditional(op("in", vec![attr("author"), json!({ "value": [] })]));
        assert_eq!(plan(&empty), Ok(Plan::Nothing));
    }

    #[test]
    fn an_unknown_operator_refuses_the_plan_instead_of_dropping_the_condition() {
        // `R.attr.n > 3` inside an `and`: dropping it would widen the list.
        let answer = conditional(op(
            "and",
            vec![
                op("eq", vec![attr("draft"), json!({ "value": false })]),
                op("gt", vec![attr("n"), json!({ "value": 3 })]),
            ],
        ));
        let why = question_error(&answer);
        assert!(why.contains("`gt`"), "{why}");
        let lambda = conditional(op(
            "exists",
            vec![
                attr("tags"),
                op(
                    "lambda",
                    vec![
                        op(
                            "eq",
                            vec![json!({ "variable": "t" }), json!({ "value": "x" })],
                        ),
                        json!({ "variable": "t" }),
                    ],
                ),
            ],
        ));
        assert!(question_error(&lambda).contains("`exists`"));
    }

    #[test]
    fn what_a_filter_cannot_state_is_refused() {
        let two_attributes = conditional(op("eq", vec![attr("author"), attr("owner")]));
        assert!(question_error(&two_attributes).contains("`eq`"));
        let nested = conditional(op(
            "eq",
            vec![
                json!({ "variable": "request.resource.attr.team.name" }),
                json!({ "value": "x" }),
            ],
        ));
        assert!(question_error(&nested).contains("request.resource.attr.team.name"));
        let principal = conditional(op(
            "eq",
            vec![
                json!({ "variable": "request.principal.attr.tenant" }),
                json!({ "value": "x" }),
            ],
        ));
        assert!(question_error(&principal).contains("request.principal.attr.tenant"));
        let fraction = conditional(op("eq", vec![attr("n"), json!({ "value": 1.5 })]));
        assert!(question_error(&fraction).contains("whole number"));
        let null = conditional(op("eq", vec![attr("n"), json!({ "value": null })]));
        assert!(question_error(&null).contains("null"));
        let unknown_kind = json!({ "filter": { "kind": "KIND_UNSPECIFIED" } });
        assert!(question_error(&unknown_kind).contains("KIND_UNSPECIFIED"));
    }

    #[test]
    fn a_plan_without_its_parts_is_partial() {
        assert!(matches!(plan(&json!({})), Err(EngineError::Partial(_))));
        assert!(matches!(
            plan(&json!({ "filter": { "kind": "KIND_CONDITIONAL" } })),
            Err(EngineError::Partial(_))
        ));
        assert!(matches!(
            plan(&conditional(json!({ "operator": "eq" }))),
            Err(EngineError::Partial(_))
        ));
        // An `and` whose operands are missing is not taken as true.
        assert!(matches!(
            plan(&conditional(json!({ "expression": { "operator": "and" } }))),
            Err(EngineError::Partial(_))
        ));
        assert!(matches!(
            plan(&conditional(op("and", vec![]))),
            Err(EngineError::Question(_))
        ));
    }

    #[test]
    fn an_answer_without_a_boolean_decision_is_partial() {
        assert!(matches!(
            decision(&json!({ "decision": "true" }), "read"),
            Err(EngineError::Partial(_))
        ));
        assert_eq!(
            decision(
                &json!({ "decision": false, "context": { "id": "r1" } }),
                "read"
            ),
            Ok(Decision {
                allowed: false,
                reasons: vec!["r1".into()]
            })
        );
    }

    #[test]
    fn cerbos_metadata_names_the_matched_policy() {
        let answer = json!({
            "decision": true,
            "context": { "cerbos.response": { "results": [{
                "actions": { "edit": "EFFECT_ALLOW" },
                "meta": { "actions": { "edit": { "matchedPolicy": "resource.Post.vdefault" } } },
            }] } },
        });
        assert_eq!(
            decision(&answer, "edit").unwrap().reasons,
            ["resource.Post.vdefault"]
        );
    }

    #[test]
    fn the_base_url_must_be_https_or_loopback_and_carry_no_secret() {
        let reason = |url: &str| match AuthZen::new(url) {
            Err(SetupError::InvalidSetting { setting, reason }) => {
                assert_eq!(setting, "permissions");
                reason
            }
            Err(other) => panic!("{other}"),
            Ok(_) => panic!("{url} accepted"),
        };
        assert!(reason("not a url").contains("\"not a url\""));
        assert!(reason("http://pdp.example:3592").contains("https"));
        assert!(reason("https://user:secret@pdp.example").contains("credentials"));
        assert!(!reason("https://user:secret@pdp.example").contains("secret@"));
        assert!(reason("https://pdp.example/?key=1").contains("query"));
        let pdp = AuthZen::new("http://127.0.0.1:3592/").unwrap();
        assert_eq!(pdp.describe(), "authzen http://127.0.0.1:3592");
        let prefixed = AuthZen::new("https://pdp.example/cerbos/").unwrap();
        assert_eq!(prefixed.describe(), "authzen https://pdp.example/cerbos");
    }

    #[test]
    fn an_anonymous_caller_is_the_anonymous_principal_and_users_have_the_base_role() {
        let anonymous = Subject {
            id: "",
            roles: vec!["admin"],
            tenant: None,
        };
        assert_eq!(principal(&anonymous), ("anonymous", vec!["anonymous"]));
        let admin = Subject {
            id: "root",
            roles: vec!["admin", "user"],
            tenant: None,
        };
        assert_eq!(principal(&admin), ("root", vec!["user", "admin"]));
    }

    #[test]
    fn an_integer_json_cannot_carry_exactly_is_refused() {
        assert!(exact_in_json("n", &json!(1u64 << 53)).is_ok());
        assert!(exact_in_json("n", &json!([1.5, -(1i64 << 53)])).is_ok());
        let error = exact_in_json("x", &json!({ "n": (1u64 << 53) + 1 })).unwrap_err();
        assert!(matches!(&error, EngineError::Question(why) if why.contains("`x.n`")));
    }
}
