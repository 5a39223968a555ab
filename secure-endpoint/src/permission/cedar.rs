//! Cedar, in process (feature `cedar`): policies and schema validated against each other
//! when the settings are built. For each principal, action and resource type, Cedar's
//! partial evaluation with the resource unknown leaves the policies that can still apply
//! (the residuals), read as [`Filter`]s over the resource's attributes and kept
//! (`compiled.rs`): they are a list's plan, and they decide a single resource without
//! building Cedar's entities again. A question they cannot decide exactly (an attribute
//! missing or of another type than the filters compare, a condition no filter holds) is
//! answered by Cedar's authorizer over two entities, the principal and the resource.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::str::FromStr;

use cedar_policy::{
    ActionConstraint, Authorizer, Context, Decision as CedarDecision, Entities,
    Entity as CedarEntity, EntityId, EntityTypeName, EntityUid, PolicyId, PolicySet, Request,
    RequestBuilder, RestrictedExpression, Schema, ValidationMode, Validator,
};
use miette::Diagnostic;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::compiled::{Compilation, Compilations, Compiled, CompiledPolicy};
use super::{
    Decision, DecisionFuture, EngineError, Filter, ListQuestion, PermissionEngine, Plan,
    PlanFuture, Question, Subject,
};
use crate::setup_error::SetupError;

/// The Cedar engine: policies and a schema, validated against each other (strict mode)
/// when it is built.
///
/// The principal is an entity of type `User` (another with
/// [`principal_type`](Self::principal_type)) whose id is the principal's, with the
/// attributes `id` (a string), `roles` (a set of strings) and, when it has one, `tenant`;
/// the action is `Action::"<can>"`; the resource is `<Entity::TYPE>::"<id>"` with its
/// [attributes](super::Entity::attributes), or for `can` without `on`,
/// `Route::"METHOD /path"`. A policy's `@id("…")` names it in the audit log.
///
/// Decisions on a resource are compiled: the first question for a principal (its id,
/// roles and tenant), an action and a resource type partially evaluates the policies
/// with the resource unknown, and what remains of each policy is kept as a filter on
/// the resource's attributes. Later questions for the same principal, action and type
/// are answered from those filters, with the same decision and the same deciding
/// policies as Cedar's authorizer; a question they cannot answer exactly (an attribute
/// missing, null or of another type than the policy compares it with, a condition no
/// filter holds) goes to the authorizer. At most 4,096 compilations are kept; past
/// that they are dropped and compiled again as questions come. A list's plan is the
/// same compilation.
///
/// ```
/// # #[cfg(feature = "cedar")] {
/// use secure_endpoint::Cedar;
///
/// let schema = r#"
///     entity User { id: String, roles: Set<String> };
///     entity Post { author: String, draft: Bool };
///     action read, edit appliesTo { principal: User, resource: Post };
/// "#;
/// let policies = r#"
///     @id("authors edit")
///     permit (principal, action == Action::"edit", resource)
///     when { resource.author == principal.id };
/// "#;
/// let cedar = Cedar::new(policies, schema)?;
/// # }
/// # Ok::<(), secure_endpoint::SetupError>(())
/// ```
pub struct Cedar {
    policies: PolicySet,
    schema: Schema,
    principal_type: EntityTypeName,
    /// The principal's type name as questions write a resource's.
    principal_type_name: String,
    digest: String,
    authorizer: Authorizer,
    /// Each policy's name in the audit log (its `@id`, or Cedar's id), read once.
    names: HashMap<PolicyId, String>,
    /// For each action of the schema, the policies that can apply to it (by their action
    /// scope): a question is evaluated against those alone.
    by_action: HashMap<String, PolicySet>,
    /// The type names questions use (`Action`, `Route`, the schema's entity types),
    /// parsed once.
    types: HashMap<String, EntityTypeName>,
    /// The residuals of partial evaluation, by principal, action and resource type.
    compilations: Compilations,
}

impl Cedar {
    /// The engine of `policies` and `schema` (Cedar's human-readable schema syntax).
    /// A policy that does not parse or does not type-check against the schema is a
    /// [`SetupError`] with Cedar's message and its line and column.
    pub fn new(policies: &str, schema: &str) -> Result<Cedar, SetupError> {
        Self::named(policies, "policies", schema, "schema")
    }

