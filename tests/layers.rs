//! The library's layers (`src/lib.rs`, `DESIGN.md`): each module imports only from its own
//! layer or below, and no two modules import each other, directly or through others. Read
//! from the `crate::` paths of the code (comments and `#[cfg(test)]` modules left out).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Layer of every top-level module, bottom up.
const LAYERS: &[(&str, u8)] = &[
    // Model types.
    ("grid", 0),
    ("classes", 0),
    ("landscape", 0),
    ("raster", 0),
    ("surface", 0),
    // The binary's allocator (imports nothing).
    ("pages", 0),
    // Test helpers (compiled only for the unit tests; import nothing).
    ("testutil", 0),
    // Engines.
    ("costdist", 1),
    ("label", 1),
    ("edt", 1),
    ("polygonize", 1),
    ("linsolve", 1),
    // Stages.
    ("resistance", 2),
    ("sources", 2),
    ("corridors", 2),
    ("network", 2),
    ("carbon", 2),
    ("candidates", 2),
    ("optimize", 2),
    ("measure", 2),
    ("synth", 2),
    ("circuit", 2),
    ("access", 2),
    // Configuration: the scenario file and its translation into stage options.
    ("scenario", 3),
    ("settings", 3),
    ("plan", 3),
    // Reports and the file edge.
    ("report", 4),
    ("map", 4),
    ("io", 4),
    // The application (the pipeline as a library).
    ("app", 5),
];

/// The code of a file without comments and without its `#[cfg(test)]` module.
fn code(text: &str) -> String {
    let body = match text.find("#[cfg(test)]\nmod tests") {
        Some(k) => &text[..k],
        None => text,
    };
    body.lines()
        .map(|l| match l.find("//") {
            Some(k) => &l[..k],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Top-level modules named by `crate::x` and `use crate::{x, y::z}` in `code`.
fn imports(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = code;
    while let Some(k) = rest.find("crate::") {
        rest = &rest[k + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // `crate::{a, b::c, d::{e, f}}`: the first segment of each top-level entry.
            let mut depth = 0;
            let mut entry = String::new();
            for ch in group.chars() {
                match ch {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        out.insert(first_segment(&entry));
                        entry.clear();
                        continue;
                    }
                    _ => {}
                }
                if depth == 0 {
                    entry.push(ch);
                }
            }
            out.insert(first_segment(&entry));
        } else {
            out.insert(first_segment(rest));
        }
    }
    out.remove("");
    out
}

fn first_segment(s: &str) -> String {
    s.trim()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

/// Module -> modules it imports, for the library's source files.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut visit = vec![src.clone()];
    while let Some(dir) = visit.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let path = e.unwrap().path();
            if path.is_dir() {
                visit.push(path);
                continue;
            }
            if path.extension().is_none_or(|x| x != "rs") {
                continue;
            }
            let rel = path.strip_prefix(&src).unwrap();
            let top = rel
                .components()
                .next()
                .unwrap()
                .as_os_str()
                .to_string_lossy()
                .trim_end_matches(".rs")
                .to_string();
            // The binary (`main`, `cli/`) sits above the library; `lib` only declares.
            if top == "main" || top == "cli" || top == "lib" {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let deps = imports(&code(&text));
            let entry = g.entry(top.clone()).or_default();
            entry.extend(deps.into_iter().filter(|d| *d != top));
        }
    }
    g
}

#[test]
fn every_module_has_a_layer() {
    let layer: BTreeMap<&str, u8> = LAYERS.iter().copied().collect();
    let missing: Vec<String> = graph()
        .keys()
        .filter(|m| !layer.contains_key(m.as_str()))
        .cloned()
        .collect();
    assert!(
        missing.is_empty(),
        "give these modules a layer in tests/layers.rs (and lib.rs docs): {missing:?}"
    );
}

#[test]
fn modules_import_only_from_their_layer_or_below() {
    let layer: BTreeMap<&str, u8> = LAYERS.iter().copied().collect();
    let mut wrong = Vec::new();
    for (m, deps) in graph() {
        let Some(&lm) = layer.get(m.as_str()) else {
            continue;
        };
        for d in deps {
            match layer.get(d.as_str()) {
                Some(&ld) if ld <= lm => {}
                Some(&ld) => wrong.push(format!("{m} (layer {lm}) imports {d} (layer {ld})")),
                None => wrong.push(format!("{m} imports {d}, which has no layer")),
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn no_module_cycles() {
    let g = graph();
    // Depth-first search with colours: a grey node reached again closes a cycle.
    fn visit(
        m: &str,
        g: &BTreeMap<String, BTreeSet<String>>,
        colour: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
        cycles: &mut Vec<String>,
    ) {
        colour.insert(m.to_string(), 1);
        stack.push(m.to_string());
        for d in g.get(m).into_iter().flatten() {
            match colour.get(d.as_str()).copied().unwrap_or(0) {
                0 => visit(d, g, colour, stack, cycles),
                1 => {
                    let k = stack.iter().position(|x| x == d).unwrap();
                    cycles.push(format!("{} -> {d}", stack[k..].join(" -> ")));
                }
                _ => {}
            }
        }
        stack.pop();
        colour.insert(m.to_string(), 2);
    }
    let mut colour = BTreeMap::new();
    let mut cycles = Vec::new();
    for m in g.keys() {
        if colour.get(m.as_str()).copied().unwrap_or(0) == 0 {
            visit(m, &g, &mut colour, &mut Vec::new(), &mut cycles);
        }
    }
    assert!(cycles.is_empty(), "module cycles:\n{}", cycles.join("\n"));
}

#[test]
fn the_import_reader_sees_groups_paths_and_skips_comments() {
    let text = "use crate::{a, b::c, d::{e, f}};\nlet x = crate::g::h(1); // crate::z\n/// [`crate::y`]\n#[cfg(test)]\nmod tests { use crate::w; }";
    let found: Vec<String> = imports(&code(text)).into_iter().collect();
    assert_eq!(found, ["a", "b", "d", "g"]);
}
