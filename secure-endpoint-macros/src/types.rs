//! Recognising types by how they are spelled: `Json<T>`, `Vec<T>`, `Option<T>`.
//!
//! A macro sees tokens, not types, so this is a best-effort hint: an alias or a path the
//! spelling does not show is not seen through. It chooses the clearest message and finds
//! the parameter an argument names; what must hold whatever the spelling is left to
//! rustc, through the bounds and the probes the expansion writes on the user's type.

use syn::Type;

/// A type as written, without whitespace, for comparing what the attribute names with
/// what the signature declares. Aliases are not seen through: `validate` must name the
/// type the way the parameter does.
pub fn spelled(ty: &Type) -> String {
    quote::ToTokens::to_token_stream(ty)
        .to_string()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect()
}

/// The first type argument of `Outer<T, …>` (the last path segment is `outer`).
pub fn first_type_argument<'t>(ty: &'t Type, outer: &str) -> Option<&'t Type> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    if last.ident != outer {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first()? {
        syn::GenericArgument::Type(inner) => Some(inner),
        _ => None,
    }
}

/// `T` of `Wrapper<T>` (the last path segment is `wrapper`).
pub fn wrapped_type<'t>(ty: &'t Type, wrapper: &str) -> Option<&'t Type> {
    let Type::Path(path) = ty else { return None };
    match &path.path.segments.last()?.arguments {
        syn::PathArguments::AngleBracketed(args) if args.args.len() == 1 => {
            first_type_argument(ty, wrapper)
        }
        _ => None,
    }
}

/// Whether a parameter of type `ty` receives `wanted`: as `wanted` itself (`Some(None)`),
/// or in one of `wrappers` (`Some(Some("Json"))` for `Json<wanted>`).
pub fn receives(
    ty: &Type,
    wanted: &Type,
    wrappers: &[&'static str],
) -> Option<Option<&'static str>> {
    let wanted = spelled(wanted);
    if spelled(ty) == wanted {
        return Some(None);
    }
    wrappers
        .iter()
        .find_map(|wrapper| match wrapped_type(ty, wrapper) {
            Some(inner) if spelled(inner) == wanted => Some(Some(*wrapper)),
            _ => None,
        })
}

/// What an extractor reads into, as written: `Feedback` of `Body<Feedback>`, through an
/// `Option` or a `Result` too; `None` when the type shows no type argument.
pub fn read_into(ty: &Type) -> Option<&Type> {
    let outer = ["Option", "Result"]
        .iter()
        .find_map(|wrapper| first_type_argument(ty, wrapper))
        .unwrap_or(ty);
    match outer {
        Type::Path(path) => path
            .path
            .segments
            .last()
            .and_then(|last| first_type_argument(outer, &last.ident.to_string())),
        _ => None,
    }
}