    /// The engine of the policy file `policies` and the schema file `schema`; an error
    /// names the file.
    pub fn from_files(
        policies: impl AsRef<Path>,
        schema: impl AsRef<Path>,
    ) -> Result<Cedar, SetupError> {
        let read = |path: &Path| {
            std::fs::read_to_string(path).map_err(|error| SetupError::InvalidSetting {
                setting: "permissions",
                reason: format!("cannot read {}: {error}", path.display()),
            })
        };
        let (policies, schema) = (policies.as_ref(), schema.as_ref());
        Self::named(
            &read(policies)?,
            &policies.display().to_string(),
            &read(schema)?,
            &schema.display().to_string(),
        )
    }

    fn named(
        policies: &str,
        policies_name: &str,
        schema: &str,
        schema_name: &str,
    ) -> Result<Cedar, SetupError> {
        let (schema_parsed, _warnings) = Schema::from_cedarschema_str(schema)
            .map_err(|error| invalid(schema_name, schema, &error))?;
        let parsed = PolicySet::from_str(policies)
            .map_err(|error| invalid(policies_name, policies, &error))?;
        let validation =
            Validator::new(schema_parsed.clone()).validate(&parsed, ValidationMode::Strict);
        if let Some(error) = validation.validation_errors().next() {
            return Err(invalid(policies_name, policies, error));
        }
        let digest = Sha256::new()
            .chain_update(policies.as_bytes())
            .chain_update([0])
            .chain_update(schema.as_bytes())
            .finalize();
        let names = parsed
            .policies()
            .map(|policy| {
                let name = policy
                    .annotation("id")
                    .map_or_else(|| policy.id().to_string(), str::to_owned);
                (policy.id().clone(), name)
            })
            .collect();
        let types = ["Action", "Route"]
            .into_iter()
            .map(|name| EntityTypeName::from_str(name).expect("a type name"))
            .chain(schema_parsed.entity_types().cloned())
            .map(|ty| (ty.to_string(), ty))
            .collect();
        let by_action = by_action(&parsed, &schema_parsed)?;
        Ok(Cedar {
            by_action,
            policies: parsed,
            schema: schema_parsed,
            principal_type: EntityTypeName::from_str("User").expect("`User` is a type name"),
            principal_type_name: "User".to_owned(),
            digest: digest.iter().take(8).map(|b| format!("{b:02x}")).collect(),
            authorizer: Authorizer::new(),
            names,
            types,
            compilations: Compilations::default(),
        })
    }

    /// The principal's entity type, `User` unless another is given.
    pub fn principal_type(mut self, name: &str) -> Result<Cedar, SetupError> {
        self.principal_type =
            EntityTypeName::from_str(name).map_err(|error| SetupError::InvalidSetting {
                setting: "permissions",
                reason: format!("{name:?} is not a Cedar type name: {error}"),
            })?;
        self.principal_type_name = self.principal_type.to_string();
        Ok(self)
    }

    /// The policies that can apply to `action` (all of them for an action the schema
    /// lacks, which the request's validation then refuses).
    fn policies_for(&self, action: &str) -> &PolicySet {
        self.by_action.get(action).unwrap_or(&self.policies)
    }

    fn entity_uid(&self, kind: &str, id: &str) -> Result<EntityUid, EngineError> {
        let kind = match self.types.get(kind) {
            Some(known) => known.clone(),
            None => EntityTypeName::from_str(kind).map_err(|error| {
                EngineError::Question(format!("{kind:?} is not a Cedar type name: {error}"))
            })?,
        };
        Ok(EntityUid::from_type_name_and_id(kind, EntityId::new(id)))
    }

