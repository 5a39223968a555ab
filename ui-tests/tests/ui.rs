//! Compile-time behaviour: what the attributes accept, and the diagnostics for what they
//! refuse (`ui/fail/*.stderr`, regenerated with `TRYBUILD=overwrite`).

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("ui/pass/*.rs");
    cases.compile_fail("ui/fail/*.rs");
}
