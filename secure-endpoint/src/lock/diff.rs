//! Two locks compared: the text read back into blocks, every changed line paired with its
//! counterpart and marked by the table of [`super::protections`], and the diff rendered as
//! a reviewer reads it.

use std::fmt::Write as _;

use super::Block;
use super::protections::{Direction, protection};
use Direction::{Neutral, Stronger, Weaker};

/// A lock's text read back into blocks (comments and blank lines skipped).
pub(crate) fn parse(text: &str) -> Vec<Block> {
    let mut blocks: Vec<Block> = Vec::new();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        match line.strip_prefix("  ") {
            Some(entry) => {
                let (key, value) = entry.split_once(' ').unwrap_or((entry, ""));
                if let Some(block) = blocks.last_mut() {
                    block.lines.push((key.to_owned(), value.to_owned()));
                }
            }
            None => blocks.push(Block::new(line.to_owned())),
        }
    }
    blocks
}

/// One changed line of a diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Change {
    pub(crate) direction: Direction,
    /// `- line`, `+ line`, or `~ old -> new`.
    pub(crate) text: String,
}

/// Every changed block, with its changes, weaker first.
pub(crate) fn diff(old: &[Block], new: &[Block]) -> Vec<(String, Vec<Change>)> {
    let mut changed = Vec::new();
    let find = |blocks: &[Block], title: &str| blocks.iter().find(|b| b.title == title).cloned();
    let route_key = |title: &str| {
        // `METHOD /path handler`: the handler's name may change without the route.
        let mut words = title.split(' ');
        format!(
            "{} {}",
            words.next().unwrap_or(""),
            words.next().unwrap_or("")
        )
    };
    let mut titles: Vec<String> = Vec::new();
    for block in old.iter().chain(new) {
        let key = route_key(&block.title);
        if !titles.contains(&key) {
            titles.push(key);
        }
    }
    for key in titles {
        let old_block = old
            .iter()
            .find(|b| route_key(&b.title) == key)
            .and_then(|b| find(old, &b.title));
        let new_block = new
            .iter()
            .find(|b| route_key(&b.title) == key)
            .and_then(|b| find(new, &b.title));
        let title = new_block
            .as_ref()
            .or(old_block.as_ref())
            .map(|b| b.title.clone())
            .unwrap_or(key);
        let changes = match (old_block, new_block) {
            (Some(old), Some(new)) => block_changes(&old, &new),
            (None, Some(new)) => {
                let public = new
                    .lines
                    .iter()
                    .any(|(k, v)| k == "access" && v != "secure");
                let direction = if public { Weaker } else { Neutral };
                vec![Change {
                    direction,
                    text: "+ the route (new)".to_owned(),
                }]
            }
            (Some(_), None) => vec![Change {
                direction: Stronger,
                text: "- the route (gone)".to_owned(),
            }],
            (None, None) => Vec::new(),
        };
        if !changes.is_empty() {
            changed.push((title, changes));
        }
    }
    changed.sort_by_key(|(_, changes)| changes.iter().map(|c| c.direction).min());
    changed
}