    /// The principal's uid and its entity.
    fn principal(&self, subject: &Subject<'_>) -> Result<(EntityUid, CedarEntity), EngineError> {
        let principal = EntityUid::from_type_name_and_id(
            self.principal_type.clone(),
            EntityId::new(subject.id),
        );
        let mut principal_attrs = HashMap::from([
            (
                "id".to_owned(),
                RestrictedExpression::new_string(subject.id.to_owned()),
            ),
            (
                "roles".to_owned(),
                RestrictedExpression::new_set(
                    subject
                        .roles
                        .iter()
                        .map(|role| RestrictedExpression::new_string((*role).to_owned())),
                ),
            ),
        ]);
        if let Some(tenant) = subject.tenant {
            principal_attrs.insert(
                "tenant".to_owned(),
                RestrictedExpression::new_string(tenant.to_owned()),
            );
        }
        let entity = CedarEntity::new(principal.clone(), principal_attrs, HashSet::new())
            .map_err(|error| EngineError::Question(error.to_string()))?;
        Ok((principal, entity))
    }

    /// The decision: from the compiled residuals where they decide exactly, from Cedar's
    /// authorizer otherwise.
    fn ask(&self, question: &Question<'_>) -> Result<Decision, EngineError> {
        // A question about the principal itself is Cedar's alone: it holds one entity
        // for the two, and refuses the question when they differ.
        if let Some(object) = &question.object
            && !(object.kind == self.principal_type_name && object.id == question.subject.id)
        {
            let compiled = self.compiled(&question.subject, question.action, object.kind);
            if let Ok(compiled) = &*compiled
                && let Some(decision) = compiled.decide(&object.attributes)
            {
                return Ok(decision);
            }
        }
        self.evaluate(question)
    }

    /// The decision of Cedar's authorizer.
    fn evaluate(&self, question: &Question<'_>) -> Result<Decision, EngineError> {
        let (principal, entity) = self.principal(&question.subject)?;
        let action = self.entity_uid("Action", question.action)?;
        let mut entities = vec![entity];
        let resource = match &question.object {
            Some(object) => {
                let uid = self.entity_uid(object.kind, &object.id)?;
                let mut attrs = HashMap::new();
                for (name, value) in &object.attributes {
                    if let Some(value) = expression(name, value)? {
                        attrs.insert(name.clone(), value);
                    }
                }
                entities.push(
                    CedarEntity::new(uid.clone(), attrs, HashSet::new())
                        .map_err(|error| EngineError::Question(error.to_string()))?,
                );
                uid
            }
            None => self.entity_uid("Route", question.route)?,
        };
        let entities = Entities::from_entities(entities, None)
            .map_err(|error| EngineError::Question(error.to_string()))?;
        let request = Request::new(
            principal,
            action,
            resource,
            Context::empty(),
            Some(&self.schema),
        )
        .map_err(|error| EngineError::Question(error.to_string()))?;
        let policies = self.policies_for(question.action);
        let response = self.authorizer.is_authorized(&request, policies, &entities);
        if let Some(error) = response.diagnostics().errors().next() {
            tracing::warn!(%error, "a Cedar policy could not be evaluated");
        }
        let reasons = response
            .diagnostics()
            .reason()
            .map(|id| {
                self.names
                    .get(id)
                    .cloned()
                    .unwrap_or_else(|| id.to_string())
            })
            .collect();
        Ok(Decision {
            allowed: response.decision() == CedarDecision::Allow,
            reasons,
        })
    }
}

impl Cedar {
    /// The plan for a list, from the compiled residuals.
    fn list_plan(&self, question: &ListQuestion<'_>) -> Result<Plan, EngineError> {
        match &*self.compiled(&question.subject, question.action, question.kind) {
            Ok(compiled) => Ok(compiled.plan()),
            Err(error) => Err(error.clone()),
        }
    }

    /// The residuals for `subject`, `action` and `kind`, compiled on first use.
    fn compiled(&self, subject: &Subject<'_>, action: &str, kind: &str) -> Compilation {
        self.compilations.get(subject, action, kind, || {
            self.compile(subject, action, kind)
        })
    }

