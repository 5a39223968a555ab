//! What the attributes' expansion names, and nothing else should: re-exports only, so
//! that generated code reaches the runtime through absolute paths
//! (`::secure_endpoint::__private::…`) whatever the user imported. Not part of the API.

pub use axum::extract::{FromRef, FromRequest, FromRequestParts, Query, Request};
pub use axum::handler::Handler;
pub use axum::response::IntoResponse;
pub use axum::{Form, Json};

pub use crate::guard::{
    AnyField, BodyGuarded, BodyPlain, BodyProbe, Field, FieldFor, GuardedKey, Nested,
    NestedGuarded, NestedPlain, OptionalField, Respond, RespondGuarded, RespondPlain,
    ReturnGuarded, ReturnPlain, ReturnProbe, SerializeKnown, SerializeProbe, SerializeUnknown,
    Snapshot, Viewer, assert_response,
};
pub use crate::handler::{Decision, Guards, HandlerFuture, NotAPrincipal, Probe, SecureHandler};
pub use crate::input::{InputFor, ValidInput, assert_valid_input};
pub use crate::names::{RoleNames, ScopeNames};
pub use crate::parameter::{
    AsBody, AsPrincipal, ByParts, ByRequest, Parameter, Unknown as UnknownParameter,
    assert_parameter,
};
pub use crate::permission::{Entity, entity_attributes};
pub use crate::pipeline::collection::load_collection;
pub use crate::pipeline::concurrency::admit;
pub use crate::pipeline::extract::{from_parts, from_request};
pub use crate::pipeline::failures::settle_failures;
pub use crate::pipeline::input::{Encoding, validated_body, validated_query};
pub use crate::pipeline::limit::limit_inputs;
pub use crate::pipeline::load::{check_owner, load_resource};
pub use crate::pipeline::permit::{list_plan, object_of, permit, permit_items, permit_route};
pub use crate::pipeline::tenant::check_tenant;
pub use crate::pipeline::timeout::within_timeout;
pub use crate::pipeline::{Admitted, enforce};
pub use crate::policy::Policy;
pub use crate::principal::{Authenticated, Claims};
pub use crate::rate::{Counts, Limit, LimitField, RateKey};
pub use crate::rejection::Rejection;
pub use crate::resource::{
    Collection, ListableFrom, LoadableFrom, OwnerId, Resource, assert_collection, assert_resource,
};
pub use crate::schema::{
    SchemaProbe, Schemas, WithSchema, WithoutSchema, path_keys, role as schema_role,
};
pub use serde::ser::{Serialize, SerializeStruct, Serializer};
pub use serde_json::{Map, Value};
