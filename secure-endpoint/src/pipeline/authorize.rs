//! Step 3, `role`/`roles` and `scope`/`scopes`: the principal holds at least one of the
//! roles and every one of the scopes, 403 otherwise.

use super::Admitted;
use crate::audit::{self, Step};
use crate::policy::Policy;
use crate::principal::AnyPrincipal;
use crate::rejection::Rejection;

/// The caller's roles and scopes against `policy`'s.
pub(crate) fn authorize(admitted: &Admitted, policy: &Policy) -> Result<(), Rejection> {
    let route = admitted.audit_route();
    let verdict = match admitted.caller() {
        Some(principal) => roles_and_scopes(principal, policy),
        None => Err("no authenticated principal".into()),
    };
    match verdict {
        Ok(()) => {
            audit::allow(route, Step::Authorize, "the roles and scopes are held");
            Ok(())
        }
        Err(reason) => {
            audit::deny(route, Step::Authorize, &reason);
            Err(Rejection::Forbidden)
        }
    }
}

fn roles_and_scopes(principal: &dyn AnyPrincipal, policy: &Policy) -> Result<(), String> {
    let roles = policy.roles();
    if !roles.is_empty() && !roles.iter().any(|role| principal.has_role(role)) {
        return Err(format!(
            "principal {:?} holds none of the roles {:?}",
            principal.id(),
            roles
        ));
    }
    if let Some(missing) = policy.scopes().iter().find(|s| !principal.has_scope(s)) {
        return Err(format!(
            "principal {:?} lacks scope {missing:?}",
            principal.id()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use http::StatusCode;

    use crate::pipeline::harness::{bearer, empty, request, send, settings};
    use crate::routing::get;
    use crate::{Claims, SecureRouter, secure};

    #[secure(auth, roles = ["admin", "auditor"], scope = "stats:read")]
    async fn stats(reader: Claims) -> String {
        reader.sub
    }

    fn router() -> SecureRouter {
        SecureRouter::new()
            .route("/stats", get(stats))
            .with_security(settings().build().unwrap())
    }

    async fn status(roles: &[&str], scope: Option<&str>) -> (StatusCode, String) {
        let mut claims = crate::pipeline::harness::mint().claims("7", roles);
        if let Some(scope) = scope {
            claims["scope"] = scope.into();
        }
        let token = crate::pipeline::harness::mint().sign(&claims);
        let answer = send(router(), empty(bearer(request("GET", "/stats"), &token))).await;
        (answer.status, answer.body)
    }

    #[tokio::test]
    async fn one_of_the_roles_and_every_scope_pass() {
        assert_eq!(
            status(&["auditor"], Some("other stats:read")).await,
            (StatusCode::OK, "7".to_owned())
        );
    }

    #[tokio::test]
    async fn a_missing_role_or_scope_is_forbidden_and_says_nothing_more() {
        for (roles, scope) in [
            (&["editor"][..], Some("stats:read")),
            (&["admin"][..], None),
            (&["admin"][..], Some("stats:write")),
            (&[][..], Some("stats:read")),
        ] {
            assert_eq!(
                status(roles, scope).await,
                (StatusCode::FORBIDDEN, r#"{"error":"Forbidden"}"#.to_owned()),
                "{roles:?} {scope:?}"
            );
        }
    }

    #[tokio::test]
    async fn roles_are_never_taken_from_an_unverified_token() {
        let forged = crate::testing::TokenMint::hmac(
            jsonwebtoken::Algorithm::HS256,
            *b"another secret of thirty-two byt",
        )
        .token("7", &["admin"]);
        let answer = send(router(), empty(bearer(request("GET", "/stats"), &forged))).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    }
}