    /// The policies partially evaluated with the principal and the action known and the
    /// resource unknown (of type `kind`): each one that can still apply, read as a
    /// filter; a residual no filter can state exactly is an error, never dropped.
    fn compile(
        &self,
        subject: &Subject<'_>,
        action_name: &str,
        kind_name: &str,
    ) -> Result<Compiled, EngineError> {
        let (principal, entity) = self.principal(subject)?;
        let action = self.entity_uid("Action", action_name)?;
        let kind = EntityTypeName::from_str(kind_name).map_err(|error| {
            EngineError::Question(format!("{kind_name:?} is not a Cedar type name: {error}"))
        })?;
        // Whether Cedar would take a question on one resource of this type at all: the
        // schema lets the action apply to the principal's type and this one.
        let decides = Request::new(
            principal.clone(),
            action.clone(),
            EntityUid::from_type_name_and_id(kind.clone(), EntityId::new("")),
            Context::empty(),
            Some(&self.schema),
        )
        .is_ok();
        let request = RequestBuilder::default()
            .principal(principal)
            .action(action)
            .unknown_resource_with_type(kind)
            .context(Context::empty())
            .build();
        let entities = Entities::from_entities([entity], None)
            .map_err(|error| EngineError::Question(error.to_string()))?;
        let response = self.authorizer.is_authorized_partial(
            &request,
            self.policies_for(action_name),
            &entities,
        );
        if let Some(id) = response.definitely_errored().next() {
            return Err(EngineError::Question(format!(
                "the policy {id} fails to evaluate for this principal, so no plan can say which items it admits"
            )));
        }
        let mut policies = Vec::new();
        let residuals = response
            .definitely_satisfied()
            .chain(response.nontrivial_residuals());
        for policy in residuals {
            let tree = policy.to_json().map_err(|error| {
                EngineError::Question(format!("a residual of policy {}: {error}", policy.id()))
            })?;
            let filter = residual(&tree, kind_name).map_err(|why| {
                EngineError::Question(format!(
                    "the policy {} leaves a condition no list filter can state: {why}",
                    policy.id()
                ))
            })?;
            policies.push(CompiledPolicy {
                name: self
                    .names
                    .get(policy.id())
                    .cloned()
                    .unwrap_or_else(|| policy.id().to_string()),
                forbid: policy.effect() == cedar_policy::Effect::Forbid,
                filter,
            });
        }
        Ok(Compiled::new(policies, decides))
    }
}

/// The policies of `policies` whose action scope can match each of the schema's actions:
/// any action, that action, or a list holding it or an action group (a group's members
/// are not unfolded here, so a policy naming a group is kept for every action).
fn by_action(
    policies: &PolicySet,
    schema: &Schema,
) -> Result<HashMap<String, PolicySet>, SetupError> {
    let groups: HashSet<&EntityUid> = schema.action_groups().collect();
    let mut sets = HashMap::new();
    for action in schema.actions() {
        let mut set = PolicySet::new();
        for policy in policies.policies() {
            let applies = match policy.action_constraint() {
                ActionConstraint::Any => true,
                ActionConstraint::Eq(uid) => uid == *action || groups.contains(&uid),
                ActionConstraint::In(uids) => {
                    uids.iter().any(|uid| uid == action || groups.contains(uid))
                }
            };
            if applies {
                set.add(policy.clone())
                    .map_err(|error| SetupError::InvalidSetting {
                        setting: "permissions",
                        reason: error.to_string(),
                    })?;
            }
        }
        sets.insert(action.id().unescaped().to_owned(), set);
    }
    Ok(sets)
}

/// A residual policy (in Cedar's JSON policy format) as one filter on the resource: its
/// scope, which partial evaluation leaves open, and its conditions.
fn residual(policy: &Value, kind: &str) -> Result<Filter, String> {
    let op = |part: &str| policy[part]["op"].as_str().unwrap_or_default().to_owned();
    if op("principal") != "All" || op("action") != "All" {
        return Err("its scope still names the principal or the action".to_owned());
    }
    let mut parts = match op("resource").as_str() {
        "All" => Vec::new(),
        "is" if policy["resource"]["entity_type"] == kind
            && policy["resource"].get("in").is_none() =>
        {
            Vec::new()
        }
        "is" if policy["resource"].get("in").is_none() => vec![Filter::Or(Vec::new())],
        other => return Err(format!("its resource scope `{other}` is not a type test")),
    };
    for clause in policy["conditions"].as_array().into_iter().flatten() {
        let body = condition(&clause["body"], kind)?;
        parts.push(match clause["kind"].as_str() {
            Some("when") => body,
            Some("unless") => Filter::Not(Box::new(body)),
            other => return Err(format!("a condition of kind {other:?}")),
        });
    }
    Ok(Filter::And(parts))
}

