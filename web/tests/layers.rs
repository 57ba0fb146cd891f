//! Holds the web tier's shape (ARCHITECTURE.md, "Inside the web tier") against its imports,
//! read from the source: no two files of `web` or `ingest-worker` import each other, in a
//! circle of any length; no top-level module of `web` imports one that imports it back; and
//! nothing below the features (sessions, security, state, errors, view models, drawing)
//! imports a feature.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The features of `web`, each a folder that owns its routes.
const FEATURES: &[&str] = &[
    "accounts",
    "admin",
    "dashboards",
    "ops",
    "settings",
    "shares",
    "uploads",
];

/// What stands below every feature.
const BASE: &[&str] = &["error", "model", "security", "session", "state", "ui"];

/// Every `.rs` file under `dir`, by its module path (`dashboards::overview`, `lib` for the root).
fn modules(dir: &Path) -> BTreeMap<String, PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("a source folder") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(dir, &mut files);
    files
        .into_iter()
        .map(|path| {
            let rel = path
                .strip_prefix(dir)
                .expect("under src")
                .with_extension("");
            let mut parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().to_string())
                .collect();
            if parts.last().is_some_and(|p| p == "mod") {
                parts.pop();
            }
            let name = if parts.is_empty() || parts == ["lib"] {
                "lib".to_string()
            } else {
                parts.join("::")
            };
            (name, path)
        })
        .collect()
}

/// The code of a file without comments and string literals (so that a doc comment naming a
/// module is no import) and without its `#[cfg(test)]` module.
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).expect("a source file");
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => &text[..at],
        None => &text[..],
    };
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let line = match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        };
        let mut in_str = false;
        let mut escaped = false;
        for c in line.chars() {
            if in_str {
                match (escaped, c) {
                    (true, _) => escaped = false,
                    (false, '\\') => escaped = true,
                    (false, '"') => in_str = false,
                    _ => {}
                }
                continue;
            }
            if c == '"' {
                in_str = true;
            }
            out.push(c);
        }
        out.push('\n');
    }
    out
}

/// The paths a file names after `crate::`, `super::` or in a `use crate::{…}` group, as module
/// paths relative to the crate (`dashboards::context::Ctx`).
fn named_paths(module: &str, code: &str) -> Vec<String> {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut out = Vec::new();
    let parent: Vec<&str> = if module == "lib" {
        Vec::new()
    } else {
        let mut p: Vec<&str> = module.split("::").collect();
        p.pop();
        p
    };
    for (prefix, base) in [("crate::", Vec::new()), ("super::", parent)] {
        for (at, _) in code.match_indices(prefix) {
            if code[..at].ends_with(is_ident) || code[..at].ends_with("::") {
                continue;
            }
            let rest = &code[at + prefix.len()..];
            let mut heads = Vec::new();
            if let Some(group) = rest.strip_prefix('{') {
                let end = group.find('}').unwrap_or(group.len());
                heads.extend(group[..end].split(',').map(str::trim).map(String::from));
            } else {
                let end = rest
                    .find(|c: char| !(is_ident(c) || c == ':'))
                    .unwrap_or(rest.len());
                heads.push(rest[..end].to_string());
            }
            for head in heads {
                let mut path = base.clone();
                path.extend(head.split("::").filter(|s| !s.is_empty() && *s != "self"));
                out.push(path.join("::"));
            }
        }
    }
    out
}

/// Which files each file imports: the longest module path that each named path starts with.
fn imports(dir: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let modules = modules(dir);
    let mut graph = BTreeMap::new();
    for (module, path) in &modules {
        let mut to = BTreeSet::new();
        for named in named_paths(module, &code(path)) {
            let parts: Vec<&str> = named.split("::").collect();
            let target = (1..=parts.len())
                .rev()
                .map(|n| parts[..n].join("::"))
                .find(|m| modules.contains_key(m));
            // A parent module only declares its children: naming one is no import of it.
            if let Some(target) = target
                && target != *module
                && !module.starts_with(&format!("{target}::"))
            {
                to.insert(target);
            }
        }
        graph.insert(module.clone(), to);
    }
    graph
}

