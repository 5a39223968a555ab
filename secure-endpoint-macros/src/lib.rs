//! Procedural macros for [`secure-endpoint`](https://docs.rs/secure-endpoint).
//!
//! Use them through the runtime crate (`secure_endpoint::secure`,
//! `secure_endpoint::public`); the expansion names only paths inside
//! `::secure_endpoint::__private`.
//!
//! The work is split as parse → check → expand: [`attr`] turns the attribute into a typed
//! [`ast::Args`] and the item into an [`ast::Handler`], [`check`] applies the rules that
//! involve several arguments, and [`expand`] writes the code.

mod ast;
mod attr;
mod check;
mod ctxt;
mod expand;

use proc_macro::TokenStream;

/// Declares the security policy of an axum handler. See `secure_endpoint::secure`.
#[proc_macro_attribute]
pub fn secure(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::annotate(ast::Kind::Secure, args.into(), item.into()).into()
}

/// Marks an axum handler as deliberately public. See `secure_endpoint::public`.
#[proc_macro_attribute]
pub fn public(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::annotate(ast::Kind::Public, args.into(), item.into()).into()
}
