//! `assert_security_lock`: the router's security lock held equal to the committed file,
//! every difference shown marked weaker, stronger or neutral (DESIGN §17).

use std::path::Path;

use crate::lock::diff::{diff, parse, render_diff};
use crate::router::SecureRouter;

/// The environment variable that rewrites the lock instead of comparing it:
/// `SECURE_ENDPOINT_LOCK=overwrite cargo test`.
pub const LOCK_ENV: &str = "SECURE_ENDPOINT_LOCK";

/// Holds `router`'s security lock ([`Inventory::lock`](crate::Inventory::lock)) equal to
/// the file at `path` (relative paths from the package's directory, where `cargo test`
/// runs).
///
/// Equal passes. Otherwise the test fails with the diff a reviewer needs: one line that
/// counts the routes (and settings) that weakened and names them, then every changed
/// route with each changed line marked **weaker**, **stronger** or **neutral**, weaker
/// first. With `SECURE_ENDPOINT_LOCK=overwrite` the file is rewritten and the test
/// passes, so the change shows in review as a diff of the lock.
///
/// ```no_run
/// use secure_endpoint::testing::assert_security_lock;
/// # fn app() -> secure_endpoint::SecureRouter { secure_endpoint::SecureRouter::new() }
///
/// #[test]
/// fn the_security_lock_holds() {
///     assert_security_lock(&app(), "security.lock");
/// }
/// ```
///
/// # Panics
///
/// When the lock differs from the file, or the file is missing or unreadable (and the
/// variable does not ask to overwrite it), with the message above.
#[track_caller]
pub fn assert_security_lock<S: Clone + Send + Sync + 'static>(
    router: &SecureRouter<S>,
    path: impl AsRef<Path>,
) {
    let path = path.as_ref();
    let lock = router.inventory().lock();
    let shown = path.display();
    if std::env::var(LOCK_ENV).is_ok_and(|v| v == "overwrite") {
        if let Err(error) = std::fs::write(path, &lock) {
            panic!("cannot write the security lock {shown}: {error}");
        }
        return;
    }
    let committed = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) => panic!(
            "no security lock at {shown} ({error}): write it with `{LOCK_ENV}=overwrite cargo test`, review it, and commit it"
        ),
    };
    if committed == lock {
        return;
    }
    let changes = diff(&parse(&committed), &parse(&lock));
    let mut message = render_diff(&shown.to_string(), &changes);
    if changes.is_empty() {
        message.push_str("\n(only comments or spacing differ)\n");
    }
    message.push_str(&format!(
        "\nIf the change is meant, rewrite the lock with `{LOCK_ENV}=overwrite cargo test` and commit it with the change: the diff of {shown} is what review sees.\n"
    ));
    panic!("{message}");
}
