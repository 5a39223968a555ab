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
            RenameRule::Pascal | RenameRule::Camel => {
                let mut out = String::new();
                let mut capital = matches!(self, RenameRule::Pascal);
                for c in field.chars() {
                    if c == '_' {
                        capital = true;
                    } else if capital {
                        out.push(c.to_ascii_uppercase());
                        capital = false;
                    } else {
                        out.push(c);
                    }
                }
                out
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
