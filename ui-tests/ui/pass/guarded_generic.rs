//! A generic struct derives `Guarded` where its parameters are `Guarded`: a page of
//! guarded values is filtered for its caller like the values themselves.

use secure_endpoint::{Guarded, Viewer};
use serde::Serialize;

#[derive(Serialize, Guarded)]
struct Account {
    name: String,
    #[guarded(role = "admin")]
    email: String,
}

#[derive(Serialize, Guarded)]
struct Page<T> {
    items: Vec<T>,
    #[guarded(role = "admin")]
    total: u64,
}

fn main() {
    let page = Page {
        items: vec![Account {
            name: "alice".into(),
            email: "alice@example.com".into(),
        }],
        total: 1,
    };
    let mut value = serde_json::to_value(&page).unwrap();
    page.redact(&mut value, &Viewer::anonymous());
    assert_eq!(value, serde_json::json!({ "items": [{ "name": "alice" }] }));
    assert_eq!(<Page<Account> as Guarded>::KEYS.len(), 1);
}
