//! The crate's structure, held to its plan: every file of `src/` sits in one layer, and
//! imports only from its own layer or the layers below; no file imports one that imports
//! it back, directly or through others; the two shared backends (`rate/` and
//! `revocation/`) never import each other.
//!
//! An import is a path into the crate (`crate::…`, `super::…`) in code: a module's face
//! (its `pub use` re-exports), its `mod` declarations, comments and test modules are not
//! imports. A new file must be given its layer below, or this test fails naming it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, lowest first: a file (or every file of a folder) and what it is.
const LAYERS: &[&[&str]] = &[
    // 0 leaves: import nothing of the crate but each other.
    &[
        "setup_error.rs",
        "request_id.rs",
        "clock.rs",
        "body_timeout.rs",
        "remote_url.rs",
        "client_addr.rs",
        "cookie.rs",
        "device.rs",
        "error.rs",
        "redis_connection.rs",
        "write_deadline.rs",
    ],
    // 1 backends: no HTTP responses, no settings lookups, no pipeline.
    &[
        "input/",
        "rate/",
        "auth/",
        "revocation/",
        "standing.rs",
        "principal.rs",
        "names.rs",
        "permission/",
        "metrics.rs",
        "policy.rs",
        "resource.rs",
        "parameter.rs",
        "cors.rs",
        "guard/",
    ],
    // 2 refusals and what is logged.
    &["rejection/", "audit.rs"],
    // 3 the route table, built once.
    &[
        "handler.rs",
        "schema.rs",
        "routing.rs",
        "security.rs",
        "description.rs",
        "inventory.rs",
        "lock/",
        "matrix.rs",
        "context.rs",
    ],
    // 4 the request.
    &["extractors.rs", "pipeline/", "revoker.rs", "sanitize.rs"],
    // 5 the doors.
    &[
        "router.rs",
        "serve.rs",
        "openapi.rs",
        "testing/",
        "bench.rs",
    ],
    // 6 the table of contents.
    &["lib.rs", "private.rs"],
];

/// Folders that must not import each other, in either direction.
const APART: &[(&str, &str)] = &[("rate/", "revocation/")];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every source file under `src/`, relative, test-only files (under a `tests/` folder)
/// left out.
fn files(dir: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).expect("src is readable") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            if path.file_name().is_some_and(|name| name != "tests") {
                files(&path, out);
            }
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            let relative = path.strip_prefix(src()).expect("under src");
            out.push(relative.to_string_lossy().replace('\\', "/"));
        }
    }
}

/// The layer a file is listed in.
fn layer(file: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| {
        layer
            .iter()
            .any(|entry| file == *entry || (entry.ends_with('/') && file.starts_with(entry)))
    })
}

/// The module path of a file: `rate/mod.rs` is `rate`, `rate/limit.rs` is `rate::limit`.
fn module_of(file: &str) -> Vec<String> {
    let trimmed = file.trim_end_matches(".rs");
    let mut parts: Vec<String> = trimmed.split('/').map(str::to_owned).collect();
    if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
        parts.pop();
    }
    parts
}

/// The file that holds module `path`, if one does.
fn file_of(path: &[String]) -> Option<String> {
    if path.is_empty() {
        return Some("lib.rs".to_owned());
    }
    let joined = path.join("/");
    [format!("{joined}.rs"), format!("{joined}/mod.rs")]
        .into_iter()
        .find(|candidate| src().join(candidate).is_file())
}

/// The deepest module file along `path`.
fn resolve(path: &[String]) -> Option<String> {
    (0..=path.len())
        .rev()
        .find_map(|len| file_of(&path[..len]).filter(|_| len > 0 || path.is_empty()))
}

/// The code of a file: comments, test-only items and re-exports left out.
fn code(text: &str) -> String {
    let mut kept = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("#[cfg(test)]") || trimmed.starts_with("#[cfg(all(test") {
            // Skip the item it marks: one line to `;`, or a braced block.
            let mut depth = 0i32;
            let mut opened = false;
            for next in lines.by_ref() {
                depth += next.matches('{').count() as i32 - next.matches('}').count() as i32;
                opened |= next.contains('{');
                if (opened && depth <= 0) || (!opened && next.trim_end().ends_with(';')) {
                    break;
                }
                if next.trim_start().starts_with("#[") && !opened {
                    continue;
                }
            }
            continue;
        }
        if trimmed.starts_with("//") {
            continue;
        }
        if trimmed.starts_with("pub use")
            || trimmed.starts_with("pub(crate) use")
            || trimmed.starts_with("pub(super) use")
        {
            // A re-export may span lines: skip to its end.
            let mut statement = trimmed.to_owned();
            while !statement.trim_end().ends_with(';') {
                match lines.next() {
                    Some(next) => statement.push_str(next),
                    None => break,
                }
            }
            continue;
        }
        kept.push_str(line);
        kept.push('\n');
    }
    kept
}

