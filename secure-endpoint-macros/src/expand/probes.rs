//! Compile-time assertions on the user's types, each spanned on the type so that rustc's
//! error lands there: a loaded parameter is a `Resource` (or a list of a `Collection`), a
//! validated type derives what it must, and an extractor is none of the types the
//! [`Probe`]s of the plan refuse. Which assertions apply is the plan's; this writes them.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use crate::check::{Fill, Plan, Probe};

/// Every parameter's assertions, in the parameters' order.
pub fn checks(plan: &Plan<'_>) -> Vec<TokenStream> {
    let private = quote!(::secure_endpoint::__private);
    let mut checks = Vec::new();
    for (index, fill) in plan.params.iter().enumerate() {
        let ty = &plan.handler.params[index].ty;
        match fill {
            // A type that is not a `Resource` is reported on the parameter's type, by
            // `Resource`'s own diagnostic.
            Fill::Resource { .. } => checks.push(quote_spanned! {ty.span()=>
                const _: () = #private::assert_resource::<#ty>();
            }),
            Fill::Collection { item, .. } => checks.push(quote_spanned! {ty.span()=>
                const _: () = #private::assert_collection::<#item>();
            }),
            // Reported on the type the attribute names.
            Fill::Query { ty, .. } | Fill::Body { ty, .. } => {
                checks.push(quote_spanned! {ty.span()=>
                    const _: () = #private::assert_valid_input::<#ty>();
                });
            }
            // An extractor: or a body or principal type taken bare, reported here.
            Fill::Parts | Fill::Request => checks.push(quote_spanned! {ty.span()=>
                const _: () = {
                    #[allow(unused_imports)]
                    use #private::{
                        AsBody as _, AsPrincipal as _, ByParts as _, ByRequest as _,
                        UnknownParameter as _,
                    };
                    #[allow(dead_code)]
                    fn __parameter() {
                        #private::assert_parameter::<#ty, _>(
                            (&&&&&#private::Parameter::<#ty>::new()).kind(),
                        );
                    }
                };
            }),
        }
        checks.extend(
            plan.probes
                .iter()
                .filter(|probe| probe.param == index)
                .map(probe),
        );
    }
    checks
}

/// A probe of one extractor parameter's type, whatever it is called. An inherent
/// associated constant of the probe shadows the trait's for exactly the refused types,
/// and panics at compile time, spanned on the parameter's type.
fn probe(probe: &Probe<'_>) -> TokenStream {
    let private = quote!(::secure_endpoint::__private);
    let ty = probe.ty;
    let name = format_ident!("__Input{}", probe.param);
    let fine = format_ident!("__Fine{}", probe.param);
    let mut refused = Vec::new();
    for (wrapper, message) in &probe.refused_inputs {
        let wrapper = format_ident!("{}", wrapper);
        let path = quote!(#private::#wrapper<T>);
        refused.push(quote_spanned! {ty.span()=>
            #[allow(dead_code)]
            impl<T> #name<#path> {
                const CHECK: () = ::core::panic!(#message);
            }
            #[allow(dead_code)]
            impl<T> #name<::core::option::Option<#path>> {
                const CHECK: () = ::core::panic!(#message);
            }
            #[allow(dead_code)]
            impl<T, E> #name<::core::result::Result<#path, E>> {
                const CHECK: () = ::core::panic!(#message);
            }
        });
    }
    if let Some(message) = &probe.refused_principal {
        refused.push(quote_spanned! {ty.span()=>
            #[allow(dead_code)]
            impl #name<#private::Claims> {
                const CHECK: () = ::core::panic!(#message);
            }
            #[allow(dead_code)]
            impl<P> #name<#private::Authenticated<P>> {
                const CHECK: () = ::core::panic!(#message);
            }
            #[allow(dead_code)]
            impl #name<::core::option::Option<#private::Claims>> {
                const CHECK: () = ::core::panic!(#message);
            }
            #[allow(dead_code)]
            impl<P> #name<::core::option::Option<#private::Authenticated<P>>> {
                const CHECK: () = ::core::panic!(#message);
            }
        });
    }
    quote_spanned! {ty.span()=>
        #[allow(non_camel_case_types, dead_code)]
        struct #name<T: ?::core::marker::Sized>(::core::marker::PhantomData<T>);
        #[allow(non_camel_case_types)]
        trait #fine {
            const CHECK: () = ();
        }
        impl<T: ?::core::marker::Sized> #fine for #name<T> {}
        #(#refused)*
        const _: () = #name::<#ty>::CHECK;
    }
}
