//! `can`/`on` on a remote decision point over the AuthZEN API: a real Cerbos serving the
//! blog's policies (`examples/blog/policies/cerbos`), asked directly and through a
//! router, and decision points that never answer, refuse or answer in part.

use std::time::{Duration, Instant};

use jsonwebtoken::Algorithm;
use reqwest::{Method, StatusCode};
use secure_endpoint::routing::get;
use secure_endpoint::{
    AuthZen, EngineError, Entity, Filter, JwtAuthenticator, ListQuestion, Object, PermissionEngine,
    Plan, Question, SecureRouter, Security, Subject,
};
use secure_endpoint_tests::cerbos::OwnCerbos;

use super::permissions::{Post, edit, post, posts, show, status};
use secure_endpoint_tests::{SECRET, serve};
use serde_json::json;

fn router(engine: AuthZen) -> SecureRouter {
    let security = Security::builder()
        .authenticator(JwtAuthenticator::hmac(Algorithm::HS256, SECRET).unwrap())
        .permissions(engine)
        .build()
        .unwrap();
    SecureRouter::new()
        .route("/posts/{id}", get(show).put(edit))
        .with_security(security)
        .with_state(posts())
}

fn subject<'a>(id: &'a str, roles: &[&'a str]) -> Subject<'a> {
    Subject {
        id,
        roles: roles.to_vec(),
        tenant: None,
    }
}

fn question<'a>(who: Subject<'a>, action: &'a str, on: &Post) -> Question<'a> {
    Question {
        route: "GET /posts/{id}",
        subject: who,
        action,
        object: Some(Object {
            kind: Post::TYPE,
            id: on.entity_id(),
            attributes: on.attributes(),
        }),
    }
}

fn list_question<'a>(who: Subject<'a>, action: &'a str) -> ListQuestion<'a> {
    ListQuestion {
        route: "GET /posts",
        subject: who,
        action,
        kind: Post::TYPE,
    }
}

#[tokio::test]
async fn cerbos_decides_as_the_blogs_cedar_policies_do() {
    let cerbos = OwnCerbos::start();
    let pdp = AuthZen::new(cerbos.url()).unwrap();
    let (published, draft) = (post(1, false), post(2, true));
    let by_anonymous = Post {
        author: "anonymous".into(),
        ..post(3, true)
    };
    // Who, on which post, and the actions allowed out of read, edit, delete, share.
    let cases: &[(&str, &[&str], &Post, &[&str])] = &[
        ("alice", &[], &draft, &["read", "edit", "delete", "share"]),
        (
            "alice",
            &[],
            &published,
            &["read", "edit", "delete", "share"],
        ),
        ("ed", &[], &draft, &["read", "edit"]),
        ("ed", &[], &published, &["read", "edit"]),
        ("mallory", &[], &draft, &[]),
        ("mallory", &[], &published, &["read"]),
        ("root", &["admin"], &draft, &["read", "delete"]),
        ("root", &["admin"], &published, &["read", "delete"]),
        ("", &[], &draft, &[]),
        ("", &[], &published, &["read"]),
        // An anonymous caller is not the user named `anonymous`.
        ("", &[], &by_anonymous, &[]),
        (
            "anonymous",
            &[],
            &by_anonymous,
            &["read", "edit", "delete", "share"],
        ),
    ];
    for (who, roles, on, allowed) in cases {
        for action in ["read", "edit", "delete", "share"] {
            let asked = question(subject(who, roles), action, on);
            let decision = pdp.decide(&asked).await.unwrap();
            assert_eq!(
                decision.allowed,
                allowed.contains(&action),
                "{who:?} {action} on post {} (draft: {})",
                on.id,
                on.draft
            );
            assert_eq!(decision.reasons, ["resource.Post.vdefault"]);
        }
    }
}

#[tokio::test]
async fn a_batch_is_answered_in_the_order_asked() {
    let cerbos = OwnCerbos::start();
    let pdp = AuthZen::new(cerbos.url()).unwrap();
    let (published, draft) = (post(1, false), post(2, true));
    let questions = vec![
        question(subject("ed", &[]), "edit", &draft),
        question(subject("ed", &[]), "delete", &draft),
        question(subject("mallory", &[]), "read", &draft),
        question(subject("mallory", &[]), "read", &published),
        question(subject("", &[]), "read", &published),
        question(subject("", &[]), "read", &draft),
        question(subject("root", &["admin"]), "delete", &draft),
    ];
    let decisions = pdp.decide_all(&questions).await.unwrap();
    let allowed: Vec<bool> = decisions.iter().map(|d| d.allowed).collect();
    assert_eq!(allowed, [true, false, false, true, true, false, true]);
    // More than one batch's worth (Cerbos takes 50 resources per request), in order.
    let many: Vec<Post> = (0..120).map(|id| post(id, id % 3 == 0)).collect();
    let questions: Vec<Question<'_>> = many
        .iter()
        .map(|on| question(subject("mallory", &[]), "read", on))
        .collect();
    let decisions = pdp.decide_all(&questions).await.unwrap();
    assert_eq!(decisions.len(), 120);
    for (on, decision) in many.iter().zip(&decisions) {
        assert_eq!(decision.allowed, !on.draft, "post {}", on.id);
    }
    assert_eq!(pdp.decide_all(&[]).await, Ok(Vec::new()));
}

#[tokio::test]
async fn plans_are_the_filters_cerbos_states() {
    let cerbos = OwnCerbos::start();
    let pdp = AuthZen::new(cerbos.url()).unwrap();
    let plan = |who: Subject<'static>, action: &'static str| {
        let pdp = &pdp;
        async move { pdp.plan(&list_question(who, action)).await.unwrap() }
    };
    assert_eq!(
        plan(subject("", &[]), "read").await,
        Plan::Only(Filter::Eq("draft".into(), json!(false)))
    );
    assert_eq!(
        plan(subject("alice", &[]), "read").await,
        Plan::Only(Filter::Or(vec![
            Filter::Eq("draft".into(), json!(false)),
            Filter::Eq("author".into(), json!("alice")),
            Filter::Contains("editors".into(), json!("alice")),
        ]))
    );
    assert_eq!(
        plan(subject("alice", &[]), "delete").await,
        Plan::Only(Filter::Eq("author".into(), json!("alice")))
    );
    assert_eq!(plan(subject("root", &["admin"]), "read").await, Plan::All);
    assert_eq!(plan(subject("", &[]), "share").await, Plan::Nothing);
    // The plan admits what the decisions allow.
    let read = plan(subject("ed", &[]), "read").await;
    for (on, admitted) in [(post(1, false), true), (post(2, true), true)] {
        assert_eq!(read.admits(&on.attributes()), admitted);
    }
    let stranger = Post {
        editors: vec![],
        ..post(3, true)
    };
    assert!(!read.admits(&stranger.attributes()));
}

#[tokio::test]
async fn an_editor_edits_over_http_and_a_stranger_is_refused() {
    let cerbos = OwnCerbos::start();
    let base = serve(router(AuthZen::new(cerbos.url()).unwrap())).await;
    let ed = Some(("ed", &[][..]));
    let mallory = Some(("mallory", &[][..]));
    assert_eq!(
        status(&base, Method::PUT, "/posts/2", ed).await,
        (StatusCode::OK, "ed edits 2".into())
    );
    // A published post the stranger may read: 403.
    assert_eq!(
        status(&base, Method::PUT, "/posts/1", mallory).await,
        (StatusCode::FORBIDDEN, r#"{"error":"Forbidden"}"#.into())
    );
    // A draft they may not read: 404, as a missing post.
    for method in [Method::PUT, Method::GET] {
        assert_eq!(
            status(&base, method, "/posts/2", mallory).await,
            (StatusCode::NOT_FOUND, r#"{"error":"Not found"}"#.into())
        );
    }
    assert_eq!(
        status(&base, Method::GET, "/posts/1", None).await,
        (StatusCode::OK, "post 1".into())
    );
    assert_eq!(
        status(&base, Method::GET, "/posts/2", None).await.0,
        StatusCode::NOT_FOUND
    );
}

/// A decision point that accepts connections and never answers.
async fn silent_decision_point() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((connection, _)) = listener.accept().await {
            held.push(connection);
        }
    });
    url
}