/// The one operator of a JSON expression and its operand.
fn operator(expr: &Value) -> Result<(&str, &Value), String> {
    match expr.as_object() {
        Some(map) if map.len() == 1 => {
            let (op, operand) = map.iter().next().expect("one entry");
            Ok((op.as_str(), operand))
        }
        _ => Err(format!("`{expr}` is not an expression")),
    }
}

/// A boolean residual expression as a filter.
fn condition(expr: &Value, kind: &str) -> Result<Filter, String> {
    let (op, arg) = operator(expr)?;
    let both = |arg: &Value| -> Result<(Filter, Filter), String> {
        Ok((
            condition(&arg["left"], kind)?,
            condition(&arg["right"], kind)?,
        ))
    };
    Ok(match op {
        "Value" => match arg {
            Value::Bool(true) => Filter::And(Vec::new()),
            Value::Bool(false) => Filter::Or(Vec::new()),
            other => return Err(format!("`{other}` is not a condition")),
        },
        "!" => Filter::Not(Box::new(condition(&arg["arg"], kind)?)),
        // A boolean attribute, tested as it is.
        "." if attribute(expr).is_some() => {
            Filter::Eq(attribute(expr).expect("an attribute"), Value::Bool(true))
        }
        "&&" => {
            let (left, right) = both(arg)?;
            Filter::And(vec![left, right])
        }
        "||" => {
            let (left, right) = both(arg)?;
            Filter::Or(vec![left, right])
        }
        "==" | "!=" => {
            let (left, right) = (&arg["left"], &arg["right"]);
            let equal = match (attribute(left), attribute(right)) {
                (Some(name), None) => Filter::Eq(name, literal(right)?),
                (None, Some(name)) => Filter::Eq(name, literal(left)?),
                _ => {
                    return Err(format!(
                        "`{expr}` does not compare one attribute with a value"
                    ));
                }
            };
            if op == "==" {
                equal
            } else {
                Filter::Not(Box::new(equal))
            }
        }
        "contains" => {
            let (left, right) = (&arg["left"], &arg["right"]);
            match (attribute(left), operator(left)?) {
                (Some(name), _) => Filter::Contains(name, literal(right)?),
                (None, ("Set", Value::Array(items))) => {
                    let Some(name) = attribute(right) else {
                        return Err(format!("`{expr}` asks of no attribute"));
                    };
                    Filter::In(name, items.iter().map(literal).collect::<Result<_, _>>()?)
                }
                _ => return Err(format!("`{expr}` is not membership in an attribute")),
            }
        }
        "is" if is_resource(&arg["left"]) && arg.get("in").is_none() => {
            if arg["entity_type"] == kind {
                Filter::And(Vec::new())
            } else {
                Filter::Or(Vec::new())
            }
        }
        "if-then-else" => {
            let test = condition(&arg["if"], kind)?;
            Filter::Or(vec![
                Filter::And(vec![test.clone(), condition(&arg["then"], kind)?]),
                Filter::And(vec![
                    Filter::Not(Box::new(test)),
                    condition(&arg["else"], kind)?,
                ]),
            ])
        }
        _ => {
            return Err(format!(
                "`{expr}` uses an operator list filters do not hold"
            ));
        }
    })
}

/// Whether `expr` is the resource (unknown in a residual).
fn is_resource(expr: &Value) -> bool {
    match operator(expr) {
        Ok(("Var", name)) => name == "resource",
        Ok(("unknown", args)) => args[0]["Value"] == "resource",
        _ => false,
    }
}

/// `resource.name`, as the attribute's name.
fn attribute(expr: &Value) -> Option<String> {
    match operator(expr) {
        Ok((".", arg)) if is_resource(&arg["left"]) => arg["attr"].as_str().map(str::to_owned),
        _ => None,
    }
}

