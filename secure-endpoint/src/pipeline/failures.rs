//! After the handler, `limit(..., on = "failure")`: a request the handler answered 401
//! or 403 is counted on each limit of failures, with the keys kept when the limits were
//! asked (the body field's, the address, the principal). Any other answer counts
//! nothing: a successful login never brings its account closer to the limit.

use http::StatusCode;

use super::Admitted;
use crate::audit::{self, Step};

/// Counts the handler's answer (its status) on the route's limits of failures, if it is
/// one.
pub async fn count_failure(admitted: &Admitted, status: StatusCode) {
    if !matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
        return;
    }
    let Some(limits) = admitted.route().and_then(|r| r.limits()) else {
        return;
    };
    let kept = admitted.failure_keys();
    if kept.is_empty() {
        return;
    }
    limits.count_failures(kept).await;
    audit::deny(
        admitted.audit_route(),
        Step::Rate,
        "the handler refused: counted on the limits of failures",
    );
}
