//! The argument table (`secure-endpoint/docs/arguments.md`, the one source the crate
//! docs, `#[secure]`'s, `#[public]`'s and the README show) against the parser: every
//! keyword the grammar knows has a row, each row says on which attribute it is accepted,
//! and that is where the attributes accept it.

use proc_macro2::TokenStream;

use crate::ast::Kind;
use crate::attr::{ARGUMENTS, LIMIT_ARGUMENTS};

const TABLE: &str = include_str!("../../secure-endpoint/docs/arguments.md");

/// A use of `keyword` that compiles wherever the keyword is accepted (`#[secure]` gets
/// `auth` beside it); a keyword the grammar gains fails here until it has one.
fn example(keyword: &str) -> &'static str {
    match keyword {
        "auth" => "auth",
        "role" => "role = \"a\"",
        "roles" => "roles = [\"a\"]",
        "scope" => "scope = \"a\"",
        "scopes" => "scopes = [\"a\"]",
        "owner" => "owner = \"post.user_id\"",
        "owner_or_role" => "owner = \"post.user_id\", owner_or_role = \"a\"",
        "validate" => "validate = Body",
        "validate_query" => "validate_query = Filter",
        "rate" => "rate = \"1/s\"",
        "rate_key" => "rate = \"1/s\", rate_key = \"ip\"",
        "rate_mode" => "rate = \"1/s\", rate_mode = \"report\"",
        "reason" => "reason = \"why\"",
        "timeout" => "timeout = \"1s\"",
        "concurrency" => "concurrency = 1",
        "tenant" => "tenant = \"post.org_id\"",
        "optional_auth" => "optional_auth",
        "limit" => "limit(rate = \"1/s\")",
        "can" | "on" => "can = \"edit\", on = \"post\"",
        other => panic!("give the new keyword `{other}` an example here and a row in the table"),
    }
}

/// Whether `kind`'s attribute compiles with `keyword`.
fn accepted(kind: Kind, keyword: &str) -> bool {
    let args = match kind {
        Kind::Secure if keyword != "auth" => format!("auth, {}", example(keyword)),
        // On `#[public]`, `can` asks about the caller signed in or not.
        Kind::Public if matches!(keyword, "can" | "on") => {
            format!("optional_auth, {}", example(keyword))
        }
        _ => example(keyword).to_owned(),
    };
    let args: TokenStream = args.parse().expect("the example is tokens");
    let item: TokenStream = "async fn handler(post: Post, body: Body, filter: Filter) {}"
        .parse()
        .expect("the handler is tokens");
    !crate::annotate(kind, args, item)
        .to_string()
        .contains("compile_error")
}

/// The rows (first cell, second cell) that name `keyword` in their first cell.
fn rows(keyword: &str) -> Vec<(&'static str, &'static str)> {
    TABLE
        .lines()
        .skip(2)
        .filter_map(|line| {
            let mut cells = line.trim_matches('|').split(" | ");
            Some((cells.next()?.trim(), cells.next()?.trim()))
        })
        .filter(|(argument, _)| {
            [
                format!("`{keyword}`"),
                format!("`{keyword} ="),
                format!("`{keyword}("),
            ]
            .iter()
            .any(|spelling| argument.contains(spelling.as_str()))
        })
        .collect()
}

fn on(kind: Kind) -> &'static str {
    match kind {
        Kind::Secure => "`#[secure]`",
        Kind::Public => "`#[public]`",
    }
}

#[test]
fn every_keyword_has_a_row_that_says_where_it_is_accepted() {
    for keyword in ARGUMENTS {
        let rows = rows(keyword);
        assert!(
            !rows.is_empty(),
            "`{keyword}` has no row in docs/arguments.md"
        );
        for kind in [Kind::Secure, Kind::Public] {
            let documented = rows
                .iter()
                .any(|(_, where_)| *where_ == "both" || *where_ == on(kind));
            assert_eq!(
                accepted(kind, keyword),
                documented,
                "`{keyword}` on {}: the attribute {} it, the table says it {}",
                on(kind),
                if accepted(kind, keyword) {
                    "accepts"
                } else {
                    "refuses"
                },
                if documented { "is accepted" } else { "is not" },
            );
        }
    }
}

#[test]
fn every_argument_of_limit_is_in_its_row() {
    let limit = rows("limit");
    for keyword in LIMIT_ARGUMENTS {
        assert!(
            limit
                .iter()
                .any(|(argument, _)| argument.contains(&format!("{keyword} = "))),
            "`limit({keyword} = …)` is missing from the table's `limit` row"
        );
    }
}

#[test]
fn the_readme_shows_the_table_as_it_is() {
    let readme = include_str!("../../README.md");
    assert!(
        readme.contains(TABLE),
        "README.md's argument table differs from secure-endpoint/docs/arguments.md: copy the file's table into the README"
    );
}
