//! Code generation from the [`Plan`] that `check` made. The handler becomes a unit struct of the same name that implements
//! axum's `Handler` (running the policy before any extractor) and carries the policy as
//! `SecureHandler::POLICY`; the user's body moves, unchanged, into a hidden `async fn`.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use crate::ast::{Args, Kind};
use crate::check::{Fill, Plan};

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

    let secure_handler = secure_handler_impl(ident, &policy_expr(plan.kind, plan.args), true);
    let handler_impl = handler_impl(plan, &inner);

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

            #handler_impl
        };
    }
}

/// `impl SecureHandler`: the handler's name, its policy, and the proof that an attribute
/// declared it.
pub fn secure_handler_impl(
    ident: &syn::Ident,
    policy: &TokenStream,
    principals: bool,
) -> TokenStream {
    let private = quote!(::secure_endpoint::__private);
    let name = ident.to_string();
    let principals = if principals {
        quote! {
            fn requested_principals() -> ::std::vec::Vec<(::core::any::TypeId, &'static str)> {
                #ident::__requested_principals()
            }
        }
    } else {
        quote!()
    };
    quote! {
        impl #private::SecureHandler for #ident {
            const NAME: &'static str = #name;
            const POLICY: &'static #private::Policy = &#policy;
            #[doc(hidden)]
            #[allow(deprecated)]
            const DECISION: #private::Decision = #private::Decision::declared_by_attribute();

            #principals
        }
    }
}

fn is_cfg(attr: &syn::Attribute) -> bool {
    attr.path().is_ident("cfg") || attr.path().is_ident("cfg_attr")
}