/// The files `file` imports.
fn imports(file: &str) -> BTreeSet<String> {
    let text = std::fs::read_to_string(src().join(file)).expect("a readable file");
    let code = code(&text);
    let own = module_of(file);
    let mut found = BTreeSet::new();
    let bytes = code.as_bytes();
    for (start, _) in code
        .match_indices("crate::")
        .chain(code.match_indices("super::"))
    {
        if start > 0 && (bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_') {
            continue;
        }
        let rest = &code[start..];
        let mut segments: Vec<&str> = rest
            .split("::")
            .map(|s| {
                let end = s
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(s.len());
                &s[..end]
            })
            .take_while(|s| !s.is_empty())
            .collect();
        let mut base: Vec<String> = Vec::new();
        match segments.first().copied() {
            Some("crate") => {
                segments.remove(0);
            }
            Some("super") => {
                base = own.clone();
                // `super` of `x.rs` is its folder's module; of `x/mod.rs`, the parent.
                while segments.first() == Some(&"super") {
                    segments.remove(0);
                    base.pop();
                }
            }
            _ => continue,
        }
        // Lower-case segments are modules; the first capitalised one is an item.
        let modules = segments
            .iter()
            .take_while(|s| s.chars().next().is_some_and(|c| c.is_ascii_lowercase()));
        let mut path = base;
        path.extend(modules.map(|s| (*s).to_owned()));
        if let Some(target) = resolve(&path)
            && target != file
        {
            found.insert(target);
        }
    }
    found
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let mut all = Vec::new();
    files(&src(), &mut all);
    all.into_iter()
        .map(|file| {
            let imported = imports(&file);
            (file, imported)
        })
        .collect()
}

#[test]
fn every_file_has_a_layer() {
    let unplaced: Vec<String> = graph().into_keys().filter(|f| layer(f).is_none()).collect();
    assert!(unplaced.is_empty(), "files without a layer: {unplaced:?}");
}

#[test]
fn no_file_imports_from_a_higher_layer() {
    let mut upward = Vec::new();
    for (file, imported) in graph() {
        let Some(own) = layer(&file) else { continue };
        for target in imported {
            if let Some(theirs) = layer(&target)
                && theirs > own
            {
                upward.push(format!(
                    "{file} (layer {own}) imports {target} (layer {theirs})"
                ));
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports that run up:\n{}",
        upward.join("\n")
    );
}

#[test]
fn no_file_imports_one_that_imports_it_back() {
    let graph = graph();
    // Depth-first, colouring files: a file met again while still on the path closes a
    // circle.
    fn visit(
        file: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
        circles: &mut Vec<String>,
    ) {
        if let Some(at) = path.iter().position(|f| f == file) {
            let mut circle = path[at..].to_vec();
            circle.push(file.to_owned());
            circles.push(circle.join(" -> "));
            return;
        }
        if !done.insert(file.to_owned()) {
            return;
        }
        path.push(file.to_owned());
        for next in graph.get(file).into_iter().flatten() {
            visit(next, graph, path, done, circles);
        }
        path.pop();
    }
    let mut circles = Vec::new();
    let mut done = BTreeSet::new();
    for file in graph.keys() {
        visit(file, &graph, &mut Vec::new(), &mut done, &mut circles);
    }
    assert!(
        circles.is_empty(),
        "import circles:\n{}",
        circles.join("\n")
    );
}

#[test]
fn the_shared_backends_never_import_each_other() {
    let mut crossing = Vec::new();
    for (file, imported) in graph() {
        for (a, b) in APART {
            for (from, to) in [(a, b), (b, a)] {
                if file.starts_with(from) {
                    crossing.extend(
                        imported
                            .iter()
                            .filter(|target| target.starts_with(to))
                            .map(|target| format!("{file} imports {target}")),
                    );
                }
            }
        }
    }
    assert!(crossing.is_empty(), "{}", crossing.join("\n"));
}

#[test]
fn the_reader_sees_imports_where_they_are() {
    // The reader itself, held to files whose imports are known: were it blind, the
    // tests above would pass for nothing.
    let pipeline = imports("pipeline/mod.rs");
    assert!(pipeline.contains("audit.rs"), "{pipeline:?}");
    assert!(pipeline.contains("auth/mod.rs"), "{pipeline:?}");
    let limit = imports("rate/limiter.rs");
    assert!(limit.contains("rate/memory.rs"), "{limit:?}");
    assert!(limit.contains("redis_connection.rs"), "{limit:?}");
    assert!(!imports("clock.rs").iter().any(|f| f != "clock.rs"));
    let jwt = imports("auth/jwt.rs");
    assert!(
        jwt.contains("auth/mod.rs") && jwt.contains("auth/jws.rs"),
        "{jwt:?}"
    );
}
