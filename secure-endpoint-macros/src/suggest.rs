//! Did-you-mean for a misspelled argument, the same for every attribute the crate reads.

use syn::Ident;

/// The known name `unknown` is most likely a misspelling of: the nearest by edit
/// distance, when it is near enough (a third of the longer name, plus one edit).
pub fn closest<'k>(unknown: &str, known: &[&'k str]) -> Option<&'k str> {
    known
        .iter()
        .map(|name| (edit_distance(unknown, name), *name))
        .filter(|(distance, name)| *distance <= name.len().max(unknown.len()) / 3 + 1)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, name)| name)
}

/// "unknown argument `rol`: did you mean `role`?", or, when no known name is near,
/// every known name after `listing` ("the arguments are").
pub fn unknown_in(unknown: &Ident, known: &[&str], listing: &str) -> String {
    let name = unknown.to_string();
    match closest(&name, known) {
        Some(known) => format!("unknown argument `{name}`: did you mean `{known}`?"),
        None => format!(
            "unknown argument `{name}`; {listing}: {}",
            known
                .iter()
                .map(|a| format!("`{a}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Levenshtein distance; names are short, so the quadratic table is fine.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::{closest, edit_distance};

    #[test]
    fn edit_distance_counts_single_edits() {
        assert_eq!(edit_distance("rol", "role"), 1);
        assert_eq!(edit_distance("roel", "role"), 2);
        assert_eq!(edit_distance("auth", "auth"), 0);
    }

    #[test]
    fn closest_names_a_near_miss_and_nothing_far() {
        assert_eq!(closest("roles", &["role", "owner"]), Some("role"));
        assert_eq!(closest("own", &["role", "owner"]), Some("owner"));
        assert_eq!(closest("visibility", &["role", "owner"]), None);
    }
}
