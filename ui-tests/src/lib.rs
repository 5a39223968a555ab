//! The UI suite of secure-endpoint's attributes: `ui/pass` compiles and runs, each case
//! of `ui/fail` fails to compile with the diagnostics in its `.stderr`
//! (`tests/ui.rs`; regenerate with `TRYBUILD=overwrite cargo test -p
//! secure-endpoint-ui-tests`). The crate itself holds nothing.
