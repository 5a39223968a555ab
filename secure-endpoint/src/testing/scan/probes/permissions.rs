//! Step `permit` attacked: a `can` route called by a principal the engine is asked
//! about. The scanner puts a recorder in front of the router's permission engine, so it
//! knows what the engine answered for each probe: an answer of 2xx is a finding when the
//! engine denied the route's action to the caller, or was never asked at all.

use std::sync::{Arc, Mutex};

use axum::body::Body;
use http::Request;

use crate::permission::{
    DecisionFuture, DecisionsFuture, Engine, ListQuestion, PermissionEngine, PlanFuture, Question,
};
use crate::policy::Policy;

use super::super::scanner::{Scanner, next_address};

/// One answer of the engine: who asked which action, and whether it was permitted
/// (`None`: a list's plan, which permits nothing by itself).
type Answer = (String, String, Option<bool>);

/// The router's engine, with every answer it gives written down.
pub(in crate::testing::scan) struct Recorder {
    engine: Engine,
    answers: Mutex<Vec<Answer>>,
}

impl Recorder {
    pub(in crate::testing::scan) fn new(engine: Engine) -> Arc<Recorder> {
        Arc::new(Recorder {
            engine,
            answers: Mutex::new(Vec::new()),
        })
    }

    fn write(&self, question: &Question<'_>, allowed: Option<bool>) {
        self.answers.lock().expect("not poisoned").push((
            question.subject.id.to_owned(),
            question.action.to_owned(),
            allowed,
        ));
    }

    fn take(&self) -> Vec<Answer> {
        std::mem::take(&mut *self.answers.lock().expect("not poisoned"))
    }
}

/// The recorder, as the router's engine.
pub(in crate::testing::scan) struct Recording(pub(in crate::testing::scan) Arc<Recorder>);

impl PermissionEngine for Recording {
    fn decide<'a>(&'a self, question: &'a Question<'a>) -> DecisionFuture<'a> {
        Box::pin(async move {
            let decision = self.0.engine.decide(question).await?;
            self.0.write(question, Some(decision.allowed));
            Ok(decision)
        })
    }

    fn decide_all<'a>(&'a self, questions: &'a [Question<'a>]) -> DecisionsFuture<'a> {
        Box::pin(async move {
            let decisions = self.0.engine.decide_all(questions).await?;
            for (question, decision) in questions.iter().zip(&decisions) {
                self.0.write(question, Some(decision.allowed));
            }
            Ok(decisions)
        })
    }

    fn plan<'a>(&'a self, question: &'a ListQuestion<'a>) -> PlanFuture<'a> {
        Box::pin(async move {
            let plan = self.0.engine.plan(question).await?;
            self.0.answers.lock().expect("not poisoned").push((
                question.subject.id.to_owned(),
                question.action.to_owned(),
                None,
            ));
            Ok(plan)
        })
    }

    fn knows(&self, action: &str, on: Option<&str>) -> Result<(), String> {
        self.0.engine.knows(action, on)
    }

    fn describe(&self) -> String {
        self.0.engine.describe()
    }
}

impl Scanner {
    /// The route called by the intruder, holding every role and scope it asks for, so
    /// that only the engine can refuse: a 2xx must follow the engine's permission.
    pub(in crate::testing::scan) async fn permissions(
        &mut self,
        label: &str,
        policy: &Policy,
        request: &dyn Fn(Option<&str>) -> Request<Body>,
    ) {
        let (Some((action, _)), Some(recorder)) = (policy.permission(), self.permits.clone())
        else {
            return;
        };
        let intruder = self.intruder();
        let Some(token) = self.privileged_token(&intruder, policy) else {
            return;
        };
        let case = "a principal the engine is asked about";
        recorder.take();
        let seen = self
            .send(label, case, request(Some(&token)), next_address())
            .await;
        let Some(seen) = seen else {
            return;
        };
        let answers: Vec<Answer> = recorder
            .take()
            .into_iter()
            .filter(|(who, asked, _)| who.ends_with(intruder.as_str()) && asked == action)
            .collect();
        if !seen.status.is_success() {
            return;
        }
        if answers.is_empty() {
            self.find(
                label,
                case,
                format!(
                    "answered {} without asking the engine about `{action}`",
                    seen.status
                ),
            );
        } else if answers
            .iter()
            .any(|(_, _, allowed)| *allowed == Some(false))
        {
            self.find(
                label,
                case,
                format!(
                    "answered {} though the engine denied `{action}` to the caller",
                    seen.status
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use axum::routing::get;
    use jsonwebtoken::Algorithm;

    use super::*;
    use crate::permission::{Decision, EngineError, Subject};
    use crate::testing::TokenMint;
    use crate::testing::scan::{ScanSettings, scan_with};
    use crate::{SecureRouter, secure};

    /// Denies everything.
    struct No;

    impl PermissionEngine for No {
        fn decide<'a>(&'a self, _question: &'a Question<'a>) -> DecisionFuture<'a> {
            Box::pin(async {
                Ok::<_, EngineError>(Decision {
                    allowed: false,
                    reasons: Vec::new(),
                })
            })
        }
    }

    #[secure(auth, can = "edit")]
    async fn edit() -> &'static str {
        "edited"
    }

    const CASE: &str = "a principal the engine is asked about";

    /// A route declared `can = "edit"` served by `app`: what the probe finds.
    async fn findings(app: axum::Router, recorder: Arc<Recorder>) -> Vec<String> {
        let inventory = SecureRouter::<()>::new()
            .route("/x", crate::routing::get(edit))
            .inventory();
        let settings = ScanSettings::new().mint(TokenMint::hmac(Algorithm::HS256, [7u8; 32]));
        let report = scan_with(app, &inventory, settings, None, None, Some(recorder)).await;
        report
            .findings
            .into_iter()
            .filter(|finding| finding.case == CASE)
            .map(|finding| finding.detail)
            .collect()
    }

    #[tokio::test]
    async fn a_route_that_answers_though_the_engine_denied_is_found() {
        let recorder = Recorder::new(Arc::new(No));
        let asked = Arc::clone(&recorder);
        // Asks the engine, and answers 200 whatever it said.
        let app = axum::Router::new().route(
            "/x",
            get(move || {
                let engine = Recording(Arc::clone(&asked));
                async move {
                    let question = Question {
                        route: "GET /x",
                        subject: Subject {
                            id: "scan-intruder",
                            roles: Vec::new(),
                            tenant: None,
                        },
                        action: "edit",
                        object: None,
                    };
                    let _ = engine.decide(&question).await;
                    "edited"
                }
            }),
        );
        let found = findings(app, recorder).await;
        assert!(
            found
                .iter()
                .any(|detail| detail.contains("though the engine denied `edit`")),
            "{found:?}"
        );
    }

    #[tokio::test]
    async fn a_route_that_never_asks_the_engine_is_found() {
        let app = axum::Router::new().route("/x", get(|| async { "edited" }));
        let found = findings(app, Recorder::new(Arc::new(No))).await;
        assert!(
            found
                .iter()
                .any(|detail| detail.contains("without asking the engine")),
            "{found:?}"
        );
    }
}
