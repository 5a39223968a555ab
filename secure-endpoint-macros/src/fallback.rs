//! What is emitted when the attribute has a mistake: the errors, and beside them stubs
//! that stand for the handler (the unit struct and its trait impls), so that a routed
//! handler gets only our error, not also the route gate's "not annotated" one, and the
//! user's function (under its hidden name) so that its body is still checked and IDEs
//! keep working. It stands apart from `expand`: nothing here is served, so it reads no
//! plan, only the item.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::ast::{Handler, Kind};

/// The errors and the stubs of `handler`.
pub fn stubs(errors: syn::Error, kind: Kind, handler: &Handler) -> TokenStream {
    let errors = errors.to_compile_error();
    let ident = handler.ident();
    let vis = &handler.vis;
    let private = quote!(::secure_endpoint::__private);
    let policy = match kind {
        Kind::Secure => quote!(#private::Policy::secure()),
        Kind::Public => quote!(#private::Policy::public()),
    };
    let name = ident.to_string();
    let cfgs: Vec<_> = handler
        .attrs
        .iter()
        .filter(|a| a.path().is_ident("cfg") || a.path().is_ident("cfg_attr"))
        .collect();
    // A function with a receiver cannot stand outside an impl, nor a variadic one outside
    // `extern`, nor one whose parameter shares its name with the stub: it is left out
    // rather than answered with rustc's own errors beside ours.
    let has_receiver = handler
        .sig
        .inputs
        .iter()
        .any(|input| matches!(input, syn::FnArg::Receiver(_)));
    let shadowed = handler
        .params
        .iter()
        .any(|param| param.ident.as_ref() == Some(ident));
    let function = if has_receiver || shadowed || handler.sig.variadic.is_some() {
        quote!()
    } else {
        let mut sig = handler.sig.clone();
        sig.ident = format_ident!("__secure_endpoint_{}", ident);
        let block = &handler.block;
        // A second annotation stays on it, and expands there without error.
        let attrs = handler.attrs.iter().filter(|a| !a.path().is_ident("doc"));
        quote! {
            #(#attrs)*
            #[doc(hidden)]
            #[allow(dead_code)]
            #sig #block
        }
    };
    quote! {
        #errors

        #(#cfgs)*
        #[allow(non_camel_case_types)]
        #[derive(Clone, Copy)]
        #vis struct #ident;

        #function

        #(#cfgs)*
        const _: () = {
            // Only what the trait requires, with the attribute's bare policy: the one it
            // declares has a mistake.
            impl #private::SecureHandler for #ident {
                const NAME: &'static str = #name;
                const POLICY: &'static #private::Policy = &#policy;
                #[doc(hidden)]
                #[allow(deprecated)]
                const DECISION: #private::Decision = #private::Decision::declared_by_attribute();
            }

            // Never served: the errors above stop the build.
            impl<__S> #private::Handler<(), __S> for #ident
            where
                __S: ::core::clone::Clone + ::core::marker::Send + ::core::marker::Sync + 'static,
            {
                type Future = #private::HandlerFuture;

                fn call(self, _request: #private::Request, _state: __S) -> Self::Future {
                    ::std::boxed::Box::pin(async {
                        #private::IntoResponse::into_response(#private::Rejection::Internal)
                    })
                }
            }
        };
    }
}

/// The errors, and the item as it was: when the item is not a function there is no
/// handler to stand in for.
pub fn item_only(errors: syn::Error, item: TokenStream) -> TokenStream {
    let errors = errors.to_compile_error();
    quote! { #errors #item }
}
