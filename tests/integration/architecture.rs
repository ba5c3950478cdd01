//! The map stays true: the library's top-level modules depend on each other
//! without cycles (ARCHITECTURE.md's layering). Reads `src/` as text: every
//! `crate::` path outside comments and unit tests is an edge from the module
//! it is written in to the top-level module it names. The binary's parts
//! (`main.rs`, `cli`, `serve`) sit above the library and are not checked.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::root;

type Graph = BTreeMap<String, BTreeSet<String>>;

/// `source` without its unit tests (a `#[cfg(...test...)]` `mod tests { }`
/// and everything after it) and its `//` comments.
fn code_of(source: &str) -> String {
    let lines: Vec<&str> = source.lines().collect();
    let mut code = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        let next = lines.get(i + 1).map_or("", |l| l.trim_start());
        if trimmed.starts_with("#[cfg(")
            && trimmed.contains("test")
            && next.starts_with("mod tests")
        {
            break;
        }
        // A comment starts at `//` outside a string literal.
        let cut = line
            .match_indices("//")
            .map(|(at, _)| at)
            .find(|&at| line[..at].matches('"').count() % 2 == 0)
            .unwrap_or(line.len());
        code.push(&line[..cut]);
    }
    code.join("\n")
}

/// Top-level modules named by the paths in `source`, a file of module
/// `module` (its path from the crate root, `["calibrate", "abc"]`):
/// `crate::a`, and `super::a` where `super` climbs to the crate root.
fn named_modules(source: &str, module: &[String]) -> BTreeSet<String> {
    let code = code_of(source);
    let ident = |s: &str| -> String {
        s.trim_start()
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '_' || c.is_ascii_digit())
            .collect()
    };
    // Where a path starts at the crate root: after `crate::`, or after as
    // many `super::` as the module is deep.
    let mut roots: Vec<usize> = code
        .match_indices("crate::")
        .map(|(at, m)| at + m.len())
        .collect();
    let climb = "super::".repeat(module.len());
    if !module.is_empty() {
        roots.extend(
            code.match_indices(&climb)
                .filter(|(at, _)| !code[..*at].ends_with("super::"))
                .map(|(at, m)| at + m.len()),
        );
    }
    let mut found = BTreeSet::new();
    for start in roots {
        let rest = &code[start..];
        if let Some(group) = rest.strip_prefix('{') {
            // `crate::{a::X, b}`: split the group's top level at commas.
            let mut depth = 0;
            let mut item = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        found.insert(ident(&item));
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                item.push(c);
            }
            found.insert(ident(&item));
        } else {
            found.insert(ident(rest));
        }
    }
    found.remove("");
    found.remove("self");
    found
}

/// Every `.rs` file under `src`, with its path relative to `src`.
fn rust_files(src: &Path) -> Vec<(std::path::PathBuf, std::path::PathBuf)> {
    let mut files = Vec::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let relative = path.strip_prefix(src).unwrap().to_path_buf();
                files.push((path, relative));
            }
        }
    }
    files.sort();
    files
}

/// The library's module graph, read from `src/`.
fn library_graph(src: &Path) -> Graph {
    let mut graph = Graph::new();
    for (path, relative) in rust_files(src) {
        let top = relative
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_string();
        let is_test = relative.file_name().is_some_and(|n| n == "tests.rs")
            || relative.components().any(|c| c.as_os_str() == "tests");
        if matches!(top.as_str(), "main" | "lib" | "cli" | "serve") || is_test {
            continue;
        }
        let source = std::fs::read_to_string(&path).unwrap();
        // The file's module path: `a.rs` and `a/mod.rs` are `a`.
        let mut module: Vec<String> = relative
            .with_extension("")
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        if module.last().is_some_and(|m| m == "mod") {
            module.pop();
        }
        let entry = graph.entry(top.clone()).or_default();
        entry.extend(
            named_modules(&source, &module)
                .into_iter()
                .filter(|m| *m != top),
        );
    }
    graph
}

/// A cycle in `graph`, as the modules around it, or `None`.
fn find_cycle(graph: &Graph) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &Graph,
        done: &mut BTreeSet<String>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, done, path) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut done, &mut Vec::new()))
}

#[test]
fn the_reader_finds_grouped_paths_and_skips_comments_and_unit_tests() {
    let source = "use crate::{engine::Simulator, model::{Scenario, Target}};\r\n\
                  // crate::output is only mentioned\n\
                  fn f() { crate::stats::fold(); } // and crate::files here\n\
                  const URL: &str = \"https://example.org\"; use super::super::data::Years;\n\
                  use super::sibling::Thing;\n\
                  #[cfg(all(test, feature = \"arrow\"))]\nmod tests {\n    use crate::runner::Runner;\n}\n";
    let module = ["experiment".to_string(), "campaign".to_string()];
    let found: Vec<String> = named_modules(source, &module).into_iter().collect();
    assert_eq!(found, ["data", "engine", "model", "stats"]);
}

#[test]
fn the_cycle_finder_finds_a_cycle_and_passes_a_layering() {
    let graph = |edges: &[(&str, &str)]| {
        let mut g = Graph::new();
        for (a, b) in edges {
            g.entry(a.to_string()).or_default().insert(b.to_string());
        }
        g
    };
    let cyclic = graph(&[("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")]);
    let cycle = find_cycle(&cyclic).unwrap();
    assert_eq!(cycle.first(), cycle.last());
    assert_eq!(cycle.len(), 4, "{cycle:?}");
    assert_eq!(
        find_cycle(&graph(&[("a", "b"), ("b", "c"), ("a", "c")])),
        None
    );
}

#[test]
fn the_library_s_modules_depend_on_each_other_without_cycles() {
    let graph = library_graph(&root().join("src"));
    // The reader saw the library: the engine and the writers are there.
    for module in ["engine", "output", "experiment", "calibrate", "evaluate"] {
        assert!(graph.contains_key(module), "{module} not read: {graph:?}");
    }
    assert!(graph["experiment"].contains("output"), "{graph:?}");
    if let Some(cycle) = find_cycle(&graph) {
        panic!(
            "the library's modules depend on each other in a cycle: {} \
             (ARCHITECTURE.md keeps them layered; move the shared piece down)",
            cycle.join(" -> ")
        );
    }
}

/// Public type names, with the files that define them.
fn public_types(src: &Path) -> BTreeMap<String, Vec<String>> {
    let mut types: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (path, relative) in rust_files(src) {
        let source = std::fs::read_to_string(&path).unwrap();
        for line in source.lines() {
            let words: Vec<&str> = line.split_whitespace().collect();
            if let ["pub", "struct" | "enum" | "type" | "trait", name, ..] = words.as_slice() {
                let name: String = name
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                types
                    .entry(name)
                    .or_default()
                    .push(relative.display().to_string());
            }
        }
    }
    types
}

#[test]
fn one_name_for_one_thing_among_the_public_types() {
    let types = public_types(&root().join("src"));
    assert!(types.contains_key("Scenario") && types.contains_key("Summary"));
    // The engine's one exception: `engine::Simulator` runs a scenario with
    // the simulator of its model version (`engine::v1`, `engine::v2`).
    let twice: Vec<String> = types
        .iter()
        .filter(|(name, files)| {
            let engine_simulators =
                name.as_str() == "Simulator" && files.iter().all(|f| f.starts_with("engine"));
            files.len() > 1 && !name.is_empty() && !engine_simulators
        })
        .map(|(name, files)| format!("{name} in {}", files.join(", ")))
        .collect();
    assert!(
        twice.is_empty(),
        "public types defined twice under one name (give each its own): {}",
        twice.join("; ")
    );
}
