//! What is emitted when the derive has a mistake: the errors, and beside them a `Guarded`
//! impl with nothing guarded, so that what uses the type as `Guarded` (a handler's
//! answer, the scanner's `guarded::<T>()`) gets only our error, not also rustc's "not
//! `Guarded`". It is never run: the errors stop the build.

use proc_macro2::TokenStream;
use quote::quote;
use syn::DeriveInput;

pub fn expand(errors: syn::Error, input: &DeriveInput) -> TokenStream {
    let errors = errors.to_compile_error();
    let private = quote!(::secure_endpoint::__private);
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    quote! {
        #errors

        impl #impl_generics ::secure_endpoint::Guarded for #ident #ty_generics #where_clause {
            fn redact(&self, _: &mut #private::Value, _: &#private::Viewer<'_>) {}

            fn forbidden_write(&self, _: &#private::Viewer<'_>) -> ::core::option::Option<&'static str> {
                ::core::option::Option::None
            }
        }
    }
}
