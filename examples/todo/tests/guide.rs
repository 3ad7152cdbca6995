//! The guide (docs/guide.md) shows this example's code: every excerpt it names a file for
//! must still be in that file, word for word, so the guide stays true to the code CI builds.

use std::path::Path;

#[test]
fn every_excerpt_in_the_guide_is_in_the_example() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let guide = std::fs::read_to_string(root.join("docs/guide.md")).expect("docs/guide.md");
    let mut excerpts = 0;
    for block in guide.split("\n```").skip(1).step_by(2) {
        // The fence's language, then the code.
        let block = block.split_once('\n').map_or("", |(_, code)| code);
        // Only excerpts that name their file; the others are sketches.
        let Some(rest) = block.strip_prefix("// examples/") else { continue };
        let (path, code) = rest.split_once('\n').unwrap_or((rest, ""));
        let file = std::fs::read_to_string(root.join("examples").join(path))
            .unwrap_or_else(|e| panic!("the guide names examples/{path}: {e}"));
        assert!(file.contains(code), "examples/{path} no longer holds:\n{code}");
        excerpts += 1;
    }
    assert!(excerpts >= 10, "the guide shows {excerpts} excerpts");
}
