//! The package folder: annals' JavaScript runtime (written once, in `wasm/js`, knowing no
//! domain), the domain's module and types, package.json and a README.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::build::{MODULE, Result, gzipped};

/// The crate being packed.
pub struct Crate {
    /// Its Cargo name.
    pub name: String,
    /// Its library's name (the module's file name before wasm-bindgen).
    pub lib_name: String,
    /// The package's npm name.
    pub npm_name: String,
    /// Its version, the package's too.
    pub version: String,
    /// Its description, if any.
    pub description: Option<String>,
    /// Its license expression, if any.
    pub license: Option<String>,
    /// Its Cargo.toml.
    pub manifest: PathBuf,
    /// The folder of its Cargo.toml.
    pub dir: PathBuf,
    /// Cargo's target folder.
    pub target_dir: PathBuf,
}

/// The runtime's files, the same in every package.
const RUNTIME: &[(&str, &str)] = &[
    ("browser.js", include_str!("../../wasm/js/browser.js")),
    ("node.js", include_str!("../../wasm/js/node.js")),
    ("replica.js", include_str!("../../wasm/js/replica.js")),
    ("sync.js", include_str!("../../wasm/js/sync.js")),
    ("tabs.js", include_str!("../../wasm/js/tabs.js")),
    ("errors.js", include_str!("../../wasm/js/errors.js")),
    ("annals.d.ts", include_str!("../../wasm/js/annals.d.ts")),
];

/// The README, with `{{package}}` and `{{domain}}` to fill in.
const README: &str = include_str!("../../wasm/js/README.md");

/// The files an app of the package loads in a browser: the runtime but `node.js`, and the
/// module's glue (the module itself is counted apart).
const LOADED: &[&str] = &["browser.js", "replica.js", "sync.js", "tabs.js", "errors.js"];

/// Writes everything but the module and its glue (already in `out`) into the package.
pub fn write(krate: &Crate, declarations: &str, out: &Path) -> Result {
    for (file, text) in RUNTIME {
        let text = if file.ends_with(".js") { without_comments(text) } else { (*text).to_owned() };
        write_file(&out.join(file), &text)?;
    }
    // wasm-bindgen's glue carries the Rust docs of the exported methods as JSDoc.
    let glue = out.join(format!("{MODULE}.js"));
    let text = std::fs::read_to_string(&glue)
        .map_err(|e| format!("cannot read {}: {e}", glue.display()))?;
    write_file(&glue, &without_comments(&text))?;
    let domain = domain_name(declarations)?;
    write_file(&out.join(format!("{MODULE}.d.ts")), declarations)?;
    write_file(&out.join("index.d.ts"), &index_types(declarations))?;
    write_file(&out.join("package.json"), &package_json(krate))?;
    let readme = README.replace("{{package}}", &krate.npm_name).replace("{{domain}}", &domain);
    write_file(&out.join("README.md"), &readme)
}

/// JavaScript without its comment lines (lines that are a `//` comment, and `/* ... */`
/// blocks that begin a line and end one), blank lines and indentation. Every app downloads the
/// package's JavaScript; the comments and the layout are for readers of annals' sources
/// (`wasm/js`), where they stay. Only whole lines and leading spaces go, and every line break
/// stays, so the code means what it meant. Indentation is kept when a line could be inside a
/// multi-line template literal or a string continued with `\`.
fn without_comments(text: &str) -> String {
    let multiline = text
        .lines()
        .any(|line| line.matches('`').count() % 2 == 1 || line.trim_end().ends_with('\\'));
    let mut out = String::with_capacity(text.len());
    let mut in_block = false;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if in_block {
            in_block = !trimmed.contains("*/");
            continue;
        }
        if trimmed.starts_with("//") || (trimmed.is_empty() && !multiline) {
            continue;
        }
        if trimmed.starts_with("/*") {
            in_block = !trimmed.contains("*/");
            if trimmed.trim_end().ends_with("*/") || in_block {
                continue;
            }
        }
        out.push_str(if multiline { line } else { trimmed });
        out.push('\n');
    }
    out
}

/// What a browser app loads of the JavaScript, gzipped file by file as servers send them.
pub fn loaded_js(out: &Path) -> Result<u64> {
    let glue = format!("{MODULE}.js");
    let mut total = 0;
    for file in LOADED.iter().copied().chain([glue.as_str()]) {
        let path = out.join(file);
        let bytes =
            std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        total += gzipped(&bytes);
    }
    Ok(total)
}

/// The domain's name, from `export type DomainName = "...";` in its declarations.
fn domain_name(declarations: &str) -> Result<String> {
    declarations
        .lines()
        .find_map(|line| line.strip_prefix("export type DomainName = \""))
        .and_then(|rest| rest.split('"').next())
        .map(str::to_owned)
        .ok_or_else(|| "the domain's declarations name no DomainName".to_owned())
}

