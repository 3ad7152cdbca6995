//! The TypeScript declarations of every example domain, as a packing tool writes them into the
//! domain's package, against the files checked in under `tests/typescript/<domain>.d.ts`.
//!
//! A change of a domain's types changes its declarations: write them anew with
//! `ANNALS_BLESS=1 cargo test -p annals-conformance --test typescript`, and read the difference
//! before committing it.

use std::path::Path;

use annals_bank::Bank;
use annals_core::Domain;
use annals_core::typescript::declarations;
use annals_inventory::Inventory;
use annals_todo::Todo;

/// How to write the files anew.
const BLESS: &str = "ANNALS_BLESS=1 cargo test -p annals-conformance --test typescript";

/// Compares `D`'s declarations with its file, or writes the file when `ANNALS_BLESS` is set.
fn check<D: Domain>() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/typescript")
        .join(format!("{}.d.ts", D::NAME));
    let generated = declarations::<D>();
    assert_eq!(generated, declarations::<D>(), "the declarations are the same on every run");
    if std::env::var_os("ANNALS_BLESS").is_some() {
        std::fs::write(&path, &generated)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        return;
    }
    let checked_in = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; `{BLESS}` writes it", path.display()));
    if generated != checked_in {
        let (mut new, mut old) = (generated.lines(), checked_in.lines());
        let mut line = 1;
        let (new, old) = loop {
            match (new.next(), old.next()) {
                (Some(a), Some(b)) if a == b => line += 1,
                different => break different,
            }
        };
        panic!(
            "the declarations of {:?} differ from {} at line {line}:\n  generated:  {:?}\n  \
             checked in: {:?}\nIf the change is meant, write the file anew with `{BLESS}`, and \
             read the difference.",
            D::NAME,
            path.display(),
            new.unwrap_or("(the end)"),
            old.unwrap_or("(the end)"),
        );
    }
}

#[test]
fn todo() {
    check::<Todo>();
}

#[test]
fn inventory() {
    check::<Inventory>();
}

#[test]
fn bank() {
    check::<Bank>();
}
