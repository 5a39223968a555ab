//! `#[derive(Guarded)]`, in the attributes' shape: `ast` parses the struct and its
//! `#[guarded(...)]` and `#[serde(...)]` field attributes, `check` applies the rules about
//! them together, `expand` writes the `Guarded` impl. On a mistake, `fallback` emits the
//! errors, every one on its own token, with an impl that stands in for the real one.

mod ast;
mod case;
mod check;
mod expand;
mod fallback;

use proc_macro2::TokenStream;
use syn::DeriveInput;

use crate::ctxt::Ctxt;

pub fn derive(input: TokenStream) -> TokenStream {
    let input: DeriveInput = match syn::parse2(input) {
        Ok(input) => input,
        Err(error) => return error.to_compile_error(),
    };
    let mut cx = Ctxt::default();
    let Some(container) = ast::Container::from_ast(&mut cx, &input) else {
        let errors = cx
            .check()
            .expect_err("a struct that is not parsed is reported");
        return fallback::expand(errors, &input);
    };
    check::check(&mut cx, &container);
    match cx.check() {
        Ok(()) => expand::expand(&container),
        Err(errors) => fallback::expand(errors, &input),
    }
}