/// A literal as the JSON value the filter compares with.
fn literal(expr: &Value) -> Result<Value, String> {
    match operator(expr)? {
        ("Value", value @ (Value::Bool(_) | Value::Number(_) | Value::String(_))) => {
            Ok(value.clone())
        }
        _ => Err(format!("`{expr}` is not a string, boolean or number")),
    }
}

/// A JSON attribute as Cedar holds it; `None` for a null (the attribute is left out).
fn expression(name: &str, value: &Value) -> Result<Option<RestrictedExpression>, EngineError> {
    Ok(Some(match value {
        Value::Null => return Ok(None),
        Value::Bool(b) => RestrictedExpression::new_bool(*b),
        Value::String(s) => RestrictedExpression::new_string(s.clone()),
        Value::Number(n) => match n.as_i64() {
            Some(n) => RestrictedExpression::new_long(n),
            None => {
                return Err(EngineError::Question(format!(
                    "the attribute `{name}` is a number Cedar cannot hold (a fraction, or beyond 64 bits)"
                )));
            }
        },
        Value::Array(items) => RestrictedExpression::new_set(
            items
                .iter()
                .map(|item| expression(name, item))
                .collect::<Result<Vec<_>, _>>()?
                .into_iter()
                .flatten(),
        ),
        Value::Object(fields) => {
            let mut record = Vec::new();
            for (field, value) in fields {
                if let Some(value) = expression(&format!("{name}.{field}"), value)? {
                    record.push((field.clone(), value));
                }
            }
            RestrictedExpression::new_record(record).map_err(|error| {
                EngineError::Question(format!("the attribute `{name}`: {error}"))
            })?
        }
    }))
}

