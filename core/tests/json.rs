//! The JSON codec against serde_json, the reference reader: over random JSON values and
//! random text, annals' reader accepts exactly what serde_json reads into a `Value` (within
//! the nesting limit), keeps raw values byte for byte, and reads strings and integers to the
//! same values; the writer's text reads back the same. Whatever the text (any Unicode, near
//! JSON, a cut-off value), every reader answers with a value or an error and never panics.

use annals_core::Envelope;
use annals_core::json::{self, RawJson};
use annals_core::protocol::{CommandRequest, PullResponse, PushRequest, PushResponse};
use proptest::prelude::*;
use serde_json::Value;

/// Reads `text` as every kind of outside data the core takes: it must answer, never panic.
fn read_everything(text: &str) {
    let _ = RawJson::new(text);
    let _ = json::from_str::<String>(text);
    let _ = json::from_str::<u64>(text);
    let _ = json::from_str::<i64>(text);
    let _ = json::from_str::<Vec<RawJson>>(text);
    let _ = json::from_str::<PushRequest>(text);
    let _ = json::from_str::<PushResponse>(text);
    let _ = json::from_str::<PullResponse>(text);
    let _ = json::from_str::<CommandRequest>(text);
    let _ = json::from_str::<Envelope>(text);
}

/// Any Unicode text, weighted towards JSON's punctuation, escapes and multi-byte characters.
fn unicode_texts() -> impl Strategy<Value = String> {
    let pieces = prop_oneof![
        3 => prop::sample::select(vec![
            "\\", "\\u", "\\u+041", "\\u00", "\\ud83c", "\"", "{", "}", "[", "]", ":",
            ",", "0", "-1", "1e5", "true", "null", "\u{a0}", "é", "🌀", "\u{10ffff}", "\u{0}",
        ]).prop_map(str::to_owned),
        2 => any::<char>().prop_map(String::from),
        1 => "[\\\\\"{}\\[\\]:,0-9a-z \u{80}-\u{10ffff}]{0,8}",
    ];
    prop::collection::vec(pieces, 0..24).prop_map(|pieces| pieces.concat())
}

/// Random JSON values: every kind, strings with escapes and non-ASCII, integers at the
/// edges, fractions and exponents, nested a few levels.
fn values() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e12f64..1e12).prop_map(Value::from),
        "[ -~\u{0}-\u{1f}é✓🎉\"\\\\]{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map("[a-z\"\\\\é]{0,6}", inner, 0..6)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// Text near JSON: pieces of JSON glued at random, so many are almost valid.
fn texts() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        " ",
        "\n",
        "\"a\"",
        "\"\\u00e9\"",
        "\"\\ud83c\\udf89\"",
        "\"\\ud800\"",
        "\"\\x\"",
        "\"\t\"",
        "0",
        "-0",
        "01",
        "1.5",
        "1e3",
        "-",
        "1.",
        ".5",
        "1e",
        "true",
        "tru",
        "null",
        "nul",
        "false",
        "99999999999999999999",
        "\"",
    ]);
    prop::collection::vec(pieces, 0..12).prop_map(|pieces| pieces.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn any_json_value_is_read_whole_and_kept_byte_for_byte(value in values(), pretty in any::<bool>()) {
        let text = if pretty {
            serde_json::to_string_pretty(&value).expect("a Value writes")
        } else {
            serde_json::to_string(&value).expect("a Value writes")
        };
        let raw = RawJson::new(text.clone()).map_err(|e| TestCaseError::fail(format!("{e}: {text}")))?;
        prop_assert_eq!(raw.get(), text.as_str());
        // Inside an array and an object, a raw value is taken exactly.
        let wrapped: Vec<RawJson> = json::from_str(&format!("[{text}, {text}]")).expect("an array");
        prop_assert_eq!(wrapped[0].get(), text.as_str());
    }

    #[test]
    fn strings_and_integers_read_as_serde_json_reads_them(value in values()) {
        match &value {
            Value::String(s) => {
                let text = serde_json::to_string(s).expect("a string writes");
                prop_assert_eq!(&json::from_str::<String>(&text).expect("a string"), s);
                prop_assert_eq!(json::to_string(s.as_str()), text);
            }
            Value::Number(n) if n.is_i64() => {
                let text = n.to_string();
                prop_assert_eq!(json::from_str::<i64>(&text).ok(), n.as_i64());
            }
            Value::Number(n) if n.is_u64() => {
                let text = n.to_string();
                prop_assert_eq!(json::from_str::<u64>(&text).ok(), n.as_u64());
            }
            _ => {}
        }
    }

    #[test]
    fn any_text_is_read_or_refused_without_a_panic(text in unicode_texts()) {
        read_everything(&text);
    }

    #[test]
    fn any_string_at_all_is_read_or_refused_without_a_panic(text in any::<String>()) {
        read_everything(&text);
    }

    #[test]
    fn every_truncation_of_json_is_read_or_refused_without_a_panic(value in values()) {
        let text = serde_json::to_string(&value).expect("a Value writes");
        for end in (0..text.len()).filter(|&end| text.is_char_boundary(end)) {
            let cut = &text[..end];
            read_everything(cut);
            // A cut inside an array or an object, or a string, is never a whole value.
            if matches!(value, Value::Array(_) | Value::Object(_) | Value::String(_)) {
                prop_assert!(RawJson::new(cut).is_err(), "{:?}", cut);
            }
        }
    }

    #[test]
    fn text_is_accepted_exactly_when_serde_json_accepts_it(text in texts()) {
        // Into a `Value`, so that serde_json decodes every string (it lets a lone surrogate
        // through when it only skips one; neither reader takes one into a string).
        let theirs = serde_json::from_str::<Value>(&text);
        // serde_json also refuses a number too large for an f64 (`1e999`); annals keeps
        // numbers as text, reads only integers, and refuses those out of range when read.
        prop_assume!(!theirs.as_ref().is_err_and(|e| e.to_string().contains("out of range")));
        let theirs = theirs.is_ok();
        let ours = RawJson::new(text.clone()).is_ok();
        prop_assert_eq!(ours, theirs, "{:?}", text);
    }
}
