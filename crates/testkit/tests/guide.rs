//! The provider guide (`docs/writing-a-provider.md`) shows only code that compiles.
//!
//! Each Rust or `Cargo.toml` snippet of the guide is one of:
//!
//! - an excerpt of a compiled file, marked `<!-- compiled: PATH -->` on the line before the
//!   block: its lines appear in that file in that order, as a whole, re-indented as one
//!   block; a `// ...` (or `# ...`) line stands for lines left out. The files are those of
//!   `examples/out-of-tree`, which CI builds and tests (`.ci/run`);
//! - a trait's signatures, marked `<!-- signatures: PATH -->`: every `fn` line is a method of
//!   the trait in that file, and every method of the trait is shown.
//!
//! Not part of the published crate (`exclude` in Cargo.toml): it reads the repository around it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use federation_testkit::contract::Rule;

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(relative: &str) -> String {
    let path = repository().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A fenced code block of the guide.
#[derive(Debug)]
struct Block {
    /// The line of its opening fence, 1-based.
    line: usize,
    /// The info string (`rust,ignore`, `toml`, …).
    info: String,
    /// The line before the fence (where a marker goes).
    before: String,
    body: Vec<String>,
}

fn blocks(markdown: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut lines = markdown.lines().enumerate();
    let mut previous = "";
    while let Some((index, line)) = lines.next() {
        if let Some(info) = line.strip_prefix("```") {
            let mut body = Vec::new();
            for (_, inner) in lines.by_ref() {
                if inner.starts_with("```") {
                    break;
                }
                body.push(inner.trim_end().to_owned());
            }
            blocks.push(Block {
                line: index + 1,
                info: info.trim().to_owned(),
                before: previous.trim().to_owned(),
                body,
            });
            previous = "";
        } else {
            previous = line;
        }
    }
    blocks
}

fn marker<'a>(block: &'a Block, kind: &str) -> Option<&'a str> {
    block
        .before
        .strip_prefix("<!--")?
        .strip_suffix("-->")?
        .trim()
        .strip_prefix(kind)?
        .strip_prefix(':')
        .map(str::trim)
}

