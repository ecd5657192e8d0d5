//! The runtime's modules form one-way layers: no module imports, directly or through others,
//! one that imports it. Read from the source: every `crate::` path (and `super::` at the top of
//! a module) names the module it reaches, a re-export at the crate root counting as the module
//! it comes from. A cycle fails with its path; the leaves must stay leaves.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The crate's source directory.
fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `dir`.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).expect("the source directory reads") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            found.extend(files(&path));
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            found.push(path);
        }
    }
    found
}

/// The code of a file without its comments (doc comments name paths in links).
fn code(path: &Path) -> String {
    let text = fs::read_to_string(path).expect("a source file reads");
    text.lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The first segment of each path `text` names after `prefix` (`crate::`): `error` in
/// `crate::error::Error`, `a` and `b` in `crate::{a::X, b}`.
fn reached(text: &str, prefix: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(prefix) {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + prefix.len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            names.extend(group_heads(group));
        } else {
            names.push(ident(rest));
        }
    }
    names.retain(|name| !name.is_empty());
    names
}

/// The identifier `text` starts with.
fn ident(text: &str) -> String {
    text.chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

/// The first segment of each item of a `use` group, `text` starting right after its `{`.
fn group_heads(text: &str) -> Vec<String> {
    let mut heads = Vec::new();
    let mut depth = 0;
    let mut at_item = true;
    for (index, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => at_item = true,
            c if at_item && (c.is_alphanumeric() || c == '_') => {
                heads.push(ident(&text[index..]));
                at_item = false;
            }
            _ => {}
        }
    }
    heads
}

/// The top-level modules of the crate, and the module each name re-exported at the root comes
/// from.
fn root(lib: &str) -> (BTreeSet<String>, BTreeMap<String, String>) {
    let mut modules = BTreeSet::new();
    let mut exports = BTreeMap::new();
    for statement in lib.split(';') {
        let statement = statement.trim();
        let words: Vec<&str> = statement.split_whitespace().collect();
        if let Some(at) = words.iter().position(|word| *word == "mod") {
            if let Some(name) = words.get(at + 1) {
                modules.insert(ident(name));
            }
        }
        if let Some(path) = statement.split("pub use ").nth(1) {
            let module = ident(path);
            let Some(items) = path.split_once('{').map(|(_, items)| items) else {
                let name = path.rsplit("::").next().map(ident).unwrap_or_default();
                exports.insert(name, module);
                continue;
            };
            for item in items.split(',') {
                let name = item.trim().trim_end_matches('}');
                let name = name.rsplit("::").next().map(ident).unwrap_or_default();
                exports.insert(name, module.clone());
            }
        }
    }
    (modules, exports)
}

/// Which modules each module reaches.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = src();
    let lib = code(&src.join("lib.rs"));
    let (modules, exports) = root(&lib);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for path in files(&src) {
        let relative = path.strip_prefix(&src).expect("under src");
        let parts: Vec<String> = relative
            .iter()
            .map(|part| part.to_string_lossy().trim_end_matches(".rs").to_owned())
            .collect();
        let Some(module) = parts.first().filter(|first| modules.contains(*first)) else {
            continue;
        };
        let text = code(&path);
        let mut names = reached(&text, "crate::");
        // At the top of a module, `super` is the crate root.
        let top = parts.len() == 1 || (parts.len() == 2 && parts[1] == "mod");
        if top {
            names.extend(reached(&text, "super::"));
        }
        let edges = graph.entry(module.clone()).or_default();
        for name in names {
            let target = if modules.contains(&name) {
                Some(name)
            } else {
                exports.get(&name).filter(|m| modules.contains(*m)).cloned()
            };
            if let Some(target) = target.filter(|target| target != module) {
                edges.insert(target);
            }
        }
    }
    graph
}

/// A cycle through `graph`, as the path that closes it, if there is one.
fn cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|on| on == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

#[test]
fn the_modules_import_one_way() {
    let graph = graph();
    assert!(graph.len() > 10, "the modules were found: {graph:?}");
    if let Some(cycle) = cycle(&graph) {
        panic!("the modules import in a cycle: {}", cycle.join(" -> "));
    }
}

#[test]
fn the_leaves_import_nothing_but_leaves() {
    let graph = graph();
    let imports = |module: &str| graph.get(module).cloned().unwrap_or_default();
    assert_eq!(imports("id"), BTreeSet::new());
    assert_eq!(imports("future"), BTreeSet::new());
    assert_eq!(imports("tokens"), BTreeSet::new());
    let error = BTreeSet::from(["id".to_owned(), "tokens".to_owned()]);
    assert_eq!(imports("error"), error);
    // Generated code calls `__private`; nothing in the runtime does.
    for (module, targets) in &graph {
        assert!(
            !targets.contains("__private"),
            "{module} imports `__private`"
        );
    }
}

#[test]
fn a_cycle_is_found_and_shown() {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let edge = |graph: &mut BTreeMap<String, BTreeSet<String>>, from: &str, to: &str| {
        graph.entry(from.into()).or_default().insert(to.into());
    };
    edge(&mut graph, "run", "workflow");
    edge(&mut graph, "workflow", "context");
    assert_eq!(cycle(&graph), None);
    edge(&mut graph, "context", "run");
    assert_eq!(
        cycle(&graph).map(|cycle| cycle.join(" -> ")).as_deref(),
        Some("context -> run -> workflow -> context")
    );
}

#[test]
fn paths_are_read_from_uses_and_groups() {
    let text = "use crate::error::Error;\nuse crate::{scope::Scope, Workflow, state::{Branch, Loops}};\nlet x = crate::id::RunId::new(); my_crate::nope";
    assert_eq!(
        reached(text, "crate::"),
        ["error", "scope", "Workflow", "state", "id"]
    );
}
