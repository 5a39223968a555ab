//! `impl Handler for <struct>`: enforce the policy (authentication, limits, roles and
//! scopes), load and check the owned resource, read the validated query and body, run
//! the other extractors in order (rejections answered in the crate's JSON shape), then
//! call the user's function (within its concurrency and time limits, when it has them).
//! One emitter per [`Fill`]: each gives its parameter's `where` bounds and the
//! statement that binds it.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Ident, Type};

use super::contains_impl;
use crate::ast::OwnerPath;
use crate::check::{Fill, Plan};

pub fn handler_impl(plan: &Plan<'_>, inner: &Ident) -> TokenStream {
    let handler = plan.handler;
    let ident = handler.ident();
    let private = quote!(::secure_endpoint::__private);
    let arg_names: Vec<_> = (0..handler.params.len())
        .map(|i| format_ident!("__arg{}", i))
        .collect();
    let mut bounds = Vec::new();
    // The statements that bind the parameters, in the order `call` runs them: loaded
    // resources, the validated query, the validated body, then the other extractors.
    let mut loaded = Vec::new();
    let mut query = Vec::new();
    let mut body = Vec::new();
    let mut extracted = Vec::new();
    let mut principals = Vec::new();
    let mut last_consumes = false;
    for (index, fill) in plan.params.iter().enumerate() {
        let ty = &handler.params[index].ty;
        let arg = &arg_names[index];
        match fill {
            Fill::Resource { owner, tenant, can } => {
                bounds.push(quote_spanned! {ty.span()=>
                    #ty: #private::LoadableFrom<__S>
                });
                // No `Entity` bound here: a type without it is reported on the parameter
                // (by the `permit` call), and the route is not refused a second time.
                loaded.push(load_resource(ident, ty, arg, *owner, *tenant, *can));
            }
            Fill::Collection {
                item,
                owner,
                tenant,
                can,
            } => {
                bounds.push(quote_spanned! {ty.span()=>
                    #item: #private::ListableFrom<__S>
                });
                bounds.push(quote_spanned! {ty.span()=>
                    <#item as #private::ListableFrom<__S>>::Query: #private::InputFor<__S>
                });
                loaded.push(load_collection(ident, item, arg, *owner, *tenant, *can));
            }
            Fill::Query { ty, wrapper } => {
                bounds.push(input_bound(ty));
                query.push(validated_query(ident, ty, *wrapper, arg));
            }
            Fill::Body { ty, wrapper } => {
                bounds.push(input_bound(ty));
                body.push(validated_body(plan, ty, *wrapper, arg));
            }
            Fill::Parts => {
                principals.push(ty);
                bounds.push(quote_spanned! {ty.span()=>
                    #ty: #private::FromRequestParts<__S> + ::core::marker::Send
                });
                extracted.push(from_parts(ident, ty, arg));
            }
            Fill::Request => {
                principals.push(ty);
                last_consumes = true;
                bounds.push(quote_spanned! {ty.span()=>
                    #ty: #private::FromRequest<__S, __M> + ::core::marker::Send
                });
                extracted.push(from_request(plan, ty, arg));
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
    let respond = respond(plan, inner, &arg_names, last_consumes);
    // `can` without `on`: the route itself is asked about, before anything is loaded.
    let route_permit = match plan.policy.permission {
        Some((action, None, _)) => quote! {
            if let ::core::result::Result::Err(response) =
                #private::permit_route::<#ident>(&__admitted, #action).await
            {
                return response;
            }
        },
        _ => quote!(),
    };
    let admitted_mut = if plan.input_limit_fields.is_empty() {
        quote!()
    } else {
        quote!(mut)
    };

    quote! {
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
                    #route_permit
                    #(#loaded)*
                    #(#query)*
                    #(#body)*
                    #(#extracted)*
                    #respond
                })
            }
        }
    }
}

