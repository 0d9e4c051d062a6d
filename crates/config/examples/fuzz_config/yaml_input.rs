//! The `yaml` target's generator: `gravitee.yml` documents built from the model's keys, with
//! anchors, aliases, merge keys, tags, flow and block styles, dotted keys, deep nesting, odd
//! scalars, tabs and duplicate keys.

use crate::harness::Rng;
use crate::{WORDS, catalogue_key, value};

/// A YAML tree, rendered to text by [`render`].
enum Node {
    Scalar(String),
    Map(Vec<(String, Node)>),
    Seq(Vec<Node>),
}

pub(crate) const YAML_SCALARS: &[&str] = &[
    "~",
    "null",
    "",
    "yes",
    "No",
    "on",
    "0x1F",
    "0o17",
    "1_000",
    ".inf",
    "-.Inf",
    ".NaN",
    "1e3",
    "'0123'",
    "\"\\u00e9\\t\\U0001F600\"",
    "\"a;;b\"",
    "'it''s'",
    "!!str 123",
    "!!int \"8\"",
    "!!binary aGVsbG8=",
    "!custom x",
    "!!float 1",
    "!!bool maybe",
    "*undefined",
    "&dangling",
    "@reserved",
    "`reserved",
    "- not a list",
    "a: b",
    "\"unterminated",
    "[unclosed",
    "{a: }",
    "|",
    ">-",
];

fn yaml_scalar(rng: &mut Rng) -> String {
    match rng.below(3) {
        0 => rng.pick(YAML_SCALARS).to_string(),
        _ => {
            let v = value(rng);
            if v.contains(['\0', '\n', ':', '#', '"', '\'', '{', '[', '\u{FEFF}']) || v.is_empty() {
                format!("{v:?}") // Rust's escapes are close to YAML's double-quoted style
            } else {
                v
            }
        }
    }
}

/// A tree holding a few catalogue keys, some of them dotted.
fn yaml_tree(rng: &mut Rng) -> Node {
    let mut root = Node::Map(Vec::new());
    for _ in 0..1 + rng.small(10) {
        let mut segments = catalogue_key(rng);
        segments.truncate(200);
        if segments.is_empty() {
            continue;
        }
        let leaf = match rng.below(10) {
            0 => Node::Seq(
                (0..rng.small(5))
                    .map(|_| Node::Scalar(yaml_scalar(rng)))
                    .collect(),
            ),
            1 => Node::Map(vec![(
                rng.pick(WORDS).to_string(),
                Node::Scalar(yaml_scalar(rng)),
            )]),
            _ => Node::Scalar(yaml_scalar(rng)),
        };
        insert(rng, &mut root, &segments, leaf);
    }
    root
}

fn insert(rng: &mut Rng, node: &mut Node, segments: &[String], leaf: Node) {
    let Node::Map(entries) = node else {
        return;
    };
    let Some((first, rest)) = segments.split_first() else {
        return;
    };
    if rest.is_empty() {
        entries.push((first.clone(), leaf));
        return;
    }
    // A dotted key for the rest (`a.b.c: x`), as Spring allows.
    if rng.one_in(6) {
        entries.push((segments.join("."), leaf));
        return;
    }
    let is_index = rest[0].bytes().all(|b| b.is_ascii_digit()) && !rest[0].is_empty();
    if is_index && rest.len() > 1 && rng.one_in(2) {
        // A real sequence of one mapping.
        let mut element = Node::Map(Vec::new());
        insert(rng, &mut element, &rest[1..], leaf);
        entries.push((first.clone(), Node::Seq(vec![element])));
        return;
    }
    let position = entries.iter().position(|(k, _)| k == first);
    match position {
        Some(i) if !rng.one_in(8) => insert(rng, &mut entries[i].1, rest, leaf),
        _ => {
            // A new mapping (or, one time in eight, a duplicate key).
            let mut child = Node::Map(Vec::new());
            insert(rng, &mut child, rest, leaf);
            entries.push((first.clone(), child));
        }
    }
}

