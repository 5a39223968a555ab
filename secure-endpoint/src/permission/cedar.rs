//! Cedar, in process (feature `cedar`): policies and schema validated against each other
//! when the settings are built, each question answered by Cedar's authorizer over two
//! entities: the principal and the resource.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::str::FromStr;

use cedar_policy::{
    Authorizer, Context, Decision as CedarDecision, Entities, Entity as CedarEntity, EntityId,
    EntityTypeName, EntityUid, PolicySet, Request, RestrictedExpression, Schema, ValidationMode,
    Validator,
};
use miette::Diagnostic;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{Decision, DecisionFuture, EngineError, PermissionEngine, Question};
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
    digest: String,
    authorizer: Authorizer,
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
        Ok(Cedar {
            policies: parsed,
            schema: schema_parsed,
            principal_type: EntityTypeName::from_str("User").expect("`User` is a type name"),
            digest: digest.iter().take(8).map(|b| format!("{b:02x}")).collect(),
            authorizer: Authorizer::new(),
        })
    }

    /// The principal's entity type, `User` unless another is given.
    pub fn principal_type(mut self, name: &str) -> Result<Cedar, SetupError> {
        self.principal_type =
            EntityTypeName::from_str(name).map_err(|error| SetupError::InvalidSetting {
                setting: "permissions",
                reason: format!("{name:?} is not a Cedar type name: {error}"),
            })?;
        Ok(self)
    }

    fn entity_uid(kind: &str, id: &str) -> Result<EntityUid, EngineError> {
        let kind = EntityTypeName::from_str(kind).map_err(|error| {
            EngineError::Question(format!("{kind:?} is not a Cedar type name: {error}"))
        })?;
        Ok(EntityUid::from_type_name_and_id(kind, EntityId::new(id)))
    }

    fn ask(&self, question: &Question<'_>) -> Result<Decision, EngineError> {
        let subject = &question.subject;
        let principal = EntityUid::from_type_name_and_id(
            self.principal_type.clone(),
            EntityId::new(subject.id),
        );
        let action = Self::entity_uid("Action", question.action)?;
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
        let mut entities = vec![
            CedarEntity::new(principal.clone(), principal_attrs, HashSet::new())
                .map_err(|error| EngineError::Question(error.to_string()))?,
        ];
        let resource = match &question.object {
            Some(object) => {
                let uid = Self::entity_uid(object.kind, &object.id)?;
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
            None => Self::entity_uid("Route", question.route)?,
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
        let response = self
            .authorizer
            .is_authorized(&request, &self.policies, &entities);
        if let Some(error) = response.diagnostics().errors().next() {
            tracing::warn!(%error, "a Cedar policy could not be evaluated");
        }
        let reasons = response
            .diagnostics()
            .reason()
            .map(|id| {
                self.policies
                    .policy(id)
                    .and_then(|policy| policy.annotation("id").map(str::to_owned))
                    .unwrap_or_else(|| id.to_string())
            })
            .collect();
        Ok(Decision {
            allowed: response.decision() == CedarDecision::Allow,
            reasons,
        })
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
