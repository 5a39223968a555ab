//! Procedural macros for [`secure-endpoint`](https://docs.rs/secure-endpoint).
//!
//! Use them through the runtime crate (`secure_endpoint::secure`,
//! `secure_endpoint::public`, `secure_endpoint::Guarded`); the expansion names only
//! paths inside `::secure_endpoint::__private`.
//!
//! Parse → check → expand, or the fallback:
//! - `attr` parses the attribute's arguments into a typed `ast::Args` (checking each
//!   value on its own), and `ast` parses the item into an `ast::Handler`;
//! - `check` applies every rule about the arguments and the handler together and
//!   resolves what they mean into a complete `check::Plan`;
//! - `expand` writes the code the plan says, one module per thing generated;
//! - on any mistake, `fallback` emits the errors, all of them, with stubs in the
//!   handler's place.
//!
//! `ctxt` collects the errors, `suggest` says "did you mean" for every parser, and
//! `types` recognises types by their spelling, a best-effort hint. `guarded` is the
//! `Guarded` derive, in the same shape; `names` the `Role` and `Scope` derives, `entity` the `Entity` derive.

mod ast;
mod attr;
mod check;
mod ctxt;
#[cfg(test)]
mod docs_agree;
mod entity;
mod expand;
mod fallback;
mod guarded;
mod names;
mod suggest;
mod types;

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

/// Derives `secure_endpoint::RoleNames`. See `secure_endpoint::Role`.
#[proc_macro_derive(Role, attributes(role))]
pub fn role(item: TokenStream) -> TokenStream {
    names::derive(names::Kind::Role, item.into()).into()
}

/// Derives `secure_endpoint::ScopeNames`. See `secure_endpoint::Scope`.
#[proc_macro_derive(Scope, attributes(scope))]
pub fn scope(item: TokenStream) -> TokenStream {
    names::derive(names::Kind::Scope, item.into()).into()
}

/// Derives `secure_endpoint::Entity`. See `secure_endpoint::Entity`.
#[proc_macro_derive(Entity, attributes(entity))]
pub fn entity(item: TokenStream) -> TokenStream {
    entity::derive(item.into()).into()
}

fn annotate(
    kind: ast::Kind,
    args: proc_macro2::TokenStream,
    item: proc_macro2::TokenStream,
) -> proc_macro2::TokenStream {
    let mut cx = ctxt::Ctxt::default();
    let args = attr::parse_args(&mut cx, args);
    let handler = match ast::parse_handler(kind, item.clone()) {
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
