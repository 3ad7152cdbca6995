//! The JSON reader against JSONTestSuite (`tests/jsontestsuite/`, MIT): every `y_` file is
//! accepted, every `n_` file refused with an error, and every `i_` file answered one way or
//! the other; none of them panics. A file that is not UTF-8 is refused before it reaches the
//! reader, as the server and the package refuse such text.

use std::path::{Path, PathBuf};

use annals_core::json::RawJson;

fn corpus(folder: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/jsontestsuite").join(folder);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let name = path.file_name().expect("a file name").to_string_lossy().into_owned();
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
            (name, bytes)
        })
        .collect()
}

/// Whether annals takes `bytes` as one JSON value.
fn accepts(bytes: &[u8]) -> bool {
    std::str::from_utf8(bytes).is_ok_and(|text| RawJson::new(text).is_ok())
}

#[test]
fn every_y_file_is_accepted_and_every_n_file_refused() {
    let files = corpus("test_parsing");
    assert_eq!(files.len(), 318, "the whole corpus is here");
    let mut wrong = Vec::new();
    let (mut y, mut n, mut i) = (0, 0, 0);
    for (name, bytes) in &files {
        let accepted = accepts(bytes);
        match name.as_bytes()[0] {
            b'y' => {
                y += 1;
                if !accepted {
                    wrong.push(format!("{name}: refused"));
                }
            }
            b'n' => {
                n += 1;
                if accepted {
                    wrong.push(format!("{name}: accepted"));
                }
            }
            // Either answer is allowed; reaching here means it gave one without a panic.
            _ => i += 1,
        }
    }
    assert_eq!((y, n, i), (95, 188, 35), "every kind of file was read");
    assert!(wrong.is_empty(), "not as JSON says:\n{}", wrong.join("\n"));
}

#[test]
fn the_transform_files_are_answered_as_serde_json_answers_them() {
    // Edge cases with no one right answer (duplicate keys, lone surrogates, huge numbers):
    // annals answers each as serde_json, the reference reader of its tests, reads it into a
    // `Value`, and never panics.
    let files = corpus("test_transform");
    assert_eq!(files.len(), 22, "the whole corpus is here");
    for (name, bytes) in &files {
        let theirs = serde_json::from_slice::<serde_json::Value>(bytes).is_ok();
        assert_eq!(accepts(bytes), theirs, "{name}");
    }
}

#[test]
fn an_invalid_escape_before_a_multibyte_character_is_an_error() {
    for text in ["\"\\\u{a0}\"", "[\"\\🌀\"]", "\"\\é", "{\"\\✓\":1}"] {
        let error = RawJson::new(text).expect_err(text);
        assert!(error.message().starts_with("invalid escape at line 1 column "), "{error}");
    }
    // A sign is not a hex digit.
    for text in ["\"\\u+041\"", "\"\\u-041\"", "\"\\u 041\"", "\"\\u04\"", "\"\\u00é\""] {
        assert!(RawJson::new(text).is_err(), "{text}");
        assert!(annals_core::json::from_str::<String>(text).is_err(), "{text}");
    }
    assert_eq!(annals_core::json::from_str::<String>("\"\\u0041\\u00e9\"").expect("A, é"), "Aé");
}
