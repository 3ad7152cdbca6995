//! The example domains are built as a user builds theirs: nothing in them names an item
//! annals-core hides from its documentation (the helpers its derives and macros expand to),
//! and annals-core names none of them.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The names of the items after `#[doc(hidden)]` in annals-core's sources.
fn hidden_items() -> Vec<String> {
    let mut files = Vec::new();
    rust_files(&root().join("core/src"), &mut files);
    let mut names = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("a source file");
        let mut lines = text.lines();
        while let Some(line) = lines.next() {
            if line.trim() != "#[doc(hidden)]" {
                continue;
            }
            let item = lines.find(|l| !l.trim_start().starts_with("#[")).unwrap_or_default();
            // Items of the module, not a trait's own methods (which nobody names).
            if item.starts_with(' ') {
                continue;
            }
            let words: Vec<&str> = item
                .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .filter(|w| !w.is_empty())
                .collect();
            let kinds = ["fn", "macro_rules", "use", "struct", "trait", "mod", "as"];
            let name = words.windows(2).rev().find(|w| kinds.contains(&w[0])).map(|w| w[1]);
            if let Some(name) = name.filter(|n| !n.is_empty()) {
                names.push(name.to_owned());
            }
        }
    }
    names
}

#[test]
fn the_examples_use_nothing_annals_core_hides() {
    let hidden = hidden_items();
    for name in ["write_command", "read_fields", "json_struct", "decode_payload", "__serde"] {
        assert!(hidden.iter().any(|h| h == name), "{name} is among the hidden items: {hidden:?}");
    }
    let mut files = Vec::new();
    for example in ["inventory", "bank", "todo", "todo-server", "server"] {
        rust_files(&root().join("examples").join(example), &mut files);
    }
    assert!(files.len() > 20, "{} files", files.len());
    for file in files {
        let text = std::fs::read_to_string(&file).expect("a source file");
        // Code only: what comments say is not a use.
        let text: String = text
            .lines()
            .map(|line| line.split("//").next().unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n");
        for name in &hidden {
            let used = text.match_indices(name.as_str()).any(|(at, _)| {
                let before = text[..at].chars().next_back();
                let after = text[at + name.len()..].chars().next();
                let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
                !word(before) && !word(after)
            });
            assert!(!used, "{} names annals-core's hidden {name}", file.display());
        }
    }
}

#[test]
fn annals_core_names_no_example_domain() {
    let mut files = Vec::new();
    rust_files(&root().join("core"), &mut files);
    for file in files {
        let text = std::fs::read_to_string(&file).expect("a source file").to_lowercase();
        for domain in
            ["annals_inventory", "annals_bank", "annals_todo", "inventorycommand", "bankcommand"]
        {
            assert!(!text.contains(domain), "{} names {domain}", file.display());
        }
    }
}
