//! Guarded fields (`#[guarded(role = "…")]`): a validated body carrying a field its writer
//! may not write is refused with 403 (the log names the field, the client does not), and
//! the answer is serialized for the caller the request was admitted as. Which fields a
//! caller may read or write is `guard/`'s; this step only says who the caller is, and
//! refuses.

use axum::response::{IntoResponse, Response};
use http::request::Parts;

use super::Admitted;
use crate::audit::{self, Step};
use crate::guard::{Snapshot, Viewer};
use crate::handler::SecureHandler;
use crate::rejection::Rejection;

impl Admitted {
    /// Who the handler's answer is for, and who wrote its body: the verified caller, or
    /// the anonymous one.
    pub fn viewer<H: SecureHandler>(&self, _parts: &Parts) -> Viewer<'_> {
        Viewer::of_principal(self.caller())
    }

    /// The caller, kept to answer for after the request is consumed.
    pub fn snapshot<H: SecureHandler>(&self, _parts: &Parts) -> Snapshot {
        Snapshot::new(self.shared_caller())
    }

    /// The refusal of a body carrying `field`, which its writer may not write.
    pub fn refuse_write(&self, field: &'static str) -> Response {
        audit::deny_with(
            self.audit_route(),
            Step::Fields,
            "the body carries a field the caller may not write",
            &field,
        );
        Rejection::Forbidden.into_response()
    }
}

#[cfg(test)]
mod tests {
    use http::StatusCode;

    use crate::pipeline::harness::{bearer, json, request, send, settings, token};
    use crate::routing::post;
    use crate::{Claims, Guarded, SecureRouter, secure};

    #[derive(serde::Deserialize, validator::Validate, Guarded)]
    struct Post {
        title: String,
        #[guarded(role = "admin")]
        pinned: Option<bool>,
    }

    #[secure(auth, validate = Post)]
    async fn create(_author: Claims, post: Post) -> String {
        format!("{} {:?}", post.title, post.pinned)
    }

    async fn post_as(roles: &[&str], body: &str) -> (StatusCode, String) {
        let router = SecureRouter::new()
            .route("/posts", post(create))
            .with_security(settings().build().unwrap());
        let answer = send(
            router,
            json(bearer(request("POST", "/posts"), &token("7", roles)), body),
        )
        .await;
        (answer.status, answer.body)
    }

    #[tokio::test]
    async fn a_guarded_field_sent_without_its_role_is_403_and_not_named() {
        assert_eq!(
            post_as(&["editor"], r#"{"title":"t","pinned":true}"#).await,
            (StatusCode::FORBIDDEN, r#"{"error":"Forbidden"}"#.to_owned())
        );
    }

    #[tokio::test]
    async fn the_role_may_write_it_and_anyone_may_leave_it_out() {
        assert_eq!(
            post_as(&["admin"], r#"{"title":"t","pinned":true}"#).await,
            (StatusCode::OK, "t Some(true)".to_owned())
        );
        assert_eq!(
            post_as(&[], r#"{"title":"t"}"#).await,
            (StatusCode::OK, "t None".to_owned())
        );
    }
}