/// The names a declaration file exports (`export type X`, `export interface X`, `export
/// declare ... X`).
fn exported_names(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("export ")?;
            let rest = rest.strip_prefix("declare ").unwrap_or(rest);
            let rest = ["type ", "interface ", "class ", "function ", "const "]
                .iter()
                .find_map(|kind| rest.strip_prefix(kind))?;
            let name: String =
                rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            (!name.is_empty()).then_some(name)
        })
        .collect()
}

/// The package's types: the domain's, the runtime's (but those the domain's names hide), and
/// `open` typed by the domain.
fn index_types(declarations: &str) -> String {
    let domain = exported_names(declarations);
    let runtime =
        exported_names(RUNTIME.iter().find(|(f, _)| *f == "annals.d.ts").map_or("", |(_, t)| t));
    // Declared below: the errors widened by the domain's rejection codes, the domain itself.
    let own = ["AnnalsError", "isAnnalsError", "ErrorCode", "Domain"];
    let types: Vec<&str> = runtime
        .iter()
        .map(String::as_str)
        .filter(|name| !domain.contains(*name) && !own.contains(name))
        .collect();
    format!(
        r#"// The package's types: its domain's, generated from the Rust code by `cargo annals pack`,
// and annals' runtime typed by them.

import type {{
  AnnalsError as RuntimeError,
  Domain as DomainOf,
  ErrorCode as RuntimeErrorCode,
  OpenOptions,
  ReplicaOf,
}} from "./annals.js";
import type {{ Command, DomainName, Event, RejectionCode, State, Views }} from "./{MODULE}.js";

export * from "./{MODULE}.js";
export type {{
  {types},
}} from "./annals.js";

/** This package's domain: the types of its commands, events, state, views and rejections. */
export type Domain = DomainOf<DomainName, Command, Event, State, Views, RejectionCode>;

/** A replica of this package's domain. */
export type Replica = ReplicaOf<Domain>;

/** Every code an error of this package has: the domain's rejections and annals' own. */
export type ErrorCode = RejectionCode | RuntimeErrorCode;

/** Every error the package throws: an `Error` named "AnnalsError" with a stable `code`. */
export declare class AnnalsError<C extends string = ErrorCode> extends RuntimeError<C> {{}}

export declare function isAnnalsError(value: unknown): value is AnnalsError;

/** Opens a replica of this package's domain. */
export declare function open(options?: OpenOptions): Promise<Replica>;
"#,
        types = types.join(",\n  "),
    )
}

/// package.json, written by hand: in `exports` the order of the conditions is what decides
/// (the first that applies wins), and a JSON map would sort them.
fn package_json(krate: &Crate) -> String {
    let string = |text: &str| serde_json::Value::from(text).to_string();
    let files: Vec<String> = RUNTIME
        .iter()
        .map(|(file, _)| (*file).to_owned())
        .chain([format!("{MODULE}.js"), format!("{MODULE}_bg.wasm"), format!("{MODULE}.d.ts")])
        .chain(["index.d.ts".to_owned(), "README.md".to_owned()])
        .map(|file| format!("    {}", string(&file)))
        .collect();
    let mut about = String::new();
    if let Some(description) = &krate.description {
        about.push_str(&format!("  \"description\": {},\n", string(description)));
    }
    if let Some(license) = &krate.license {
        about.push_str(&format!("  \"license\": {},\n", string(license)));
    }
    format!(
        r#"{{
  "name": {name},
  "version": {version},
{about}  "type": "module",
  "exports": {{
    ".": {{
      "types": "./index.d.ts",
      "node": "./node.js",
      "default": "./browser.js"
    }},
    "./package.json": "./package.json"
  }},
  "types": "./index.d.ts",
  "files": [
{files}
  ],
  "sideEffects": false,
  "engines": {{
    "node": ">=20"
  }}
}}
"#,
        name = string(&krate.npm_name),
        version = string(&krate.version),
        files = files.join(",\n"),
    )
}

fn write_file(path: &Path, text: &str) -> Result {
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::without_comments;

    #[test]
    fn comment_lines_go_and_code_stays() {
        let text = "// a note\nconst a = 1; // kept, on a line of code\n  /**\n   * docs\n   */\n\nif (a) {\n  f(/* inline */ 2);\n}\n/* one line */\nconst url = \"http://x\";\n";
        assert_eq!(
            without_comments(text),
            "const a = 1; // kept, on a line of code\nif (a) {\nf(/* inline */ 2);\n}\nconst url = \"http://x\";\n"
        );
        let template = "const t = `a\n  b`;\n// note\n";
        assert_eq!(without_comments(template), "const t = `a\n  b`;\n");
    }

    #[test]
    fn the_runtime_loses_only_comments() {
        for (file, text) in super::RUNTIME.iter().filter(|(f, _)| f.ends_with(".js")) {
            let code = |t: &str| -> Vec<String> {
                t.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with("//") && !l.starts_with('*'))
                    .filter(|l| !l.starts_with("/*"))
                    .map(str::to_owned)
                    .collect()
            };
            assert_eq!(code(&without_comments(text)), code(text), "{file}");
        }
    }
}