/// The resource `owner`/`tenant` names, loaded, then its tenant and its owner checked.
fn load_resource(
    ident: &Ident,
    ty: &Type,
    arg: &Ident,
    owner: Option<&OwnerPath>,
    tenant: Option<&OwnerPath>,
    can: Option<&syn::LitStr>,
) -> TokenStream {
    let private = quote!(::secure_endpoint::__private);
    // Spanned on the `owner` and `tenant` strings: a missing field, or one that cannot
    // be compared with the principal's, is reported there.
    let check = |path: Option<&OwnerPath>, check: &str| {
        path.map(|path| {
            let fields = &path.fields;
            let check = Ident::new(check, path.lit.span());
            let call = quote_spanned! {path.lit.span()=>
                #private::#check::<#ident, _>(&__admitted, &#arg #(.#fields)*)
            };
            quote! {
                if let ::core::result::Result::Err(rejection) = #call {
                    return #private::IntoResponse::into_response(rejection);
                }
            }
        })
    };
    let tenant_check = check(tenant, "check_tenant");
    let owner_check = check(owner, "check_owner");
    let permit = can.map(|action| {
        let object = quote_spanned! {ty.span()=>
            #private::object_of::<#ty>(&#arg)
        };
        quote! {
            if let ::core::result::Result::Err(response) =
                #private::permit::<#ident>(&__admitted, #action, #object).await
            {
                return response;
            }
        }
    });
    quote! {
        let #arg = match #private::load_resource::<#ty, __S, #ident>(&mut __parts, &__state).await {
            ::core::result::Result::Ok(value) => value,
            ::core::result::Result::Err(response) => return response,
        };
        #tenant_check
        #owner_check
        #permit
    }
}

/// The list `owner`/`tenant`/`on` names, loaded for the caller, each item's owner and
/// tenant read by the accessors given to `load_collection`; with `can`, the engine's
/// plan asked before and every item asked about after.
fn load_collection(
    ident: &Ident,
    item: &Type,
    arg: &Ident,
    owner: Option<&OwnerPath>,
    tenant: Option<&OwnerPath>,
    can: Option<&syn::LitStr>,
) -> TokenStream {
    let private = quote!(::secure_endpoint::__private);
    let accessor = |path: Option<&OwnerPath>| match path {
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
    let owner_of = accessor(owner);
    let tenant_of = accessor(tenant);
    let Some(action) = can else {
        return quote! {
            let #arg = match #private::load_collection::<#item, __S, #ident>(&__admitted, &__parts, &__state, #owner_of, #tenant_of, ::core::option::Option::None).await {
                ::core::result::Result::Ok(value) => value,
                ::core::result::Result::Err(response) => return response,
            };
        };
    };
    // Spanned on the item type: one without `Entity` is reported there.
    let plan = quote_spanned! {item.span()=>
        ::secure_endpoint::__private::list_plan::<#item, #ident>(&__admitted, #action).await
    };
    let permit = quote_spanned! {item.span()=>
        ::secure_endpoint::__private::permit_items::<#item, #ident>(&__admitted, #action, &#arg).await
    };
    quote! {
        let __plan = match #plan {
            ::core::result::Result::Ok(plan) => plan,
            ::core::result::Result::Err(response) => return response,
        };
        let #arg = match #private::load_collection::<#item, __S, #ident>(&__admitted, &__parts, &__state, #owner_of, #tenant_of, ::core::option::Option::Some(&__plan)).await {
            ::core::result::Result::Ok(value) => value,
            ::core::result::Result::Err(response) => return response,
        };
        if let ::core::result::Result::Err(response) = #permit {
            return response;
        }
    }
}

/// The bound on a `validate`/`validate_query` type, spanned on the type the attribute
/// names.
fn input_bound(ty: &Type) -> TokenStream {
    let private = quote!(::secure_endpoint::__private);
    quote_spanned! {ty.span()=>
        #ty: #private::InputFor<__S>
    }
}

