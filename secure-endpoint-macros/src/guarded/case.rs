//! serde's `rename_all` rules, which decide the keys a guard names. serde_derive's own
//! are not public, so they are repeated here, for field names in snake case.

#[derive(Clone, Copy)]
pub enum RenameRule {
    Lower,
    Upper,
    Pascal,
    Camel,
    Snake,
    ScreamingSnake,
    Kebab,
    ScreamingKebab,
}

impl RenameRule {
    pub fn from_str(rule: &str) -> Option<Self> {
        Some(match rule {
            "lowercase" => RenameRule::Lower,
            "UPPERCASE" => RenameRule::Upper,
            "PascalCase" => RenameRule::Pascal,
            "camelCase" => RenameRule::Camel,
            "snake_case" => RenameRule::Snake,
            "SCREAMING_SNAKE_CASE" => RenameRule::ScreamingSnake,
            "kebab-case" => RenameRule::Kebab,
            "SCREAMING-KEBAB-CASE" => RenameRule::ScreamingKebab,
            _ => return None,
        })
    }

    pub fn apply(self, field: &str) -> String {
        match self {
            RenameRule::Lower | RenameRule::Snake => field.to_owned(),
            RenameRule::Upper | RenameRule::ScreamingSnake => field.to_ascii_uppercase(),
            // As serde does: PascalCase capitalises the first letter and each one after
            // an underscore; camelCase is that with its first character lower-cased, so
            // `_email` is `Email`, then `email`.
            RenameRule::Pascal | RenameRule::Camel => {
                let mut pascal = String::new();
                let mut capital = true;
                for c in field.chars() {
                    if c == '_' {
                        capital = true;
                    } else if capital {
                        pascal.push(c.to_ascii_uppercase());
                        capital = false;
                    } else {
                        pascal.push(c);
                    }
                }
                match (self, pascal.chars().next()) {
                    (RenameRule::Camel, Some(first)) => {
                        first.to_ascii_lowercase().to_string() + &pascal[first.len_utf8()..]
                    }
                    _ => pascal,
                }
            }
            RenameRule::Kebab => field.replace('_', "-"),
            RenameRule::ScreamingKebab => field.replace('_', "-").to_ascii_uppercase(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::RenameRule;

    #[test]
    fn rename_rules_are_serdes() {
        let cases = [
            ("camelCase", "user_id", "userId"),
            ("PascalCase", "user_id", "UserId"),
            ("kebab-case", "user_id", "user-id"),
            ("SCREAMING_SNAKE_CASE", "user_id", "USER_ID"),
            ("SCREAMING-KEBAB-CASE", "user_id", "USER-ID"),
            ("lowercase", "user_id", "user_id"),
            ("camelCase", "_email", "email"),
            ("PascalCase", "_email", "Email"),
            ("camelCase", "a__b", "aB"),
        ];
        for (rule, field, want) in cases {
            assert_eq!(
                RenameRule::from_str(rule).unwrap().apply(field),
                want,
                "{rule}"
            );
        }
    }
}