/// A setup error naming `file`, with Cedar's message and the line and column of the
/// first place it points at.
fn invalid(file: &str, text: &str, error: &(dyn Diagnostic + Send + Sync + 'static)) -> SetupError {
    let position = error
        .labels()
        .and_then(|mut labels| labels.next())
        .map(|label| {
            let before = &text[..label.offset().min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map_or(0, |at| at + 1) + 1;
            format!(":{line}:{column}")
        })
        .unwrap_or_default();
    let help = error
        .help()
        .map(|help| format!(" ({help})"))
        .unwrap_or_default();
    SetupError::InvalidSetting {
        setting: "permissions",
        reason: format!("{file}{position}: {error}{help}"),
    }
}

impl PermissionEngine for Cedar {
    fn decide<'a>(&'a self, question: &'a Question<'a>) -> DecisionFuture<'a> {
        let answer = self.ask(question);
        Box::pin(async move { answer })
    }

    fn plan<'a>(&'a self, question: &'a ListQuestion<'a>) -> PlanFuture<'a> {
        let answer = self.list_plan(question);
        Box::pin(async move { answer })
    }

    fn knows(&self, action: &str, on: Option<&str>) -> Result<(), String> {
        let actions: Vec<EntityUid> = self.schema.actions().cloned().collect();
        let names: Vec<String> = actions
            .iter()
            .map(|uid| uid.id().unescaped().to_owned())
            .collect();
        let Some(index) = names.iter().position(|name| name == action) else {
            let nearest = crate::names::nearest(action, &names)
                .map(|name| format!("; did you mean \"{name}\"?"))
                .unwrap_or_default();
            return Err(format!("the schema has no action \"{action}\"{nearest}"));
        };
        if let Some(on) = on {
            let applies = self
                .schema
                .resources_for_action(&actions[index])
                .is_some_and(|mut types| types.any(|ty| ty.to_string() == on));
            if !applies {
                return Err(format!(
                    "the schema's action \"{action}\" does not apply to the resource type `{on}`"
                ));
            }
        }
        Ok(())
    }

    fn describe(&self) -> String {
        format!("cedar sha256:{}", self.digest)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const SCHEMA: &str = r#"
        entity User { id: String, roles: Set<String> };
        entity Post { author: String, draft: Bool, editors: Set<String> };
        action read, edit appliesTo { principal: User, resource: Post };
    "#;

    const POLICIES: &str = r#"
        @id("published")
        permit (principal, action == Action::"read", resource) when { !resource.draft };
        @id("authors and editors")
        permit (principal, action in [Action::"read", Action::"edit"], resource)
        when { resource.author == principal.id || resource.editors.contains(principal.id) };
        @id("admins")
        permit (principal, action == Action::"read", resource)
        when { principal.roles.contains("admin") };
        @id("no banned posts")
        forbid (principal, action == Action::"edit", resource)
        when { ["banned", "gone"].contains(resource.author) };
    "#;

    fn plan(id: &str, roles: &[&str], action: &str) -> Plan {
        let cedar = Cedar::new(POLICIES, SCHEMA).unwrap();
        cedar
            .list_plan(&ListQuestion {
                route: "GET /posts",
                subject: Subject {
                    id,
                    roles: roles.to_vec(),
                    tenant: None,
                },
                action,
                kind: "Post",
            })
            .unwrap()
    }

    fn post(author: &str, draft: bool, editors: &[&str]) -> serde_json::Map<String, Value> {
        let Value::Object(map) = json!({"author": author, "draft": draft, "editors": editors})
        else {
            unreachable!()
        };
        map
    }

    #[test]
    fn an_admin_reads_everything() {
        assert_eq!(plan("ad", &["admin"], "read"), Plan::All);
    }

    #[test]
    fn a_plan_admits_what_the_policies_permit() {
        let anonymous = plan("", &[], "read");
        assert!(anonymous.admits(&post("al", false, &[])));
        assert!(!anonymous.admits(&post("al", true, &[])));
        let bo = plan("bo", &[], "read");
        assert!(bo.admits(&post("bo", true, &[])));
        assert!(bo.admits(&post("al", true, &["bo"])));
        assert!(bo.admits(&post("al", false, &[])));
        assert!(!bo.admits(&post("al", true, &["cy"])));
        let edit = plan("banned", &[], "edit");
        assert!(!edit.admits(&post("banned", false, &[])), "{edit:?}");
        assert!(edit.admits(&post("al", false, &["banned"])), "{edit:?}");
    }

    #[test]
    fn a_plan_agrees_with_every_decision() {
        let cedar = Cedar::new(POLICIES, SCHEMA).unwrap();
        let posts = [
            post("al", false, &[]),
            post("al", true, &[]),
            post("bo", true, &[]),
            post("al", true, &["bo"]),
            post("banned", false, &["bo"]),
        ];
        for (id, roles) in [
            ("", vec![]),
            ("bo", vec![]),
            ("banned", vec![]),
            ("ad", vec!["admin"]),
        ] {
            for action in ["read", "edit"] {
                let plan = plan(id, &roles, action);
                for (n, attributes) in posts.iter().enumerate() {
                    let question = Question {
                        route: "GET /posts",
                        subject: Subject {
                            id,
                            roles: roles.clone(),
                            tenant: None,
                        },
                        action,
                        object: Some(super::super::Object {
                            kind: "Post",
                            id: n.to_string(),
                            attributes: attributes.clone(),
                        }),
                    };
                    let evaluated = cedar.evaluate(&question).unwrap();
                    assert_eq!(
                        plan.admits(attributes),
                        evaluated.allowed,
                        "{id} {action} {attributes:?}: {plan:?}"
                    );
                    // The compiled decision is taken, and is Cedar's, reasons included.
                    let compiled = cedar.compiled(&question.subject, action, "Post");
                    let decided = compiled.as_ref().as_ref().unwrap().decide(attributes);
                    let sorted = |decision: &Decision| {
                        let mut reasons = decision.reasons.clone();
                        reasons.sort();
                        (decision.allowed, reasons)
                    };
                    let decided = decided.expect("the compiled policies decide");
                    assert_eq!(sorted(&decided), sorted(&evaluated), "{id} {action} {n}");
                    assert_eq!(cedar.ask(&question).unwrap(), decided);
                }
            }
        }
    }

    fn question<'a>(
        id: &'a str,
        action: &'a str,
        attributes: serde_json::Map<String, Value>,
    ) -> Question<'a> {
        Question {
            route: "PUT /posts/{id}",
            subject: Subject {
                id,
                roles: vec![],
                tenant: None,
            },
            action,
            object: Some(super::super::Object {
                kind: "Post",
                id: "1".into(),
                attributes,
            }),
        }
    }

    #[test]
    fn what_the_compiled_policies_cannot_decide_cedar_does() {
        let cedar = Cedar::new(POLICIES, SCHEMA).unwrap();
        // No `editors`: Cedar stops on the missing attribute in the permit, which then
        // does not apply; the compiled filter leaves that to Cedar.
        let Value::Object(missing) = json!({"author": "al", "draft": false}) else {
            unreachable!()
        };
        let asked = question("bo", "edit", missing.clone());
        let compiled = cedar.compiled(&asked.subject, "edit", "Post");
        assert!(
            compiled
                .as_ref()
                .as_ref()
                .unwrap()
                .decide(&missing)
                .is_none()
        );
        assert_eq!(cedar.ask(&asked).unwrap(), cedar.evaluate(&asked).unwrap());
        // A fraction: Cedar's refusal, not a decision.
        let mut fraction = post("bo", false, &[]);
        fraction.insert("score".into(), json!(0.5));
        let answer = cedar.ask(&question("bo", "edit", fraction));
        assert!(
            matches!(answer, Err(EngineError::Question(_))),
            "{answer:?}"
        );
        // A condition no filter holds: compiled as an error, decided by Cedar.
        let policies = r#"
            @id("a-authors")
            permit (principal, action == Action::"edit", resource)
            when { resource.author like "a*" };
        "#;
        let cedar = Cedar::new(policies, SCHEMA).unwrap();
        let decided = cedar.ask(&question("bo", "edit", post("al", false, &[])));
        assert_eq!(
            decided.unwrap(),
            Decision {
                allowed: true,
                reasons: vec!["a-authors".into()]
            }
        );
        let decided = cedar.ask(&question("bo", "edit", post("bo", false, &[])));
        assert!(!decided.unwrap().allowed);
    }

    #[test]
    fn a_question_about_the_principal_itself_is_cedars() {
        let schema = r#"
            entity User { id: String, roles: Set<String> };
            action view appliesTo { principal: User, resource: User };
        "#;
        let policies = r#"
            @id("oneself")
            permit (principal, action == Action::"view", resource)
            when { resource.id == principal.id };
        "#;
        let cedar = Cedar::new(policies, schema).unwrap();
        let about = |id: &'static str, of: &str| Question {
            route: "GET /users/{id}",
            subject: Subject {
                id,
                roles: vec![],
                tenant: None,
            },
            action: "view",
            object: Some(super::super::Object {
                kind: "User",
                id: of.to_owned(),
                attributes: match json!({"id": of, "roles": []}) {
                    Value::Object(map) => map,
                    _ => unreachable!(),
                },
            }),
        };
        let itself = about("al", "al");
        assert_eq!(cedar.ask(&itself), cedar.evaluate(&itself));
        let other = about("bo", "al");
        assert_eq!(cedar.ask(&other), cedar.evaluate(&other));
        assert!(!cedar.ask(&other).unwrap().allowed);
    }

    #[test]
    fn one_compilation_per_principal_action_and_type() {
        let cedar = Cedar::new(POLICIES, SCHEMA).unwrap();
        for _ in 0..3 {
            for id in ["al", "bo"] {
                for action in ["read", "edit"] {
                    cedar
                        .ask(&question(id, action, post("al", false, &[])))
                        .unwrap();
                }
            }
        }
        assert_eq!(cedar.compilations.len(), 4);
    }

    #[test]
    fn a_condition_no_filter_holds_is_an_error() {
        let policies = r#"permit (principal, action == Action::"read", resource) when { resource.author like "a*" };"#;
        let cedar = Cedar::new(policies, SCHEMA).unwrap();
        let answer = cedar.list_plan(&ListQuestion {
            route: "GET /posts",
            subject: Subject {
                id: "al",
                roles: vec![],
                tenant: None,
            },
            action: "read",
            kind: "Post",
        });
        assert!(
            matches!(answer, Err(EngineError::Question(_))),
            "{answer:?}"
        );
    }
}