/// The policy as a constant expression of the runtime's `Policy` builder.
fn policy_expr(kind: Kind, args: &Args) -> TokenStream {
    let private = quote!(::secure_endpoint::__private);
    let mut expr = match kind {
        Kind::Secure => quote!(#private::Policy::secure()),
        Kind::Public => quote!(#private::Policy::public()),
    };
    if let Some(auth) = &args.auth {
        expr = quote!(#expr.require_auth());
        if let Some(name) = &auth.value {
            expr = quote!(#expr.via(#name));
        }
    }
    if let Some(roles) = &args.roles {
        let values = &roles.value;
        expr = quote!(#expr.any_role(&[#(#values),*]));
    }
    if let Some(scopes) = &args.scopes {
        let values = &scopes.value;
        expr = quote!(#expr.all_scopes(&[#(#values),*]));
    }
    if let Some(rate) = &args.rate {
        let count = rate.value.count;
        let period = rate.value.period_ms;
        let key = match args.rate_key.as_ref().map(|k| &k.value) {
            None => quote!(::core::option::Option::None),
            Some(crate::ast::RateKey::Ip) => {
                quote!(::core::option::Option::Some(#private::RateKey::Ip))
            }
            Some(crate::ast::RateKey::User) => {
                quote!(::core::option::Option::Some(#private::RateKey::User))
            }
        };
        expr = quote!(#expr.with_rate(#count, #period, #key));
    }
    if let Some(owner) = &args.owner {
        let lit = &owner.value.lit;
        expr = quote!(#expr.with_owner(#lit));
    }
    if let Some(role) = &args.owner_or_role {
        let value = &role.value;
        expr = quote!(#expr.with_owner_or_role(#value));
    }
    if let Some(body) = &args.validate {
        let name = crate::ast::spelled(&body.value);
        expr = quote!(#expr.with_validate(#name));
    }
    if let Some(query) = &args.validate_query {
        let name = crate::ast::spelled(&query.value);
        expr = quote!(#expr.with_validate_query(#name));
    }
    if let Some(reason) = &args.reason {
        let value = &reason.value;
        expr = quote!(#expr.reason(#value));
    }
    if let Some(timeout) = &args.timeout {
        let ms = timeout.value;
        expr = quote!(#expr.with_timeout(#ms));
    }
    if let Some(concurrency) = &args.concurrency {
        let n = concurrency.value;
        expr = quote!(#expr.with_concurrency(#n));
    }
    expr
}

/// `impl Handler for <struct>`: enforce the policy (authentication, limit, roles and
/// scopes), load and check the owned resource, read the validated query and body, run
/// the other extractors in order (rejections answered in the crate's JSON shape), then
/// call the user's function (within its concurrency and time limits, when it has them).
fn handler_impl(plan: &Plan<'_>, inner: &syn::Ident) -> TokenStream {
    let handler = plan.handler;
    let ident = handler.ident();
    let private = quote!(::secure_endpoint::__private);
    let count = handler.params.len();
    let arg_names: Vec<_> = (0..count).map(|i| format_ident!("__arg{}", i)).collect();
    let mut bounds = Vec::with_capacity(count);
    let mut checks = Vec::new();
    let mut resource = Vec::new();
    let mut query = Vec::new();
    let mut extracted = Vec::new();
    let mut body = Vec::new();
    let mut last_consumes = false;
    let mut principals = Vec::new();
    for (index, fill) in plan.params.iter().enumerate() {
        let ty = &handler.params[index].ty;
        let arg = &arg_names[index];
        match fill {
            Fill::Resource(owner) => {
                bounds.push(quote_spanned! {ty.span()=>
                    #ty: #private::LoadableFrom<__S>
                });
                // Spanned on the parameter's type: a type that is not a `Resource` is
                // reported there, by `Resource`'s own diagnostic.
                checks.push(quote_spanned! {ty.span()=>
                    const _: () = #private::assert_resource::<#ty>();
                });
                let fields = &owner.fields;
                // Spanned on the `owner` string: a missing field, or one that cannot be
                // compared with the principal's id, is reported there.
                let check = quote_spanned! {owner.lit.span()=>
                    #private::check_owner::<#ident, _>(&__admitted, &__parts, &#arg #(.#fields)*)
                };
                resource.push(quote! {
                    let #arg = match #private::load_resource::<#ty, __S, #ident>(&mut __parts, &__state).await {
                        ::core::result::Result::Ok(value) => value,
                        ::core::result::Result::Err(response) => return response,
                    };
                    if let ::core::result::Result::Err(rejection) = #check {
                        return #private::IntoResponse::into_response(rejection);
                    }
                });
            }
            Fill::Query { ty, wrapper } => {
                let (check, bound, value) = validated_input(ty, *wrapper);
                checks.push(check);
                bounds.push(bound);
                query.push(quote! {
                    let #arg = match #private::validated_query::<#ty, __S, #ident>(&__parts) {
                        ::core::result::Result::Ok(value) => #value,
                        ::core::result::Result::Err(rejection) => {
                            return #private::IntoResponse::into_response(rejection);
                        }
                    };
                });
            }
            Fill::Body { ty, wrapper } => {
                let (check, bound, value) = validated_input(ty, *wrapper);
                checks.push(check);
                bounds.push(bound);
                let encoding = if *wrapper == Some("Form") {
                    quote!(#private::Encoding::Form)
                } else {
                    quote!(#private::Encoding::Json)
                };
                body.push(quote! {
                    let #arg = match #private::validated_body::<#ty, __S, #ident>(&__admitted, &__parts, __body, #encoding).await {
                        ::core::result::Result::Ok(value) => #value,
                        ::core::result::Result::Err(response) => return response,
                    };
                });
            }
            Fill::Parts => {
                checks.push(input_probe(plan, index, ty));
                principals.push(quote!(#ty));
                bounds.push(quote_spanned! {ty.span()=>
                    #ty: #private::FromRequestParts<__S> + ::core::marker::Send
                });
                extracted.push(quote! {
                    let #arg = match #private::from_parts::<#ty, __S, #ident>(&mut __parts, &__state).await {
                        ::core::result::Result::Ok(value) => value,
                        ::core::result::Result::Err(response) => return response,
                    };
                });
            }
            Fill::Request => {
                checks.push(input_probe(plan, index, ty));
                principals.push(quote!(#ty));
                last_consumes = true;
                bounds.push(quote_spanned! {ty.span()=>
                    #ty: #private::FromRequest<__S, __M> + ::core::marker::Send
                });
                extracted.push(quote! {
                    let __request = #private::Request::from_parts(__parts, __body);
                    let #arg = match #private::from_request::<#ty, __S, __M, #ident>(__request, &__state).await {
                        ::core::result::Result::Ok(value) => value,
                        ::core::result::Result::Err(response) => return response,
                    };
                });
            }
        }
    }
    let (generics, marker) = if last_consumes {
        (quote!(<__S, __M>), quote!((__M,)))
    } else {
        (quote!(<__S>), quote!(()))
    };
    let unused_body = if last_consumes || !body.is_empty() {
        quote!()
    } else {
        quote!(let _ = __body;)
    };
    let unused_admitted = if body.is_empty()
        && resource.is_empty()
        && plan.args.concurrency.is_none()
        && plan.args.timeout.is_none()
    {
        quote!(let _ = &__admitted;)
    } else {
        quote!()
    };
    let output_span = handler.output_span();
    let call = quote_spanned! {output_span=>
        #private::IntoResponse::into_response(#inner(#(#arg_names),*).await)
    };
    // `concurrency`: a permit held while the handler runs; `timeout`: the handler's
    // future dropped when it elapses.
    let admit = if plan.args.concurrency.is_some() {
        quote! {
            let __permit = match #private::admit::<#ident>(&__admitted).await {
                ::core::result::Result::Ok(permit) => permit,
                ::core::result::Result::Err(response) => return response,
            };
        }
    } else {
        quote!()
    };
    let respond = if plan.args.timeout.is_some() {
        quote!(#private::within_timeout::<#ident, _>(&__admitted, async move { #call }).await)
    } else {
        call
    };

    quote! {
        #(#checks)*

        impl #ident {
            /// The principal types the parameters take, for the router's check.
            #[doc(hidden)]
            fn __requested_principals() -> ::std::vec::Vec<(::core::any::TypeId, &'static str)> {
                #[allow(unused_imports)]
                use #private::NotAPrincipal as _;
                let mut principals = ::std::vec::Vec::new();
                #(
                    if let ::core::option::Option::Some(principal) = #private::Probe::<#principals>::principal() {
                        principals.push(principal);
                    }
                )*
                principals
            }
        }

        impl #generics #private::Handler<#marker, __S> for #ident
        where
            __S: ::core::clone::Clone + ::core::marker::Send + ::core::marker::Sync + 'static,
            #(#bounds,)*
        {
            type Future = #private::HandlerFuture;

            fn call(self, request: #private::Request, __state: __S) -> Self::Future {
                ::std::boxed::Box::pin(async move {
                    let (mut __parts, __body) = request.into_parts();
                    let __admitted = match #private::enforce::<#ident>(&mut __parts).await {
                        ::core::result::Result::Ok(admitted) => admitted,
                        ::core::result::Result::Err(response) => return response,
                    };
                    #unused_admitted
                    #unused_body
                    #(#resource)*
                    #(#query)*
                    #(#body)*
                    #(#extracted)*
                    #admit
                    #respond
                })
            }
        }
    }
}

/// For a `validate`/`validate_query` type: the definition-site check that it derives
/// what it must (reported on the type the attribute names), the `Handler` bound, and the
/// value handed to the parameter (`value`, or `Json(value)`/`Query(value)`).
fn validated_input(
    ty: &syn::Type,
    wrapper: Option<&str>,
) -> (TokenStream, TokenStream, TokenStream) {
    let private = quote!(::secure_endpoint::__private);
    let check = quote_spanned! {ty.span()=>
        const _: () = #private::assert_valid_input::<#ty>();
    };
    let bound = quote_spanned! {ty.span()=>
        #ty: #private::InputFor<__S>
    };
    let value = match wrapper {
        Some(wrapper) => {
            let wrapper = format_ident!("{}", wrapper);
            quote!(#private::#wrapper(value))
        }
        None => quote!(value),
    };
    (check, bound, value)
}

/// A check of one extractor parameter's type, whatever it is called: a structured input
/// (`Json`, `Form`, `Query`, in an `Option` or a `Result` too) read without validation
/// is refused, and on `#[public]` a principal, which such a handler never has. An
/// inherent associated constant of the probe shadows the trait's for exactly those
/// types, and panics at compile time, spanned on the parameter's type.
fn input_probe(plan: &Plan<'_>, index: usize, ty: &syn::Type) -> TokenStream {
    let private = quote!(::secure_endpoint::__private);
    let probe = format_ident!("__Input{}", index);
    let fine = format_ident!("__Fine{}", index);
    let spelled = crate::ast::spelled(ty);
    // What the extractor reads into, as written: `Feedback` of `Body<Feedback>`, through
    // an `Option` or a `Result` too.
    let outer = ["Option", "Result"]
        .iter()
        .find_map(|wrapper| crate::ast::first_type_argument(ty, wrapper))
        .unwrap_or(ty);
    let inner = match outer {
        syn::Type::Path(path) => path
            .path
            .segments
            .last()
            .and_then(|last| crate::ast::first_type_argument(outer, &last.ident.to_string())),
        _ => None,
    }
    .map_or_else(|| "T".to_owned(), crate::ast::spelled);
    let mut refused = Vec::new();
    for (wrapper, path) in [
        ("Json", quote!(#private::Json<T>)),
        ("Form", quote!(#private::Form<T>)),
        ("Query", quote!(#private::Query<T>)),
    ] {
        let message = format!(
            "`{spelled}` is a {wrapper} extractor: {}",
            crate::check::unvalidated_input(wrapper, &inner)
        );
        refused.push(quote_spanned! {ty.span()=>
            #[allow(dead_code)]
            impl<T> #probe<#path> {
                const CHECK: () = ::core::panic!(#message);
            }
            #[allow(dead_code)]
            impl<T> #probe<::core::option::Option<#path>> {
                const CHECK: () = ::core::panic!(#message);
            }
            #[allow(dead_code)]
            impl<T, E> #probe<::core::result::Result<#path, E>> {
                const CHECK: () = ::core::panic!(#message);
            }
        });
    }
    if plan.kind == crate::ast::Kind::Public {
        let message = format!(
            "`{spelled}` asks for the verified caller, but a `#[public]` handler has none (every request would be refused with 401): use `#[secure(auth)]` to require one"
        );
        refused.push(quote_spanned! {ty.span()=>
            #[allow(dead_code)]
            impl #probe<#private::Claims> {
                const CHECK: () = ::core::panic!(#message);
            }
            #[allow(dead_code)]
            impl<P> #probe<#private::Authenticated<P>> {
                const CHECK: () = ::core::panic!(#message);
            }
        });
    }
    quote_spanned! {ty.span()=>
        #[allow(non_camel_case_types, dead_code)]
        struct #probe<T: ?::core::marker::Sized>(::core::marker::PhantomData<T>);
        #[allow(non_camel_case_types)]
        trait #fine {
            const CHECK: () = ();
        }
        impl<T: ?::core::marker::Sized> #fine for #probe<T> {}
        #(#refused)*
        const _: () = #probe::<#ty>::CHECK;
    }
}