/// The circles of a graph: its strongly connected parts of more than one node (Tarjan).
fn circles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct Walk<'a> {
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        found: Vec<Vec<String>>,
    }
    impl<'a> Walk<'a> {
        fn visit(&mut self, v: &'a str) {
            let i = self.index.len();
            self.index.insert(v, i);
            self.low.insert(v, i);
            self.stack.push(v);
            self.on_stack.insert(v);
            for w in self.graph.get(v).into_iter().flatten() {
                let w = w.as_str();
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let lw = self.low[w];
                    let lv = self.low.get_mut(v).expect("visited");
                    *lv = (*lv).min(lw);
                } else if self.on_stack.contains(w) {
                    let iw = self.index[w];
                    let lv = self.low.get_mut(v).expect("visited");
                    *lv = (*lv).min(iw);
                }
            }
            if self.low[v] == self.index[v] {
                let mut part = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack.remove(w);
                    part.push(w.to_string());
                    if w == v {
                        break;
                    }
                }
                if part.len() > 1 {
                    part.sort();
                    self.found.push(part);
                }
            }
        }
    }
    let mut walk = Walk {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in graph.keys() {
        if !walk.index.contains_key(v.as_str()) {
            walk.visit(v);
        }
    }
    walk.found
}

fn crate_src(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(name)
        .join("src")
}

/// The graph of top-level modules (a folder is one node), the crate root left out.
fn top_level(graph: &BTreeMap<String, BTreeSet<String>>) -> BTreeMap<String, BTreeSet<String>> {
    let top = |m: &str| m.split("::").next().unwrap_or(m).to_string();
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (from, to) in graph.iter().filter(|(m, _)| *m != "lib") {
        let entry = out.entry(top(from)).or_default();
        entry.extend(
            to.iter()
                .map(|t| top(t))
                .filter(|t| *t != top(from) && t != "lib"),
        );
    }
    out
}

#[test]
fn the_import_reader_sees_what_is_surely_there() {
    let graph = imports(&crate_src("web"));
    for (from, to) in [
        ("openapi", "accounts::api"),
        ("router", "openapi"),
        ("dashboards::overview", "dashboards::context"),
        ("accounts::local", "accounts::backend"),
        ("session", "state"),
        ("error", "ui"),
    ] {
        assert!(
            graph.get(from).is_some_and(|t| t.contains(to)),
            "{from} should import {to}; read: {:?}",
            graph.get(from)
        );
    }
    // And a made-up circle is found.
    let mut made = graph.clone();
    made.entry("ui".into()).or_default().insert("error".into());
    assert!(!circles(&made).is_empty());
}

#[test]
fn no_two_files_of_web_or_the_worker_import_each_other() {
    for name in ["web", "ingest-worker"] {
        let graph = imports(&crate_src(name));
        assert!(graph.len() > 5, "{name}: only {} files read", graph.len());
        assert_eq!(
            circles(&graph),
            Vec::<Vec<String>>::new(),
            "{name}: files in a circle"
        );
    }
}

#[test]
fn the_web_tiers_folders_stand_on_each_other_without_circles_and_the_base_knows_no_feature() {
    let graph = top_level(&imports(&crate_src("web")));
    assert_eq!(
        circles(&graph),
        Vec::<Vec<String>>::new(),
        "top-level modules in a circle"
    );
    for base in BASE {
        let uses = graph
            .get(*base)
            .unwrap_or_else(|| panic!("no module {base}"));
        let features: Vec<&String> = uses
            .iter()
            .filter(|m| FEATURES.contains(&m.as_str()))
            .collect();
        assert!(
            features.is_empty(),
            "{base} imports the features {features:?}"
        );
    }
    for feature in FEATURES {
        assert!(graph.contains_key(*feature), "no feature {feature}");
    }
}
