//! The rules about the struct and its fields together: no serde attribute that moves
//! the fields a guard names, no guard on a field whose keys or
//! shape serde decides elsewhere, and an `owner` that names a field of the struct.

use super::ast::{Container, unraw};
use crate::ctxt::Ctxt;

pub fn check(cx: &mut Ctxt, container: &Container<'_>) {
    for (name, path) in &container.moved_by {
        cx.error_spanned_by(
            path,
            format!(
                "`Guarded` cannot follow `#[serde({name})]`, which moves the fields it guards: serialize a struct of plain fields, or leave the guard out"
            ),
        );
    }
    let names: Vec<String> = container.fields.iter().map(|f| unraw(f.ident)).collect();
    for field in &container.fields {
        let Some(guard) = &field.guard else { continue };
        if field.flattened {
            cx.error_spanned_by(
                field.ident,
                "a guarded field cannot be `#[serde(flatten)]`: its keys would be the inner struct's; guard the inner struct's fields instead",
            );
        }
        if field.custom {
            cx.error_spanned_by(
                field.ident,
                "a guarded field cannot be serialized with `serialize_with`/`with`: the guard could not tell what it writes; remove the custom serializer from this field, or guard a plain field that holds the serialized form",
            );
        }
        if let Some(owner) = &guard.owner
            && !names.contains(&owner.value())
        {
            cx.error_spanned_by(
                owner,
                format!(
                    "`owner` names the field `{}`, but the struct has no field of that name: the available fields are {}",
                    owner.value(),
                    names
                        .iter()
                        .map(|n| format!("`{n}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
        }
    }
}
