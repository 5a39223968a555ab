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

    let secure_handler = secure_handler_impl(ident, &policy_expr(plan.kind, plan.args), Some(plan));
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
    plan: Option<&Plan<'_>>,
) -> TokenStream {
    let private = quote!(::secure_endpoint::__private);
    let name = ident.to_string();
    let principals = match plan {
        Some(plan) => {
            let body = plan
                .params
                .iter()
                .find_map(|fill| match fill {
                    Fill::Body { ty, .. } => {
                        Some(quote!((&#private::BodyProbe::<#ty>::new()).keys()))
                    }
                    _ => None,
                })
                .unwrap_or_else(|| quote!(&[]));
            let response = match &plan.handler.sig.output {
                syn::ReturnType::Type(_, ret) if !contains_impl(ret) => {
                    quote!((&#private::ReturnProbe::<#ret>::new()).keys())
                }
                _ => quote!(&[]),
            };
            let probe = |ty: Option<&syn::Type>| match ty {
                Some(ty) => {
                    quote!((&#private::SchemaProbe::<#private::schema_role::Body, #ty>::new()).schema())
                }
                None => quote!(::core::option::Option::None),
            };
            let body_schema = probe(plan.params.iter().find_map(|fill| match fill {
                Fill::Body { ty, .. } => Some(*ty),
                _ => None,
            }));
            let body_form = plan.params.iter().any(|fill| {
                matches!(
                    fill,
                    Fill::Body {
                        wrapper: Some("Form"),
                        ..
                    }
                )
            });
            let query_schema = probe(plan.params.iter().find_map(|fill| match fill {
                Fill::Query { ty, .. } => Some(*ty),
                _ => None,
            }));
            let key_schema = plan
                .params
                .iter()
                .zip(&plan.handler.params)
                .filter_map(|(fill, param)| {
                    let ty = &param.ty;
                    match fill {
                        Fill::Resource { .. } => {
                            Some(quote!((&#private::SchemaProbe::<#private::schema_role::Key, #ty>::new()).schema()))
                        }
                        Fill::Parts | Fill::Request => {
                            Some(quote!((&#private::SchemaProbe::<#private::schema_role::PathParameter, #ty>::new()).schema()))
                        }
                        _ => None,
                    }
                })
                .reduce(|first, next| quote!(#first.or_else(|| #next)))
                .unwrap_or_else(|| quote!(::core::option::Option::None));
            let answer_schema = match &plan.handler.sig.output {
                syn::ReturnType::Type(_, ret) if !contains_impl(ret) => {
                    quote!((&#private::SchemaProbe::<#private::schema_role::Answer, #ret>::new()).schema())
                }
                _ => quote!(::core::option::Option::None),
            };
            quote! {
                fn requested_principals() -> ::std::vec::Vec<(::core::any::TypeId, &'static str)> {
                    #ident::__requested_principals()
                }

                #[allow(unused_imports)]
                fn schemas() -> #private::Schemas {
                    use #private::{WithSchema as _, WithoutSchema as _};
                    #private::Schemas {
                        body: #body_schema,
                        body_form: #body_form,
                        query: #query_schema,
                        path_key: #key_schema,
                        response: #answer_schema,
                    }
                }

                #[allow(unused_imports)]
                fn guarded_keys() -> #private::Guards {
                    use #private::{BodyGuarded as _, BodyPlain as _, ReturnGuarded as _, ReturnPlain as _};
                    #private::Guards { body: #body, response: #response }
                }
            }
        }
        None => quote!(),
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
    if args.optional_auth.is_some() {
        expr = quote!(#expr.allow_optional_auth());
    }
    if let Some(tenant) = &args.tenant {
        let lit = &tenant.value.lit;
        expr = quote!(#expr.with_tenant(#lit));
    }
    if let Some(roles) = &args.roles {
        let values = &roles.value;
        expr = quote!(#expr.any_role(&[#(#values),*]));
    }
    if let Some(scopes) = &args.scopes {
        let values = &scopes.value;
        expr = quote!(#expr.all_scopes(&[#(#values),*]));
    }
    let limits = limits(kind, args);
    if !limits.is_empty() {
        expr = quote!(#expr.with_limits(&[#(#limits),*]));
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

/// Every limit, as `Limit` constants: `rate` (one or a list, on `rate_key` or the
/// default key), then each `limit(...)` in order.
fn limits(kind: Kind, args: &Args) -> Vec<TokenStream> {
    let private = quote!(::secure_endpoint::__private);
    let default_key = if args.auth.is_some() {
        quote!(#private::RateKey::User)
    } else if kind == Kind::Public && args.optional_auth.is_some() {
        quote!(#private::RateKey::Caller)
    } else {
        quote!(#private::RateKey::Ip)
    };
    let key_of = |key: Option<&crate::ast::RateKey>| match key {
        None => default_key.clone(),
        Some(crate::ast::RateKey::Ip) => quote!(#private::RateKey::Ip),
        Some(crate::ast::RateKey::User) => quote!(#private::RateKey::User),
        Some(crate::ast::RateKey::Input(path)) => {
            let lit = &path.lit;
            quote!(#private::RateKey::Input(#lit))
        }
    };
    let mut limits = Vec::new();
    if let Some(rates) = &args.rate {
        let key = key_of(args.rate_key.as_ref().map(|k| &k.value));
        for rate in &rates.value {
            let (count, period) = (rate.count, rate.period_ms);
            limits.push(quote! {
                #private::Limit::new(#count, #period, #key, #private::Counts::Any, ::core::option::Option::None)
            });
        }
    }
    for limit in &args.limits {
        let Some(rate) = &limit.value.rate else {
            continue;
        };
        let (count, period) = (rate.count, rate.period_ms);
        let key = key_of(limit.value.key.as_ref().map(|(key, _)| key));
        let counts = if limit.value.failure {
            quote!(#private::Counts::Failure)
        } else {
            quote!(#private::Counts::Any)
        };
        let group = match &limit.value.group {
            Some(group) => quote!(::core::option::Option::Some(#group)),
            None => quote!(::core::option::Option::None),
        };
        limits.push(quote! {
            #private::Limit::new(#count, #period, #key, #counts, #group)
        });
    }
    limits
}

/// The limits on body fields: for each, the key as written and the field's path.
fn input_limits(args: &Args) -> Vec<&crate::ast::OwnerPath> {
    args.limits
        .iter()
        .filter_map(|limit| match &limit.value.key {
            Some((crate::ast::RateKey::Input(path), _)) => Some(path),
            _ => None,
        })
        .collect()
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
            Fill::Resource { owner, tenant } => {
                bounds.push(quote_spanned! {ty.span()=>
                    #ty: #private::LoadableFrom<__S>
                });
                // Spanned on the parameter's type: a type that is not a `Resource` is
                // reported there, by `Resource`'s own diagnostic.
                checks.push(quote_spanned! {ty.span()=>
                    const _: () = #private::assert_resource::<#ty>();
                });
                // Spanned on the `owner` and `tenant` strings: a missing field, or one
                // that cannot be compared with the principal's, is reported there.
                let tenant_check = tenant.map(|tenant| {
                    let fields = &tenant.fields;
                    let check = quote_spanned! {tenant.lit.span()=>
                        #private::check_tenant::<#ident, _>(&__admitted, &__parts, &#arg #(.#fields)*)
                    };
                    quote! {
                        if let ::core::result::Result::Err(rejection) = #check {
                            return #private::IntoResponse::into_response(rejection);
                        }
                    }
                });
                let owner_check = owner.map(|owner| {
                    let fields = &owner.fields;
                    let check = quote_spanned! {owner.lit.span()=>
                        #private::check_owner::<#ident, _>(&__admitted, &__parts, &#arg #(.#fields)*)
                    };
                    quote! {
                        if let ::core::result::Result::Err(rejection) = #check {
                            return #private::IntoResponse::into_response(rejection);
                        }
                    }
                });
                resource.push(quote! {
                    let #arg = match #private::load_resource::<#ty, __S, #ident>(&mut __parts, &__state).await {
                        ::core::result::Result::Ok(value) => value,
                        ::core::result::Result::Err(response) => return response,
                    };
                    #tenant_check
                    #owner_check
                });
            }
            Fill::Collection {
                item,
                owner,
                tenant,
            } => {
                bounds.push(quote_spanned! {ty.span()=>
                    #item: #private::ListableFrom<__S>
                });
                bounds.push(quote_spanned! {ty.span()=>
                    <#item as #private::ListableFrom<__S>>::Query: #private::InputFor<__S>
                });
                checks.push(quote_spanned! {ty.span()=>
                    const _: () = #private::assert_collection::<#item>();
                });
                let accessor = |path: Option<&crate::ast::OwnerPath>| match path {
                    Some(path) => {
                        let fields = &path.fields;
                        quote_spanned! {path.lit.span()=>
                            ::core::option::Option::Some(
                                (|item: &#item| -> &dyn #private::OwnerId { &item #(.#fields)* })
                                    as fn(&#item) -> &dyn #private::OwnerId
                            )
                        }
                    }
                    None => quote!(::core::option::Option::None),
                };
                let owner_of = accessor(*owner);
                let tenant_of = accessor(*tenant);
                resource.push(quote! {
                    let #arg = match #private::load_collection::<#item, __S, #ident>(&__admitted, &__parts, &__state, #owner_of, #tenant_of).await {
                        ::core::result::Result::Ok(value) => value,
                        ::core::result::Result::Err(response) => return response,
                    };
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
                // The limits on body fields, checked with the route's others once the body
                // is valid; each field must be a string (reported on the key's string).
                let fields: Vec<TokenStream> = input_limits(plan.args)
                    .into_iter()
                    .map(|path| {
                        let lit = &path.lit;
                        let fields = &path.fields;
                        quote_spanned! {lit.span()=>
                            (#lit, ::secure_endpoint::__private::LimitField::limit_text(&value #(.#fields)*))
                        }
                    })
                    .collect();
                let limit_inputs = if fields.is_empty() {
                    quote!()
                } else {
                    quote! {
                        if let ::core::result::Result::Err(response) = #private::limit_inputs::<#ident>(&mut __admitted, &__parts, &[#(#fields),*]).await {
                            return response;
                        }
                    }
                };
                // A guarded field the writer may not write is refused here, before any
                // other extractor runs.
                body.push(quote! {
                    let #arg = match #private::validated_body::<#ty, __S, #ident>(&__admitted, &__parts, __body, #encoding).await {
                        ::core::result::Result::Ok(value) => {
                            #[allow(unused_imports)]
                            use #private::{NestedGuarded as _, NestedPlain as _};
                            let __writer = __admitted.viewer::<#ident>(&__parts);
                            if let ::core::option::Option::Some(field) = (&#private::Nested(&value)).write_nested(&__writer) {
                                return __admitted.refuse_write(field);
                            }
                            #limit_inputs
                            #value
                        }
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
                // The request goes to this extractor: the caller is kept first when the
                // answer will be serialized for it.
                let keep = match &handler.sig.output {
                    syn::ReturnType::Type(_, ret) if !contains_impl(ret) => quote! {
                        #[allow(unused_imports)]
                        use #private::{ReturnGuarded as _, ReturnPlain as _};
                        if (&#private::ReturnProbe::<#ret>::new()).needs_viewer() {
                            __admitted.snapshot::<#ident>(&__parts)
                        } else {
                            #private::Snapshot::none()
                        }
                    },
                    _ => quote!(#private::Snapshot::none()),
                };
                extracted.push(quote! {
                    let __caller = { #keep };
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
    let output_span = handler.output_span();
    // The answer is serialized for its caller when it holds guarded values: the
    // principal of the request's parts, or the one kept before a last extractor took
    // them.
    let viewer = if last_consumes {
        quote!(__caller.viewer())
    } else {
        quote!(__admitted.viewer::<#ident>(&__parts))
    };
    let call = quote_spanned! {output_span=>
        {
            #[allow(unused_imports)]
            use #private::{RespondGuarded as _, RespondPlain as _};
            let __value = #inner(#(#arg_names),*).await;
            #private::assert_response(&__value);
            (&#private::Respond::new(__value)).respond(&#viewer)
        }
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
        quote!(#private::within_timeout::<#ident, _>(&__admitted, async { #call }).await)
    } else {
        call
    };
    // `on = "failure"`: the handler's 401 or 403 is counted once it has answered.
    let respond = if plan.args.limits.iter().any(|limit| limit.value.failure) {
        quote! {
            {
                let __response = #respond;
                #private::count_failure(&__admitted, __response.status()).await;
                __response
            }
        }
    } else {
        respond
    };
    let admitted_mut = if input_limits(plan.args).is_empty() {
        quote!()
    } else {
        quote!(mut)
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
                    let #admitted_mut __admitted = match #private::enforce::<#ident>(&mut __parts).await {
                        ::core::result::Result::Ok(admitted) => admitted,
                        ::core::result::Result::Err(response) => return response,
                    };
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
    if plan.kind == crate::ast::Kind::Public && plan.args.optional_auth.is_none() {
        let message = format!(
            "`{spelled}` asks for the verified caller, but a `#[public]` handler has none (every request would be refused with 401): use `#[secure(auth)]` to require one, or `#[public(optional_auth)]` with an `Option<…>` of it"
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
            #[allow(dead_code)]
            impl #probe<::core::option::Option<#private::Claims>> {
                const CHECK: () = ::core::panic!(#message);
            }
            #[allow(dead_code)]
            impl<P> #probe<::core::option::Option<#private::Authenticated<P>>> {
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

/// Whether a type is or holds `impl Trait`, which the expansion cannot name.
fn contains_impl(ty: &syn::Type) -> bool {
    quote::ToTokens::to_token_stream(ty)
        .into_iter()
        .any(|tree| matches!(&tree, proc_macro2::TokenTree::Ident(i) if i == "impl"))
        || matches!(ty, syn::Type::ImplTrait(_))
}
