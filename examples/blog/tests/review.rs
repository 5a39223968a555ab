//! The blog's policy under review: its security lock, committed beside the code, and who
//! may call what.

use blog::Config;
use secure_endpoint::testing::assert_security_lock;
use secure_endpoint_tests::SECRET;

#[tokio::test]
async fn the_security_lock_holds() {
    // The blog as it runs with its defaults (no Redis, proxies or CORS origins).
    let (app, _state) = blog::app(&Config::for_tests(SECRET, "admin password for tests"))
        .await
        .expect("the blog starts");
    assert_security_lock(&app, "security.lock");
}

#[test]
fn the_matrix_shows_who_may_call_what() {
    let markdown = blog::routes().inventory().matrix().to_markdown();
    assert!(
        markdown.starts_with("| route | anonymous | signed in | role admin | the owner |\n"),
        "{markdown}"
    );
    for row in [
        "| GET /admin/stats | no | no | yes | no |",
        "| DELETE /posts/{id} | no | if the engine lets them delete | if the engine lets them delete | if the engine lets them delete |",
        "| PUT /posts/{id} | no | if the engine lets them edit | if the engine lets them edit | if the engine lets them edit |",
        "| GET /posts | the items the engine lets them read | the items the engine lets them read | the items the engine lets them read | the items the engine lets them read |",
        "| GET /me/posts | no | own items only | own items only | yes |",
    ] {
        assert!(markdown.contains(row), "{row} in\n{markdown}");
    }
}
