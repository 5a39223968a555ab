//! Who may call what (DESIGN §17): every route by kind of caller — anonymous, any
//! signed-in principal, each role the policies name, the owner — as Markdown and as one
//! standalone HTML page a reviewer opens in a browser.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use crate::inventory::{Inventory, RoutePolicy};
use crate::policy::Policy;

/// The permission matrix of a router: [`Inventory::matrix`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matrix {
    /// The kinds of caller, in column order.
    pub callers: Vec<String>,
    /// One row per route: `METHOD /path`, then one cell per caller.
    pub rows: Vec<(String, Vec<String>)>,
}

/// A kind of caller.
enum Caller<'a> {
    Anonymous,
    SignedIn,
    Role(&'a str),
    Owner,
}

impl Caller<'_> {
    fn title(&self) -> String {
        match self {
            Caller::Anonymous => "anonymous".to_owned(),
            Caller::SignedIn => "signed in".to_owned(),
            Caller::Role(role) => format!("role {role}"),
            Caller::Owner => "the owner".to_owned(),
        }
    }
}

/// What `caller` may do on a route of `policy`.
fn cell(policy: &Policy, caller: &Caller<'_>) -> String {
    let authenticated = !matches!(caller, Caller::Anonymous);
    // `can`: the permission engine decides, per caller and resource; the matrix says so
    // rather than guess its policies.
    let engine = match policy.permission() {
        Some((action, _)) if policy.permission_on_list_items() => {
            format!("the items the engine lets them {action}")
        }
        Some((action, _)) => format!("if the engine lets them {action}"),
        None => String::new(),
    };
    if !policy.requires_auth() {
        return if engine.is_empty() {
            "yes".to_owned()
        } else {
            engine
        };
    }
    if !authenticated {
        return "no".to_owned();
    }
    let role = match caller {
        Caller::Role(role) => Some(*role),
        _ => None,
    };
    if !policy.roles().is_empty() && !role.is_some_and(|r| policy.roles().contains(&r)) {
        return "no".to_owned();
    }
    let mut answer = match policy.owner() {
        None if !engine.is_empty() => engine,
        None => "yes".to_owned(),
        Some(_) if role.is_some() && role == policy.owner_or_role() => "yes, anyone's".to_owned(),
        Some(_) if matches!(caller, Caller::Owner) => "yes".to_owned(),
        Some(owner) if owner.contains("[]") => "own items only".to_owned(),
        Some(_) => "no (not theirs)".to_owned(),
    };
    if policy.tenant().is_some() {
        answer.push_str(", own tenant");
    }
    if !policy.scopes().is_empty() {
        let _ = write!(answer, ", with scopes {}", policy.scopes().join(" "));
    }
    answer
}

impl Inventory {
    /// Who may call what: every route by kind of caller (anonymous, any signed-in
    /// principal, each role the policies name, the owner of the resource), for review
    /// beside the [lock](Self::lock). Routes are sorted by path, then method.
    ///
    /// ```
    /// use secure_endpoint::routing::get;
    /// use secure_endpoint::{SecureRouter, public, secure};
    ///
    /// #[public]
    /// async fn home() {}
    /// #[secure(auth, role = "admin")]
    /// async fn stats() {}
    ///
    /// let router: SecureRouter = SecureRouter::new()
    ///     .route("/", get(home))
    ///     .route("/admin/stats", get(stats));
    /// let matrix = router.inventory().matrix();
    /// assert_eq!(matrix.callers, ["anonymous", "signed in", "role admin", "the owner"]);
    /// assert_eq!(matrix.rows[1].1, ["no", "no", "yes", "no"]);
    /// assert!(matrix.to_markdown().contains("| GET /admin/stats | no | no | yes | no |"));
    /// ```
    pub fn matrix(&self) -> Matrix {
        let mut routes: Vec<_> = self.routes().iter().collect();
        routes.sort_by(|a, b| (&a.path, &a.method).cmp(&(&b.path, &b.method)));
        let roles: BTreeSet<&str> = routes
            .iter()
            .filter_map(|route| match route.policy {
                RoutePolicy::Declared(policy) => Some(policy),
                RoutePolicy::Unchecked { .. } => None,
            })
            .flat_map(|policy| policy.roles().iter().copied().chain(policy.owner_or_role()))
            .collect();
        let callers: Vec<Caller<'_>> = [Caller::Anonymous, Caller::SignedIn]
            .into_iter()
            .chain(roles.iter().map(|role| Caller::Role(role)))
            .chain([Caller::Owner])
            .collect();
        let rows = routes
            .iter()
            .map(|route| {
                let cells = match route.policy {
                    RoutePolicy::Declared(policy) => {
                        callers.iter().map(|caller| cell(policy, caller)).collect()
                    }
                    RoutePolicy::Unchecked { .. } => {
                        vec!["unchecked".to_owned(); callers.len()]
                    }
                };
                (format!("{} {}", route.method, route.path), cells)
            })
            .collect();
        Matrix {
            callers: callers.iter().map(Caller::title).collect(),
            rows,
        }
    }
}

impl Matrix {
    /// The matrix as a Markdown table.
    pub fn to_markdown(&self) -> String {
        let mut text = format!("| route | {} |\n", self.callers.join(" | "));
        let _ = writeln!(text, "|---{}|", "|---".repeat(self.callers.len()));
        for (route, cells) in &self.rows {
            let _ = writeln!(text, "| {route} | {} |", cells.join(" | "));
        }
        text
    }

    /// The matrix as one standalone HTML page titled `title`: inline styles, no script,
    /// nothing fetched from elsewhere.
    pub fn to_html(&self, title: &str) -> String {
        let cell_style = "border:1px solid #999;padding:4px 8px;text-align:left";
        let color = |cell: &str| match cell {
            "yes" => "background:#e6f4ea",
            "no" => "background:#fce8e6",
            _ => "background:#fef7e0",
        };
        let mut html = format!(
            "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{} — who may call what</title>\n</head>\n<body style=\"font-family:sans-serif;margin:2em\">\n<h1 style=\"font-size:1.4em\">{} — who may call what</h1>\n<table style=\"border-collapse:collapse\">\n<thead><tr><th style=\"{cell_style}\">route</th>",
            escape(title),
            escape(title)
        );
        for caller in &self.callers {
            let _ = write!(html, "<th style=\"{cell_style}\">{}</th>", escape(caller));
        }
        html.push_str("</tr></thead>\n<tbody>\n");
        for (route, cells) in &self.rows {
            let _ = write!(
                html,
                "<tr><th style=\"{cell_style};font-family:monospace\">{}</th>",
                escape(route)
            );
            for cell in cells {
                let _ = write!(
                    html,
                    "<td style=\"{cell_style};{}\">{}</td>",
                    color(cell),
                    escape(cell)
                );
            }
            html.push_str("</tr>\n");
        }
        html.push_str("</tbody>\n</table>\n</body>\n</html>\n");
        html
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn markup_in_a_name_is_escaped() {
        assert_eq!(escape("<script>\"&"), "&lt;script&gt;&quot;&amp;");
    }
}
