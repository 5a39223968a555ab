//! The example service over HTTP, on 127.0.0.1:0.

mod common;

use std::net::SocketAddr;

use blog::{AppState, Config};
use reqwest::StatusCode;
use secure_endpoint::RoutePolicy;
use secure_endpoint_tests::{SECRET, assert_security_headers};
use serde_json::{Value, json};

async fn start() -> (String, AppState) {
    let config = Config::for_tests(SECRET, ADMIN_PASSWORD);
    let (app, state) = blog::app(&config).await.expect("the blog starts");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let service = app
        .try_into_make_service_with_connect_info::<SocketAddr>()
        .expect("settings complete");
    tokio::spawn(async move { axum::serve(listener, service).await.unwrap() });
    (format!("http://{addr}"), state)
}

async fn post_json(base: &str, path: &str, body: Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{base}{path}"))
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn get(base: &str, path: &str, token: Option<&str>) -> reqwest::Response {
    secure_endpoint_tests::get(&format!("{base}{path}"), token).await
}

const ADMIN_PASSWORD: &str = "admin password for tests";

async fn login(base: &str, username: &str, password: &str) -> String {
    let response = post_json(
        base,
        "/auth/login",
        json!({"username": username, "password": password}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    body["token"].as_str().expect("a token").to_owned()
}

async fn register_and_login(base: &str, username: &str) -> String {
    let response = post_json(
        base,
        "/auth/register",
        json!({"username": username, "password": "correct horse"}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let response = post_json(
        base,
        "/auth/login",
        json!({"username": username, "password": "correct horse"}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    body["token"].as_str().expect("a token").to_owned()
}

#[tokio::test]
async fn register_login_and_me() {
    let (base, _) = start().await;
    let response = post_json(
        &base,
        "/auth/register",
        json!({"username": "alice", "password": "correct horse"}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_security_headers(&response);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["username"], "alice");
    let id = body["id"].as_i64().unwrap();

    let response = post_json(
        &base,
        "/auth/login",
        json!({"username": "alice", "password": "correct horse"}),
    )
    .await;
    let token: Value = response.json().await.unwrap();
    let token = token["token"].as_str().unwrap();

    let response = get(&base, "/me", Some(token)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let me: Value = response.json().await.unwrap();
    assert_eq!(me, json!({"id": id.to_string(), "roles": []}));

    assert_eq!(
        get(&base, "/me", None).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_taken_username_is_409() {
    let (base, _) = start().await;
    register_and_login(&base, "bob").await;
    let response = post_json(
        &base,
        "/auth/register",
        json!({"username": "bob", "password": "another one"}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert_security_headers(&response);
    assert_eq!(
        response.text().await.unwrap(),
        r#"{"error":"Username already taken"}"#
    );
}

#[tokio::test]
async fn registration_rules_name_fields_without_echoing_values() {
    let (base, _) = start().await;
    let response = post_json(
        &base,
        "/auth/register",
        json!({"username": "canary<script>", "password": "short"}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let text = response.text().await.unwrap();
    assert!(
        !text.contains("canary") && !text.contains("short"),
        "{text}"
    );
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        body,
        json!({"error": "Invalid input", "details": {"username": ["pattern"], "password": ["length"]}})
    );
}

/// Password spraying from many addresses: five failures for one name lock that name,
/// while the same addresses still log in to other accounts.
#[tokio::test]
async fn five_failed_logins_from_five_addresses_lock_the_name() {
    let mut config = Config::for_tests(SECRET, ADMIN_PASSWORD);
    config.trusted_proxies = vec!["127.0.0.1".to_owned()];
    let base = common::serve(&config).await;
    let attempt = |from: String, username: &'static str, password: &'static str| {
        let base = base.clone();
        async move {
            reqwest::Client::new()
                .post(format!("{base}/auth/login"))
                .header("x-forwarded-for", from)
                .json(&json!({"username": username, "password": password}))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    for (i, name) in ["carol", "dave"].into_iter().enumerate() {
        let response = reqwest::Client::new()
            .post(format!("{base}/auth/register"))
            .header("x-forwarded-for", format!("192.0.2.{i}"))
            .json(&json!({"username": name, "password": "correct horse"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    for i in 0..5 {
        assert_eq!(
            attempt(format!("203.0.113.{i}"), "carol", "a wrong guess").await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        attempt("203.0.113.50".to_owned(), "Carol", "correct horse").await,
        StatusCode::TOO_MANY_REQUESTS,
        "locked, the right password included"
    );
    for i in 0..5 {
        assert_eq!(
            attempt(format!("203.0.113.{i}"), "dave", "correct horse").await,
            StatusCode::OK,
            "another name from an attacking address"
        );
    }
}

#[tokio::test]
async fn unknown_user_and_wrong_password_get_the_same_answer() {
    let (base, _) = start().await;
    register_and_login(&base, "carol").await;
    let wrong_password = post_json(
        &base,
        "/auth/login",
        json!({"username": "carol", "password": "wrong password"}),
    )
    .await;
    let unknown_user = post_json(
        &base,
        "/auth/login",
        json!({"username": "nobody", "password": "correct horse"}),
    )
    .await;
    assert_eq!(wrong_password.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(unknown_user.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        wrong_password.text().await.unwrap(),
        unknown_user.text().await.unwrap()
    );
}

#[tokio::test]
async fn admin_stats_needs_the_admin_role() {
    let (base, state) = start().await;
    let user = register_and_login(&base, "dave").await;
    let root = login(&base, blog::ADMIN_USERNAME, ADMIN_PASSWORD).await;
    state
        .db
        .create_post(1, "Hello", "First post", &["intro".into()], false, false)
        .await
        .unwrap();

    let response = get(&base, "/admin/stats", Some(&user)).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(response.text().await.unwrap(), r#"{"error":"Forbidden"}"#);

    let response = get(&base, "/admin/stats", Some(&root)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let stats: Value = response.json().await.unwrap();
    assert_eq!(stats, json!({"posts": 1, "users": 2}));
}

#[tokio::test]
async fn posts_are_public() {
    let (base, state) = start().await;
    register_and_login(&base, "erin").await;
    let post = state
        .db
        .create_post(1, "Title", "Body", &["a".into(), "b".into()], false, false)
        .await
        .unwrap();

    let response = get(&base, "/posts", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let list: Vec<blog::Post> = response.json().await.unwrap();
    assert_eq!(list, vec![post.clone()]);

    let response = get(&base, &format!("/posts/{}", post.id), None).await;
    let one: Value = response.json().await.unwrap();
    assert_eq!(
        one,
        json!({"id": post.id, "title": "Title", "content": "Body", "tags": ["a", "b"], "user_id": 1, "pinned": false, "draft": false, "editors": []})
    );

    let response = get(&base, "/posts/999", None).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(response.text().await.unwrap(), r#"{"error":"Not found"}"#);
}

#[test]
fn the_inventory_lists_every_route_with_its_policy() {
    let inventory = blog::routes().inventory();
    let rows: Vec<(String, String, String)> = inventory
        .routes()
        .iter()
        .map(|r| (r.method.clone(), r.path.clone(), r.policy.to_string()))
        .collect();
    let expected = [
        (
            "POST",
            "/auth/register",
            "public (anyone may create an account), rate 5/m per ip, validate Registration, concurrency 8",
        ),
        (
            "POST",
            "/auth/login",
            "public (exchanges credentials for a token), rate 5/m per ip, rate 5/15m per input.username on failure except device, validate Credentials, concurrency 8",
        ),
        ("POST", "/auth/logout", "auth"),
        ("POST", "/auth/logout-all", "auth"),
        (
            "GET",
            "/feed",
            "public (the feed is published; a reader may say who they are), optional auth",
        ),
        (
            "GET",
            "/posts",
            "public (published posts are public; drafts only to those the policies name), optional auth, can read on Post[], rate 60/m per ip report only, validate_query Post::Query",
        ),
        (
            "POST",
            "/posts",
            "auth, rate 10/10s per user, rate 200/d per user, validate PostInput",
        ),
        (
            "GET",
            "/posts/{id}",
            "public (published posts are public; drafts only to those the policies name), optional auth, can read on Post",
        ),
        ("PUT", "/posts/{id}", "auth, can edit on Post, validate PostInput"),
        ("DELETE", "/posts/{id}", "auth, can delete on Post"),
        (
            "POST",
            "/posts/{id}/editors",
            "auth, can share on Post, validate EditorInput",
        ),
        (
            "DELETE",
            "/posts/{id}/editors/{user_id}",
            "auth, can share on Post",
        ),
        ("GET", "/me", "auth"),
        ("DELETE", "/me", "auth"),
        (
            "GET",
            "/me/posts",
            "auth, owner posts[].user_id, validate_query Post::Query",
        ),
        (
            "GET",
            "/users/{id}",
            "public (accounts are public, their email is not), optional auth, rate 30/m per user or ip",
        ),
        ("GET", "/admin/stats", "auth, role admin"),
    ]
    .map(|(m, p, d)| (m.to_owned(), p.to_owned(), d.to_owned()));
    assert_eq!(rows, expected);
    assert!(
        inventory
            .routes()
            .iter()
            .all(|r| matches!(r.policy, RoutePolicy::Declared(_)))
    );
}

async fn delete(base: &str, path: &str, token: Option<&str>) -> reqwest::Response {
    let mut request = reqwest::Client::new().delete(format!("{base}{path}"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

/// Registers `alice` and `bob` and gives alice a post.
async fn alice_bob_and_a_post(base: &str, state: &AppState) -> (String, String, blog::Post) {
    let alice = register_and_login(base, "alice").await;
    let bob = register_and_login(base, "bob").await;
    let post = state
        .db
        .create_post(
            user_id(state, "alice").await,
            "Alice's",
            "Mine",
            &[],
            false,
            false,
        )
        .await
        .unwrap();
    (alice, bob, post)
}

async fn user_id(state: &AppState, username: &str) -> i64 {
    state
        .db
        .user_by_name(username)
        .await
        .unwrap()
        .expect("registered")
        .id
}

#[tokio::test]
async fn another_users_delete_is_refused_and_the_post_remains() {
    let (base, state) = start().await;
    let (_alice, bob, post) = alice_bob_and_a_post(&base, &state).await;
    let response = delete(&base, &format!("/posts/{}", post.id), Some(&bob)).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_security_headers(&response);
    assert_eq!(response.text().await.unwrap(), r#"{"error":"Forbidden"}"#);
    assert_eq!(state.db.post(post.id).await.unwrap(), Some(post));
}

#[tokio::test]
async fn the_owner_deletes_their_post() {
    let (base, state) = start().await;
    let (alice, _bob, post) = alice_bob_and_a_post(&base, &state).await;
    let response = delete(&base, &format!("/posts/{}", post.id), Some(&alice)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"success": true})
    );
    assert_eq!(state.db.post(post.id).await.unwrap(), None);
    let response = delete(&base, &format!("/posts/{}", post.id), Some(&alice)).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_admin_deletes_anyones_post() {
    let (base, state) = start().await;
    let (_alice, _bob, post) = alice_bob_and_a_post(&base, &state).await;
    let root = login(&base, blog::ADMIN_USERNAME, ADMIN_PASSWORD).await;
    let response = delete(&base, &format!("/posts/{}", post.id), Some(&root)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(state.db.post(post.id).await.unwrap(), None);
}

#[tokio::test]
async fn deleting_a_missing_post_is_404_and_anonymous_is_401() {
    let (base, state) = start().await;
    let (alice, _bob, post) = alice_bob_and_a_post(&base, &state).await;
    let response = delete(&base, "/posts/4242", Some(&alice)).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(response.text().await.unwrap(), r#"{"error":"Not found"}"#);
    let response = delete(&base, &format!("/posts/{}", post.id), None).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(state.db.post(post.id).await.unwrap(), Some(post));
}

async fn send_post(
    base: &str,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: &Value,
) -> reqwest::Response {
    reqwest::Client::new()
        .request(method, format!("{base}{path}"))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_post_is_created_by_its_author() {
    let (base, state) = start().await;
    let alice = register_and_login(&base, "alice").await;
    let body = json!({"title": "  Hello  ", "content": "World", "tags": ["a", "b"]});
    let response = send_post(&base, reqwest::Method::POST, "/posts", &alice, &body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_security_headers(&response);
    let post: Value = response.json().await.unwrap();
    let alice_id = user_id(&state, "alice").await;
    assert_eq!(
        post,
        json!({"id": 1, "title": "Hello", "content": "World", "tags": ["a", "b"], "user_id": alice_id, "pinned": false, "draft": false, "editors": []})
    );
    let anonymous = reqwest::Client::new()
        .post(format!("{base}/posts"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn post_rules_hold_at_their_boundaries() {
    let (base, _) = start().await;
    let alice = register_and_login(&base, "alice").await;
    let create = |body: Value| {
        let base = base.clone();
        let alice = alice.clone();
        async move { send_post(&base, reqwest::Method::POST, "/posts", &alice, &body).await }
    };
    let tags = |n: usize| (0..n).map(|i| format!("t{i}")).collect::<Vec<_>>();

    let ok = create(json!({"title": "x".repeat(200), "content": "c"})).await;
    assert_eq!(ok.status(), StatusCode::CREATED, "200 characters");
    let long = create(json!({"title": "x".repeat(201), "content": "c"})).await;
    assert_eq!(long.status(), StatusCode::BAD_REQUEST, "201 characters");
    assert_eq!(
        long.json::<Value>().await.unwrap(),
        json!({"error": "Invalid input", "details": {"title": ["length"]}})
    );
    let padded = create(json!({"title": format!("  {}  ", "é".repeat(200)), "content": "c"})).await;
    assert_eq!(
        padded.status(),
        StatusCode::CREATED,
        "200 characters after trimming"
    );
    let blank = create(json!({"title": "   ", "content": "c"})).await;
    assert_eq!(
        blank.status(),
        StatusCode::BAD_REQUEST,
        "empty after trimming"
    );

    let ten = create(json!({"title": "t", "content": "c", "tags": tags(10)})).await;
    assert_eq!(ten.status(), StatusCode::CREATED, "10 tags");
    let eleven = create(json!({"title": "t", "content": "c", "tags": tags(11)})).await;
    assert_eq!(
        eleven.json::<Value>().await.unwrap(),
        json!({"error": "Invalid input", "details": {"tags": ["length"]}})
    );
    let long_tag = create(json!({"title": "t", "content": "c", "tags": ["x".repeat(51)]})).await;
    assert_eq!(
        long_tag.json::<Value>().await.unwrap(),
        json!({"error": "Invalid input", "details": {"tags": ["tag_length"]}})
    );
    let empty = create(json!({"title": "t", "content": ""})).await;
    assert_eq!(empty.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn mass_assignment_of_user_id_is_refused_and_the_owner_unchanged() {
    let (base, state) = start().await;
    let (alice, bob, post) = alice_bob_and_a_post(&base, &state).await;
    let path = format!("/posts/{}", post.id);
    let body = json!({"title": "Mine now", "content": "x", "user_id": 2});
    let response = send_post(&base, reqwest::Method::PUT, &path, &alice, &body).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"error": "Invalid input", "details": {"user_id": ["unknown"]}})
    );
    assert_eq!(state.db.post(post.id).await.unwrap(), Some(post.clone()));

    // Bob cannot update alice's post either; alice can, and the owner stays hers.
    let body = json!({"title": "Edited", "content": "new"});
    let response = send_post(&base, reqwest::Method::PUT, &path, &bob, &body).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = send_post(&base, reqwest::Method::PUT, &path, &alice, &body).await;
    assert_eq!(response.status(), StatusCode::OK);
    let updated = state.db.post(post.id).await.unwrap().unwrap();
    let alice_id = user_id(&state, "alice").await;
    assert_eq!(
        (updated.title.as_str(), updated.user_id),
        ("Edited", alice_id)
    );
}

#[tokio::test]
async fn the_security_scan_of_the_whole_blog_is_clean() {
    use secure_endpoint::testing::{ScanSettings, TokenMint, scan};

    let config = Config::for_tests(SECRET, ADMIN_PASSWORD);
    let (app, state) = blog::app(&config).await.expect("the blog starts");
    let alice = state
        .db
        .create_account("alice", "not-a-hash", &[], Some("alice@example.com"))
        .await
        .unwrap()
        .unwrap();
    let bob = state
        .db
        .create_user("bob", "not-a-hash", &[])
        .await
        .unwrap()
        .unwrap();
    let post = state
        .db
        .create_post(alice, "Hers", "Body", &[], false, false)
        .await
        .unwrap();
    let mint = TokenMint::hmac(secure_endpoint::Algorithm::HS256, SECRET)
        .issuer(blog::ISSUER)
        .audience(blog::ISSUER);
    let settings = ScanSettings::new()
        .mint(mint)
        .path("/posts/{id}", &format!("/posts/{}", post.id))
        .owner("/posts/{id}", &alice.to_string())
        .owner("/me/posts", &alice.to_string())
        .principal(&alice.to_string())
        .intruder(&bob.to_string())
        .path("/users/{id}", &format!("/users/{alice}"));
    let report = scan(app, settings).await;
    report.assert_clean();
    assert_eq!(report.routes, 17);
    // The `can` routes were called by the intruder, and answered only as the policies
    // let them: a published post's GET, and refusals elsewhere.
    assert!(
        report.cases["a principal the engine is asked about"] >= 6,
        "{report}"
    );
    assert!(report.requests > 60, "{report}");
    // The post survived the scan: no probe got past the owner check.
    assert_eq!(state.db.post(post.id).await.unwrap(), Some(post));
}

#[test]
fn the_openapi_document_validates_and_states_every_requirement() {
    // As `blog routes --openapi` prints it: the routes with the description of the
    // settings (the session cookie and its CSRF answers included).
    let described = blog::description(&Config::for_tests(SECRET, ADMIN_PASSWORD)).unwrap();
    let document = blog::routes()
        .inventory_with(&described)
        .openapi("blog", "0.1.0");
    let path = std::env::temp_dir().join(format!("blog-openapi-{}.json", std::process::id()));
    std::fs::write(&path, document.to_string()).unwrap();
    let output = std::process::Command::new("python3")
        .args([
            "-c",
            "import json, sys\nfrom openapi_spec_validator import validate\nfrom openapi_spec_validator.validation.validators import OpenAPIV31SpecValidator\nvalidate(json.load(open(sys.argv[1])), cls=OpenAPIV31SpecValidator)\nprint('valid')",
            path.to_str().unwrap(),
        ])
        .output()
        .expect("python3 runs (pip install openapi-spec-validator; .ci/run does)");
    std::fs::remove_file(&path).ok();
    assert!(
        output.status.success(),
        "the document is not valid OpenAPI 3.1:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let inventory = blog::routes().inventory();
    for route in inventory.routes() {
        let RoutePolicy::Declared(policy) = route.policy else {
            panic!("the blog has no unchecked route");
        };
        let operation = &document["paths"][&route.path][route.method.to_lowercase()];
        let security = operation["security"]
            .as_array()
            .expect("security is stated");
        if policy.requires_auth() {
            assert_eq!(
                security,
                &[json!({"bearerAuth": []}), json!({"cookieAuth": []})],
                "{} {}",
                route.method,
                route.path
            );
            assert!(operation["responses"]["401"].is_object());
        } else if policy.allows_optional_auth() {
            assert_eq!(
                security,
                &[
                    json!({}),
                    json!({"bearerAuth": []}),
                    json!({"cookieAuth": []})
                ],
                "{} {}: no credential, or a bearer token",
                route.method,
                route.path
            );
            assert!(operation["responses"]["401"].is_object());
        } else {
            assert!(
                security.is_empty(),
                "{} {} is public",
                route.method,
                route.path
            );
        }
        assert_eq!(
            operation["responses"]["429"].is_object(),
            // A limit that only reports never answers 429.
            policy.limits().iter().any(|limit| !limit.reports())
                || policy.requires_auth()
                || policy.allows_optional_auth()
        );
        assert_eq!(
            operation["responses"]["415"].is_object(),
            policy.validated_body().is_some()
        );
        // Every validated body is described, closed to undeclared fields.
        assert_eq!(
            operation["requestBody"]["required"] == json!(true),
            policy.validated_body().is_some(),
            "{} {}",
            route.method,
            route.path
        );
        if policy.validated_body().is_some() {
            let schema = &operation["requestBody"]["content"]["application/json"]["schema"];
            assert_eq!(
                schema["additionalProperties"],
                json!(false),
                "{}",
                route.path
            );
        }
    }
    assert!(
        document["paths"]["/admin/stats"]["get"]["responses"]["403"]["description"].is_string()
    );
    // What the types say: the limits of the body, the query's parameters, the path key's
    // type, the answer, and the links from a created post to its operations.
    let create = &document["paths"]["/posts"]["post"];
    let body = &create["requestBody"]["content"]["application/json"]["schema"];
    assert_eq!(body["required"], json!(["title", "content"]));
    assert_eq!(body["properties"]["title"]["maxLength"], json!(200));
    assert_eq!(body["properties"]["tags"]["maxItems"], json!(10));
    let register = &document["paths"]["/auth/register"]["post"]["requestBody"]["content"]["application/json"]
        ["schema"];
    assert_eq!(
        register["properties"]["username"]["pattern"],
        json!("^[A-Za-z0-9_]+$")
    );
    let list = document["paths"]["/posts"]["get"]["parameters"]
        .as_array()
        .unwrap();
    let limit = list.iter().find(|p| p["name"] == "limit").unwrap();
    assert_eq!(limit["in"], "query");
    assert_eq!(limit["schema"]["maximum"], json!(50));
    for method in ["get", "put", "delete"] {
        let id = &document["paths"]["/posts/{id}"][method]["parameters"][0];
        assert_eq!(id["schema"]["type"], "integer", "{method}");
    }
    let created = &create["responses"]["2XX"];
    assert!(created["content"]["application/json"]["schema"].is_object());
    for operation in ["get_post", "update_post", "delete_post"] {
        assert_eq!(
            created["links"][operation]["parameters"]["id"], "$response.body#/id",
            "{operation}"
        );
    }
    assert_eq!(
        document["paths"]["/posts"]["post"]["x-ratelimit"][1]["rate"],
        "200/d"
    );
}

#[tokio::test]
async fn the_openapi_document_shows_the_session_cookie_and_its_csrf_check() {
    let mut config = Config::for_tests(SECRET, ADMIN_PASSWORD);
    config.cors_origins = vec!["https://app.example".to_owned()];
    let (app, _state) = blog::app(&config).await.expect("the blog starts");
    let document = app.inventory().openapi("blog", "0.1.0");
    assert_eq!(
        document["components"]["securitySchemes"]["cookieAuth"],
        json!({
            "type": "apiKey",
            "in": "cookie",
            "name": "__Host-session",
            "description": "The same token in a cookie, for browser front ends; unsafe methods are checked for cross-site forgery"
        })
    );
    let create = &document["paths"]["/posts"]["post"];
    assert_eq!(
        create["security"],
        json!([{ "bearerAuth": [] }, { "cookieAuth": [] }])
    );
    assert!(create["x-secure-endpoint-csrf"].is_string());
    assert!(document["paths"]["/me"]["get"]["x-secure-endpoint-csrf"].is_null());
    assert_eq!(
        document["x-secure-endpoint-cors"],
        json!({ "origins": ["https://app.example"], "credentials": true })
    );
    // The description `blog routes --openapi` reads, built without the secret, the
    // database or Redis, gives the same document.
    let described = blog::description(&config).unwrap();
    assert_eq!(
        blog::routes()
            .inventory_with(&described)
            .openapi("blog", "0.1.0"),
        document
    );
}