/// Renders `node` in block style (flow style for some subtrees), with anchors, aliases, merge
/// keys and tags here and there.
fn render(rng: &mut Rng, node: &Node, indent: usize, out: &mut String, anchors: &mut Vec<String>) {
    let pad = if rng.one_in(200) {
        "\t".to_owned()
    } else {
        " ".repeat(indent)
    };
    match node {
        Node::Scalar(text) => {
            out.push(' ');
            out.push_str(text);
            out.push('\n');
        }
        Node::Map(entries) if entries.is_empty() => out.push_str(" {}\n"),
        Node::Seq(items) if items.is_empty() => out.push_str(" []\n"),
        _ if rng.one_in(6) => {
            out.push(' ');
            flow(node, out);
            out.push('\n');
        }
        Node::Map(entries) => {
            if indent > 0 && rng.one_in(5) {
                let name = format!("a{}", anchors.len());
                out.push_str(&format!(" &{name}"));
                anchors.push(name);
            }
            out.push('\n');
            if !anchors.is_empty() && rng.one_in(6) {
                out.push_str(&format!("{pad}<<: *{}\n", rng.pick(anchors)));
            }
            for (key, child) in entries {
                let key = if key.is_empty() || key.contains([':', '#', '[', '{']) {
                    format!("{key:?}")
                } else {
                    key.clone()
                };
                out.push_str(&format!("{pad}{key}:"));
                if !anchors.is_empty() && rng.one_in(12) {
                    out.push_str(&format!(" *{}\n", rng.pick(anchors)));
                    continue;
                }
                render(rng, child, indent + 2, out, anchors);
            }
        }
        Node::Seq(items) => {
            out.push('\n');
            for item in items {
                out.push_str(&format!("{pad}-"));
                match item {
                    Node::Map(entries) if !entries.is_empty() => {
                        // `- key: value` with the mapping's other keys aligned under it.
                        let mut text = String::new();
                        render(rng, item, indent + 2, &mut text, anchors);
                        out.push_str(&format!(" {}", text.trim_start()));
                    }
                    _ => render(rng, item, indent + 2, out, anchors),
                }
            }
        }
    }
}

fn flow(node: &Node, out: &mut String) {
    match node {
        Node::Scalar(text) => out.push_str(if text.starts_with(['|', '>']) {
            "x"
        } else {
            text
        }),
        Node::Map(entries) => {
            out.push('{');
            for (i, (key, child)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&format!("{key:?}: "));
                flow(child, out);
            }
            out.push('}');
        }
        Node::Seq(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                flow(item, out);
            }
            out.push(']');
        }
    }
}

pub(crate) fn yaml_input(rng: &mut Rng) -> Vec<u8> {
    let mut out = String::new();
    match rng.below(20) {
        0 => out.push_str("%YAML 1.2\n---\n"),
        1 => out.push('\u{FEFF}'),
        _ => {}
    }
    let tree = yaml_tree(rng);
    let mut anchors = Vec::new();
    render(rng, &tree, 0, &mut out, &mut anchors);
    let out = out.trim_start_matches([' ', '\n']).to_owned();
    let mut out = out;
    match rng.below(24) {
        0 | 1 => {
            // Deep nesting, block or flow.
            let depth = 1 + rng.small(3000);
            if rng.one_in(2) {
                out.push_str(&"[".repeat(depth));
                out.push_str(&"]".repeat(depth));
            } else {
                for level in 0..depth.min(400) {
                    out.push_str(&format!("{}k{level}:\n", " ".repeat(level)));
                }
            }
        }
        2 => {
            // An alias fan-out ("billion laughs"): each level repeats the one before ten times.
            out.push_str("l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n");
            for level in 1..=1 + rng.small(9) {
                let prev = level - 1;
                out.push_str(&format!(
                    "l{level}: &l{level} [{}]\n",
                    vec![format!("*l{prev}"); 10].join(", ")
                ));
            }
        }
        3 => out.push_str("---\nsecond: document\n"),
        4 => out.push_str("# comment\n...\n"),
        _ => {}
    }
    out.into_bytes()
}
