//! Procedural macros for [`secure-endpoint`](https://docs.rs/secure-endpoint).
//!
//! Use them through the runtime crate (`secure_endpoint::secure`,
//! `secure_endpoint::public`); the expansion names only paths inside
//! `::secure_endpoint::__private`.
//!
//! Parse → check → expand: `attr` turns the attribute into a typed `ast::Args` and the
//! item into an `ast::Handler`, `check` applies every rule and makes the `check::Plan`,
//! `expand` writes the code the plan says. On a mistake, `fallback` emits the errors
//! with stubs in the handler's place.

mod ast;
mod attr;
mod check;
mod ctxt;
mod expand;
mod fallback;
mod guarded;
mod rate;

use proc_macro::TokenStream;

/// Declares the security policy of an axum handler. See `secure_endpoint::secure`.
#[proc_macro_attribute]
pub fn secure(args: TokenStream, item: TokenStream) -> TokenStream {
    annotate(ast::Kind::Secure, args.into(), item.into()).into()
}

/// Marks an axum handler as deliberately public. See `secure_endpoint::public`.
#[proc_macro_attribute]
pub fn public(args: TokenStream, item: TokenStream) -> TokenStream {
    annotate(ast::Kind::Public, args.into(), item.into()).into()
}

/// Derives `secure_endpoint::Guarded`. See `secure_endpoint::Guarded`.
#[proc_macro_derive(Guarded, attributes(guarded))]
pub fn guarded(item: TokenStream) -> TokenStream {
    guarded::derive(item.into()).into()
}

fn annotate(
    kind: ast::Kind,
    args: proc_macro2::TokenStream,
    item: proc_macro2::TokenStream,
) -> proc_macro2::TokenStream {
    let mut cx = ctxt::Ctxt::default();
    let args = attr::parse_args(&mut cx, args);
    let handler = match attr::parse_handler(kind, item.clone()) {
        Ok(handler) => handler,
        Err(error) => {
            cx.push(error);
            let errors = cx.check().expect_err("an error was just pushed");
            return fallback::item_only(errors, item);
        }
    };
    let plan = check::check(&mut cx, kind, &args, &handler);
    match cx.check() {
        Ok(()) => expand::expand(&plan),
        Err(errors) => fallback::stubs(errors, kind, &handler),
    }
}