fn block_changes(old: &Block, new: &Block) -> Vec<Change> {
    let mut changes = Vec::new();
    let keys: Vec<&String> = {
        let mut keys: Vec<&String> = old.lines.iter().chain(&new.lines).map(|(k, _)| k).collect();
        keys.dedup();
        let mut unique = Vec::new();
        for key in keys {
            if !unique.contains(&key) {
                unique.push(key);
            }
        }
        unique
    };
    for key in keys {
        let table = protection(key);
        let values = |block: &Block| -> Vec<String> {
            block
                .lines
                .iter()
                .filter(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
                .collect()
        };
        let (mut before, mut after) = (values(old), values(new));
        before.retain(|v| {
            let same = after.iter().position(|w| w == v);
            if let Some(i) = same {
                after.remove(i);
            }
            same.is_none()
        });
        let identity = |value: &str| -> String {
            match table.and_then(|t| t.identity) {
                Some(identity) => identity(value).to_owned(),
                None => String::new(),
            }
        };
        for value in before {
            let id = identity(&value);
            match after.iter().position(|w| identity(w) == id) {
                Some(i) => {
                    let new_value = after.remove(i);
                    let direction = table.map_or(Weaker, |t| (t.changed)(&value, &new_value));
                    changes.push(Change {
                        direction,
                        text: format!("~ {key} {value} -> {new_value}"),
                    });
                }
                None => changes.push(Change {
                    direction: table.map_or(Weaker, |t| t.removed),
                    text: format!("- {key} {value}"),
                }),
            }
        }
        for value in after {
            changes.push(Change {
                direction: table.map_or(Weaker, |t| t.added),
                text: format!("+ {key} {value}"),
            });
        }
    }
    changes.sort_by_key(|c| c.direction);
    changes
}

/// The diff as a reviewer reads it: a first line counting what weakened, then each
/// changed route with its lines marked.
pub(crate) fn render_diff(path: &str, changes: &[(String, Vec<Change>)]) -> String {
    let weakened: Vec<&str> = changes
        .iter()
        .filter(|(_, c)| c.iter().any(|c| c.direction == Weaker))
        .map(|(title, _)| title.as_str())
        .collect();
    let mut text = match weakened.len() {
        0 => format!("{path}: the security lock changed; nothing weakened\n"),
        1 => format!("{path}: 1 route or setting weakened: {}\n", weakened[0]),
        n => format!(
            "{path}: {n} routes or settings weakened: {}\n",
            weakened.join(", ")
        ),
    };
    for (title, lines) in changes {
        let _ = writeln!(text, "\n{title}");
        for change in lines {
            let _ = writeln!(text, "  {:<8} {}", change.direction.label(), change.text);
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lock::protections::PROTECTIONS;

    fn judge(key: &str, old: Option<&str>, new: Option<&str>) -> Direction {
        let block = |value: Option<&str>| Block {
            title: "GET /x x".to_owned(),
            lines: value
                .map(|v| vec![(key.to_owned(), v.to_owned())])
                .unwrap_or_default(),
        };
        let changes = block_changes(&block(old), &block(new));
        assert_eq!(changes.len(), 1, "{changes:?}");
        changes[0].direction
    }

    #[test]
    fn every_key_written_has_a_row() {
        let keys: Vec<&str> = PROTECTIONS.iter().map(|p| p.key).collect();
        let mut unique = keys.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), keys.len(), "a key is in the table twice");
    }

    #[test]
    fn access_public_is_weaker() {
        assert_eq!(judge("access", Some("secure"), Some("public")), Weaker);
        assert_eq!(judge("access", Some("public"), Some("secure")), Stronger);
    }

    #[test]
    fn auth_dropped_or_made_optional_is_weaker() {
        assert_eq!(judge("auth", Some("required"), None), Weaker);
        assert_eq!(judge("auth", Some("required"), Some("optional")), Weaker);
        assert_eq!(judge("auth", None, Some("required")), Stronger);
    }

    #[test]
    fn a_credential_accepted_more_is_weaker() {
        assert_eq!(
            judge("credential", None, Some("cookie __Host-session")),
            Weaker
        );
        assert_eq!(
            judge("credential", Some("cookie __Host-session"), None),
            Stronger
        );
    }

    #[test]
    fn roles_are_any_of() {
        assert_eq!(judge("roles", Some("admin"), None), Weaker);
        assert_eq!(judge("roles", None, Some("admin")), Stronger);
        assert_eq!(judge("roles", Some("admin"), Some("admin editor")), Weaker);
        assert_eq!(
            judge("roles", Some("admin editor"), Some("admin")),
            Stronger
        );
        assert_eq!(judge("roles", Some("admin"), Some("editor")), Weaker);
    }

    #[test]
    fn scopes_are_all_of() {
        assert_eq!(judge("scopes", Some("a"), None), Weaker);
        assert_eq!(judge("scopes", Some("a"), Some("a b")), Stronger);
        assert_eq!(judge("scopes", Some("a b"), Some("a")), Weaker);
        assert_eq!(judge("scopes", Some("a"), Some("b")), Weaker);
    }

    #[test]
    fn owner_and_tenant_removed_are_weaker_and_moved_neutral() {
        for key in ["owner", "tenant"] {
            assert_eq!(judge(key, Some("post.user_id"), None), Weaker);
            assert_eq!(judge(key, None, Some("post.user_id")), Stronger);
            assert_eq!(
                judge(key, Some("post.user_id"), Some("post.author_id")),
                Neutral
            );
        }
    }

    #[test]
    fn a_permission_check_removed_or_its_policies_changed_is_weaker() {
        assert_eq!(judge("can", Some("edit on Post"), None), Weaker);
        assert_eq!(judge("can", None, Some("edit on Post")), Stronger);
        assert_eq!(
            judge("can", Some("edit on Post"), Some("read on Post")),
            Neutral
        );
        assert_eq!(
            judge(
                "permissions",
                Some("cedar sha256:aa"),
                Some("cedar sha256:bb")
            ),
            Weaker
        );
        assert_eq!(judge("permissions", Some("cedar sha256:aa"), None), Weaker);
    }

    #[test]
    fn a_role_passing_the_owner_check_is_weaker() {
        assert_eq!(judge("owner-or-role", None, Some("admin")), Weaker);
        assert_eq!(judge("owner-or-role", Some("admin"), None), Stronger);
    }

    #[test]
    fn validation_removed_is_weaker() {
        assert_eq!(judge("validate-body", Some("Post json"), None), Weaker);
        assert_eq!(judge("validate-query", None, Some("Filter")), Stronger);
    }

    #[test]
    fn field_rules_loosened_are_weaker() {
        let field = |rules: &str| format!("body.title type=string required {rules}");
        assert_eq!(
            judge(
                "field",
                Some(&field("maxLength=200")),
                Some(&field("maxLength=500"))
            ),
            Weaker
        );
        assert_eq!(
            judge(
                "field",
                Some(&field("maxLength=500")),
                Some(&field("maxLength=200"))
            ),
            Stronger
        );
        assert_eq!(
            judge(
                "field",
                Some(&field("minLength=1")),
                Some(&field("minLength=0"))
            ),
            Weaker
        );
        assert_eq!(
            judge("field", Some(&field("minLength=1")), Some(&field(""))),
            Weaker
        );
        assert_eq!(
            judge(
                "field",
                Some(&field("pattern=^a$")),
                Some(&field("pattern=.*"))
            ),
            Weaker
        );
        assert_eq!(judge("field", None, Some("body.note type=string")), Neutral);
    }

    #[test]
    fn limits_raised_removed_or_reporting_are_weaker() {
        let limit = |rest: &str| format!("key=user counts=any group=- except=- {rest}");
        assert_eq!(
            judge(
                "limit",
                Some(&limit("rate=10/m")),
                Some(&limit("rate=20/m"))
            ),
            Weaker
        );
        // The same burst over a shorter period sustains more.
        assert_eq!(
            judge(
                "limit",
                Some(&limit("rate=10/m")),
                Some(&limit("rate=10/s"))
            ),
            Weaker
        );
        // A longer period sustains less.
        assert_eq!(
            judge(
                "limit",
                Some(&limit("rate=10/s")),
                Some(&limit("rate=10/m"))
            ),
            Stronger
        );
        assert_eq!(judge("limit", Some(&limit("rate=10/m")), None), Weaker);
        assert_eq!(judge("limit", None, Some(&limit("rate=10/m"))), Stronger);
        assert_eq!(
            judge(
                "limit",
                Some(&limit("rate=10/m")),
                Some(&limit("rate=10/m mode=report"))
            ),
            Weaker
        );
    }

    #[test]
    fn timeouts_concurrency_and_body_limits_raised_are_weaker() {
        for key in ["timeout", "concurrency", "body-limit", "max-token-lifetime"] {
            assert_eq!(judge(key, Some("5000ms"), Some("9000ms")), Weaker, "{key}");
            assert_eq!(
                judge(key, Some("9000ms"), Some("5000ms")),
                Stronger,
                "{key}"
            );
            assert_eq!(judge(key, Some("5000ms"), None), Weaker, "{key}");
        }
        assert_eq!(judge("body-limit", Some("65536"), Some("1048576")), Weaker);
    }

    #[test]
    fn csrf_and_guards_removed_are_weaker() {
        assert_eq!(judge("csrf", Some("checked"), None), Weaker);
        assert_eq!(
            judge("guarded", Some("answer.email owner=id"), None),
            Weaker
        );
        assert_eq!(
            judge("guarded", None, Some("body.pinned role=admin")),
            Stronger
        );
    }

    #[test]
    fn settings_that_admit_more_are_weaker() {
        for key in [
            "issuer",
            "audience",
            "algorithm",
            "trusted-proxy",
            "cors-origin",
        ] {
            assert_eq!(judge(key, None, Some("x")), Weaker, "{key}");
            assert_eq!(judge(key, Some("x"), None), Stronger, "{key}");
        }
        assert_eq!(judge("cors-credentials", None, Some("true")), Weaker);
        assert_eq!(
            judge("cors-credentials", Some("false"), Some("true")),
            Weaker
        );
        assert_eq!(judge("hide-forbidden", Some("true"), Some("false")), Weaker);
        assert_eq!(
            judge("hide-forbidden", Some("false"), Some("true")),
            Stronger
        );
        assert_eq!(
            judge("revocation-fails", Some("closed"), Some("open")),
            Weaker
        );
        assert_eq!(judge("revocation", Some("memory"), None), Weaker);
        assert_eq!(judge("principal-check", Some("cache=60s"), None), Weaker);
        assert_eq!(judge("hsts", Some("max-age=31536000"), None), Weaker);
        assert_eq!(
            judge("leeway", Some("default 30s"), Some("default 120s")),
            Weaker
        );
        assert_eq!(
            judge("max-token-bytes", Some("8192"), Some("65536")),
            Weaker
        );
        assert_eq!(
            judge("failed-auth-limit", Some("20/m"), Some("100/m")),
            Weaker
        );
        assert_eq!(judge("failed-auth-limit", Some("20/m"), None), Weaker);
        assert_eq!(
            judge("session-cookie", None, Some("__Host-session")),
            Weaker
        );
    }

    #[test]
    fn neutral_settings_are_neutral() {
        for key in [
            "reason",
            "authenticator",
            "forwarded-header",
            "own-origin",
            "declared-roles",
            "device-credentials",
        ] {
            assert_eq!(judge(key, Some("a"), Some("b")), Neutral, "{key}");
        }
    }

    #[test]
    fn the_diff_counts_the_weakened_routes_and_lists_them_first() {
        let old = parse(
            "GET /admin/stats stats\n  access secure\n  auth required\n  roles admin\nGET /me me\n  access secure\n  auth required\n",
        );
        let new = parse(
            "GET /admin/stats stats\n  access secure\n  auth required\nGET /me me\n  access secure\n  auth required\n  roles user\n",
        );
        let changes = diff(&old, &new);
        assert_eq!(changes[0].0, "GET /admin/stats stats");
        let text = render_diff("security.lock", &changes);
        assert!(
            text.starts_with(
                "security.lock: 1 route or setting weakened: GET /admin/stats stats\n"
            ),
            "{text}"
        );
        assert!(text.contains("  weaker   - roles admin\n"), "{text}");
        assert!(text.contains("  stronger + roles user\n"), "{text}");
    }
}
