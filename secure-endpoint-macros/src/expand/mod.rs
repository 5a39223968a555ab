//! Code generation from the [`Plan`] that `check` made, following it without deciding
//! anything again. The handler becomes a unit struct of the same name that implements
//! axum's `Handler` (running the policy before any extractor) and carries the policy as
//! `SecureHandler::POLICY`; the user's body moves, unchanged, into a hidden `async fn`.
//!
//! One module per thing generated: `introspection` (what the route table and the scanner
//! read: name, policy, principals, schemas, guarded keys), `policy` (the `POLICY`
//! constant), `handler` (the `Handler` impl that serves a request), `probes` (the
//! compile-time assertions on the user's types). What is emitted on a mistake is not
//! here but in `fallback`.

mod handler;
mod introspection;
mod policy;
mod probes;

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::check::Plan;

/// The unit struct, the user's function under a hidden name, and the trait impls.
pub fn expand(plan: &Plan<'_>) -> TokenStream {
    let handler = plan.handler;
    let ident = handler.ident();
    let vis = &handler.vis;
    let inner = format_ident!("__secure_endpoint_{}", ident);

    let (struct_attrs, fn_attrs): (Vec<_>, Vec<_>) = {
        let docs_and_cfgs = handler
            .attrs
            .iter()
            .filter(|a| a.path().is_ident("doc") || is_cfg(a));
        let not_docs = handler.attrs.iter().filter(|a| !a.path().is_ident("doc"));
        (docs_and_cfgs.collect(), not_docs.collect())
    };
    let cfgs: Vec<_> = handler.attrs.iter().filter(|a| is_cfg(a)).collect();

    let mut sig = handler.sig.clone();
    sig.ident = inner.clone();
    let block = &handler.block;

    let secure_handler = introspection::secure_handler_impl(plan);
    let checks = probes::checks(plan);
    let handler_impl = handler::handler_impl(plan, &inner);

    quote! {
        #(#struct_attrs)*
        #[allow(non_camel_case_types)]
        #[derive(Clone, Copy)]
        #vis struct #ident;

        #(#fn_attrs)*
        #[doc(hidden)]
        #sig #block

        #(#cfgs)*
        const _: () = {
            #secure_handler

            #(#checks)*

            #handler_impl
        };
    }
}

fn is_cfg(attr: &syn::Attribute) -> bool {
    attr.path().is_ident("cfg") || attr.path().is_ident("cfg_attr")
}

/// Whether a type is or holds `impl Trait`, which the expansion cannot name.
fn contains_impl(ty: &syn::Type) -> bool {
    quote::ToTokens::to_token_stream(ty)
        .into_iter()
        .any(|tree| matches!(&tree, proc_macro2::TokenTree::Ident(i) if i == "impl"))
        || matches!(ty, syn::Type::ImplTrait(_))
}