fn indentation(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

fn is_elision(line: &str) -> bool {
    matches!(line.trim(), "// ..." | "# ...")
}

/// Whether `snippet` matches `file` from its first line on, every line shifted by `indent`.
fn matches_at(snippet: &[String], file: &[&str], indent: usize) -> bool {
    match snippet.split_first() {
        None => true,
        Some((first, rest)) if is_elision(first) => {
            (0..=file.len()).any(|skip| matches_at(rest, &file[skip..], indent))
        }
        Some((first, rest)) => match file.split_first() {
            Some((line, more)) => {
                let line = line.trim_end();
                let same = if first.is_empty() {
                    line.is_empty()
                } else {
                    line.len() >= indent
                        && line[..indent].trim().is_empty()
                        && line[indent..] == **first
                };
                same && matches_at(rest, more, indent)
            }
            None => false,
        },
    }
}

/// Whether `snippet` is an excerpt of `file` (see the module's documentation).
fn is_excerpt(snippet: &[String], file: &str) -> bool {
    let lines: Vec<&str> = file.lines().collect();
    let Some(first) = snippet.first() else {
        return false;
    };
    (0..lines.len()).any(|start| {
        indentation(lines[start])
            .checked_sub(indentation(first))
            .is_some_and(|indent| matches_at(snippet, &lines[start..], indent))
    })
}

/// Text without whitespace, and without a trailing comma before `)` (rustfmt's multi-line
/// parameter lists).
fn squeezed(text: &str) -> String {
    let text: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    text.replace(",)", ")")
}

/// A signature line of a summary: up to its body or its comment.
fn signature(line: &str) -> Option<String> {
    let line = line.trim();
    let is_signature = ["fn ", "async fn ", "pub trait "]
        .iter()
        .any(|start| line.starts_with(start));
    if !is_signature {
        return None;
    }
    let line = line.split(" //").next().unwrap_or(line);
    let line = line.split(" {").next().unwrap_or(line);
    Some(squeezed(line.trim_end_matches(';')))
}

fn method_name(line: &str) -> Option<String> {
    let rest = line
        .trim()
        .strip_prefix("async ")
        .unwrap_or(line.trim())
        .strip_prefix("fn ")?;
    Some(rest.split(['(', '<']).next()?.to_owned())
}

/// The problems of a `signatures` block against `file`.
fn signature_problems(block: &Block, file: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let whole = squeezed(file);
    for line in &block.body {
        if let Some(signature) = signature(line)
            && !whole.contains(&signature)
        {
            problems.push(format!("`{}` is not in the file", line.trim()));
        }
    }
    // Every method of the trait is shown.
    let Some(name) = block
        .body
        .iter()
        .find_map(|l| l.trim().strip_prefix("pub trait "))
        .and_then(|rest| rest.split([':', ' ', '<']).next())
    else {
        problems.push("no `pub trait` line".to_owned());
        return problems;
    };
    let lines: Vec<&str> = file.lines().collect();
    let Some(start) = lines
        .iter()
        .position(|l| l.starts_with(&format!("pub trait {name}")))
    else {
        problems.push(format!("no `pub trait {name}` in the file"));
        return problems;
    };
    let in_file: BTreeSet<String> = lines[start + 1..]
        .iter()
        .take_while(|l| **l != "}")
        .filter(|l| indentation(l) == 4)
        .filter_map(|l| method_name(l))
        .collect();
    let shown: BTreeSet<String> = block.body.iter().filter_map(|l| method_name(l)).collect();
    if in_file != shown {
        problems.push(format!(
            "trait {name} has methods {in_file:?}, the guide shows {shown:?}"
        ));
    }
    problems
}

const GUIDE: &str = "docs/writing-a-provider.md";

#[test]
fn every_snippet_of_the_guide_is_compiled_code() {
    let guide = read(GUIDE);
    let mut problems = Vec::new();
    let mut excerpts = 0;
    for block in blocks(&guide) {
        let language = block.info.split(',').next().unwrap_or_default();
        let at = format!("{GUIDE}:{} ({})", block.line, block.info);
        if let Some(path) = marker(&block, "compiled") {
            excerpts += 1;
            if !is_excerpt(&block.body, &read(path)) {
                problems.push(format!("{at}: not an excerpt of {path}"));
            }
        } else if let Some(path) = marker(&block, "signatures") {
            for problem in signature_problems(&block, &read(path)) {
                problems.push(format!("{at}: {path}: {problem}"));
            }
        } else if language == "toml" || language == "rust" {
            // Every Rust or Cargo.toml snippet says which compiled file it comes from (no
            // doctest: the published crate has no guide to include).
            problems.push(format!(
                "{at}: no `<!-- compiled: PATH -->` or `<!-- signatures: PATH -->` marker"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(
        excerpts >= 10,
        "only {excerpts} excerpts found: is the marker parsed?"
    );
}

#[test]
fn the_guide_names_every_rule_of_the_contract_suite() {
    let guide = read(GUIDE);
    let missing: Vec<&str> = Rule::ALL
        .iter()
        .map(|rule| rule.name())
        .filter(|name| !guide.contains(&format!("`{name}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "rules the guide does not name: {missing:?}"
    );
}

/// The checker itself: it accepts an excerpt, with elisions and re-indented, and refuses a
/// changed line, a line out of order, and a method the summary leaves out.
#[test]
fn the_checks_see_a_snippet_drift() {
    let file = "impl A {\n    fn one(&self) {\n        1\n    }\n\n    fn two(&self) {}\n}\n";
    let lines = |text: &str| text.lines().map(str::to_owned).collect::<Vec<_>>();
    assert!(is_excerpt(&lines("fn one(&self) {\n    1\n}"), file));
    assert!(is_excerpt(
        &lines("impl A {\n    // ...\n    fn two(&self) {}\n}"),
        file
    ));
    assert!(!is_excerpt(&lines("fn one(&self) {\n    2\n}"), file));
    assert!(!is_excerpt(
        &lines("fn two(&self) {}\n// ...\nfn one(&self) {"),
        file
    ));

    let trait_file =
        "pub trait T {\n    fn a(&self);\n    async fn b(\n        &self,\n    ) -> u8;\n}\n";
    let summary = |body: &str| Block {
        line: 1,
        info: "rust,ignore".into(),
        before: String::new(),
        body: lines(body),
    };
    let full = summary("pub trait T {\n    fn a(&self);\n    async fn b(&self) -> u8;\n}");
    assert_eq!(signature_problems(&full, trait_file), Vec::<String>::new());
    let partial = summary("pub trait T {\n    fn a(&self);\n}");
    assert_eq!(signature_problems(&partial, trait_file).len(), 1);
    let wrong = summary("pub trait T {\n    fn a(&mut self);\n    async fn b(&self) -> u8;\n}");
    assert_eq!(signature_problems(&wrong, trait_file).len(), 1);
}