/// The value handed to the parameter: `value`, or `Json(value)`/`Query(value)`/
/// `Form(value)` in the wrapper the parameter gives it.
fn wrapped_value(wrapper: Option<&str>) -> TokenStream {
    let private = quote!(::secure_endpoint::__private);
    match wrapper {
        Some(wrapper) => {
            let wrapper = format_ident!("{}", wrapper);
            quote!(#private::#wrapper(value))
        }
        None => quote!(value),
    }
}

fn validated_query(ident: &Ident, ty: &Type, wrapper: Option<&str>, arg: &Ident) -> TokenStream {
    let private = quote!(::secure_endpoint::__private);
    let value = wrapped_value(wrapper);
    quote! {
        let #arg = match #private::validated_query::<#ty, __S, #ident>(&__parts) {
            ::core::result::Result::Ok(value) => #value,
            ::core::result::Result::Err(rejection) => {
                return #private::IntoResponse::into_response(rejection);
            }
        };
    }
}

/// The body, read and validated; then a guarded field the writer may not write is
/// refused, before any other extractor runs, and the limits on body fields are checked.
fn validated_body(plan: &Plan<'_>, ty: &Type, wrapper: Option<&str>, arg: &Ident) -> TokenStream {
    let private = quote!(::secure_endpoint::__private);
    let ident = plan.handler.ident();
    let value = wrapped_value(wrapper);
    let encoding = if wrapper == Some("Form") {
        quote!(#private::Encoding::Form)
    } else {
        quote!(#private::Encoding::Json)
    };
    // Checked with the route's other limits once the body is valid; each field must be
    // a string (reported on the key's string).
    let fields: Vec<TokenStream> = plan
        .input_limit_fields
        .iter()
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
    quote! {
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
    }
}

fn from_parts(ident: &Ident, ty: &Type, arg: &Ident) -> TokenStream {
    let private = quote!(::secure_endpoint::__private);
    quote! {
        let #arg = match #private::from_parts::<#ty, __S, #ident>(&mut __parts, &__state).await {
            ::core::result::Result::Ok(value) => value,
            ::core::result::Result::Err(response) => return response,
        };
    }
}

/// The last extractor, given the whole request: the caller is kept first when the
/// answer will be serialized for it.
fn from_request(plan: &Plan<'_>, ty: &Type, arg: &Ident) -> TokenStream {
    let private = quote!(::secure_endpoint::__private);
    let ident = plan.handler.ident();
    let keep = match &plan.handler.sig.output {
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
    quote! {
        let __caller = { #keep };
        let __request = #private::Request::from_parts(__parts, __body);
        let #arg = match #private::from_request::<#ty, __S, __M, #ident>(__request, &__state).await {
            ::core::result::Result::Ok(value) => value,
            ::core::result::Result::Err(response) => return response,
        };
    }
}

/// The call of the user's function and its answer, serialized for the caller when it
/// holds guarded values: within the concurrency permit and the timeout when the policy
/// has them, and counted as a failure afterwards when a limit counts failures.
fn respond(
    plan: &Plan<'_>,
    inner: &Ident,
    arg_names: &[Ident],
    last_consumes: bool,
) -> TokenStream {
    let private = quote!(::secure_endpoint::__private);
    let ident = plan.handler.ident();
    // The principal of the request's parts, or the one kept before a last extractor
    // took them.
    let viewer = if last_consumes {
        quote!(__caller.viewer())
    } else {
        quote!(__admitted.viewer::<#ident>(&__parts))
    };
    let call = quote_spanned! {plan.handler.output_span()=>
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
    let admit = if plan.policy.concurrency.is_some() {
        quote! {
            let __permit = match #private::admit::<#ident>(&__admitted).await {
                ::core::result::Result::Ok(permit) => permit,
                ::core::result::Result::Err(response) => return response,
            };
        }
    } else {
        quote!()
    };
    let respond = if plan.policy.timeout_ms.is_some() {
        quote!(#private::within_timeout::<#ident, _>(&__admitted, async { #call }).await)
    } else {
        call
    };
    let respond = if plan.counts_failures {
        quote! {
            {
                let __response = #respond;
                #private::settle_failures(&__admitted, __response).await
            }
        }
    } else {
        respond
    };
    quote! {
        #admit
        #respond
    }
}
