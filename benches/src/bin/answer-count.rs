//! Writes the answer of a page of 20 accounts `N` times, one way, for counting its
//! instructions under `valgrind --tool=callgrind`:
//!
//! `answer-count plain|guarded|guarded-owner|guarded-admin|flattened-owner N`
//!
//! The count of `N = 0` is the setup; the difference per iteration is the answer's.

use std::hint::black_box;

use axum::response::IntoResponse;
use secure_endpoint::__bench::guarded_json;
use secure_endpoint_benches::accounts;

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(variant), Some(count)) = (args.next(), args.next()) else {
        eprintln!(
            "usage: answer-count plain|guarded|guarded-owner|guarded-admin|flattened-owner N"
        );
        std::process::exit(2);
    };
    let Ok(count) = count.parse::<usize>() else {
        eprintln!("answer-count: N must be a whole number, not {count:?}");
        std::process::exit(2);
    };
    let owner = accounts::owner();
    let admin = accounts::admin();
    match variant.as_str() {
        "plain" => {
            let page = accounts::plain_page();
            for _ in 0..count {
                black_box(axum::Json(page.clone()).into_response());
            }
        }
        "guarded" | "guarded-owner" | "guarded-admin" => {
            let page = accounts::guarded_page();
            let viewer = match variant.as_str() {
                "guarded-owner" => Some(&owner),
                "guarded-admin" => Some(&admin),
                _ => None,
            };
            for _ in 0..count {
                black_box(guarded_json(page.clone(), viewer));
            }
        }
        "flattened-owner" => {
            let page = accounts::flattened_page();
            for _ in 0..count {
                black_box(guarded_json(page.clone(), Some(&owner)));
            }
        }
        other => {
            eprintln!("answer-count: unknown variant {other:?}");
            std::process::exit(2);
        }
    }
}