#[tokio::test]
async fn a_decision_point_that_never_answers_is_503_within_the_timeout() {
    let pdp = AuthZen::new(&silent_decision_point().await)
        .unwrap()
        .timeout(Duration::from_millis(300));
    let base = serve(router(pdp)).await;
    let started = Instant::now();
    let (code, body) = status(&base, Method::PUT, "/posts/2", Some(("ed", &[]))).await;
    assert_eq!(
        (code, body.as_str()),
        (
            StatusCode::SERVICE_UNAVAILABLE,
            r#"{"error":"Service unavailable"}"#
        )
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    // Nobody listening at all: 503 as well, never an answer from the handler.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let base = serve(router(AuthZen::new(&url).unwrap())).await;
    assert_eq!(
        status(&base, Method::GET, "/posts/1", None).await,
        (
            StatusCode::SERVICE_UNAVAILABLE,
            r#"{"error":"Service unavailable"}"#.into()
        )
    );
}

#[tokio::test]
async fn waiting_for_a_slot_counts_inside_the_timeout() {
    let pdp = AuthZen::new(&silent_decision_point().await)
        .unwrap()
        .timeout(Duration::from_millis(500))
        .max_in_flight(1);
    let (draft, published) = (post(2, true), post(1, false));
    let first = question(subject("ed", &[]), "edit", &draft);
    let second = question(subject("ed", &[]), "read", &published);
    let started = Instant::now();
    let (a, b) = tokio::join!(pdp.decide(&first), pdp.decide(&second));
    for answer in [a, b] {
        assert!(
            matches!(&answer, Err(EngineError::Unavailable(why)) if why.contains("no answer within")),
            "{answer:?}"
        );
    }
    // Both gave up at the same deadline: the second did not wait for the first's.
    assert!(
        started.elapsed() < Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
}

/// A decision point that answers every request with `status` and `body`.
async fn fixed_decision_point(status: u16, body: serde_json::Value) -> String {
    let answer = move || {
        let body = body.clone();
        async move {
            (
                axum::http::StatusCode::from_u16(status).unwrap(),
                axum::Json(body),
            )
        }
    };
    let app = axum::Router::new().fallback(answer);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

#[tokio::test]
async fn a_partial_or_refused_answer_is_an_error_never_a_decision() {
    let (published, draft) = (post(1, false), post(2, true));
    let questions = [
        question(subject("ed", &[]), "edit", &draft),
        question(subject("ed", &[]), "read", &published),
    ];
    let one_for_two = fixed_decision_point(200, json!({ "evaluations": [{ "decision": true }] }));
    let pdp = AuthZen::new(&one_for_two.await).unwrap();
    assert!(
        matches!(pdp.decide_all(&questions).await, Err(EngineError::Partial(why)) if why.contains("1 decisions for 2 questions"))
    );
    let undecided = fixed_decision_point(200, json!({ "context": {} }));
    let pdp = AuthZen::new(&undecided.await).unwrap();
    assert!(matches!(
        pdp.decide(&questions[0]).await,
        Err(EngineError::Partial(_))
    ));
    let refusing = fixed_decision_point(400, json!({ "message": "subject.id: value is required" }));
    let pdp = AuthZen::new(&refusing.await).unwrap();
    assert_eq!(
        pdp.decide(&questions[0]).await,
        Err(EngineError::Question(format!(
            "/access/v1/evaluation at {} answered 400 Bad Request: subject.id: value is required",
            pdp.describe().trim_start_matches("authzen ")
        )))
    );
    let failing = fixed_decision_point(500, json!({ "decision": true }));
    let pdp = AuthZen::new(&failing.await).unwrap();
    assert!(matches!(
        pdp.decide(&questions[0]).await,
        Err(EngineError::Unavailable(_))
    ));
    let unreadable = fixed_decision_point(
        200,
        json!({ "filter": { "kind": "KIND_CONDITIONAL", "condition": {
            "expression": { "operator": "lt", "operands": [
                { "variable": "request.resource.attr.id" }, { "value": 10 }
            ] }
        } } }),
    );
    let pdp = AuthZen::new(&unreadable.await).unwrap();
    assert!(matches!(
        pdp.plan(&list_question(subject("ed", &[]), "read")).await,
        Err(EngineError::Question(why)) if why.contains("`lt`")
    ));
    // The same never-decided answer through a router: 503, the handler never reached.
    let base = serve(router(
        AuthZen::new(&fixed_decision_point(200, json!({})).await).unwrap(),
    ))
    .await;
    assert_eq!(
        status(&base, Method::PUT, "/posts/2", Some(("ed", &[])))
            .await
            .0,
        StatusCode::SERVICE_UNAVAILABLE
    );
}
