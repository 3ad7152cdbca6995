//! What a caller attaches to a command (correlation, causation, fields of its own) travels in
//! the push, reaches `decide` through the context, and is kept in every event's meta.

use annals_core::json::{self, RawJson};
use annals_core::protocol::{Attached, CommandRequest};
use annals_core::{Fields, Meta, Uuid};

#[test]
fn attached_meta_is_read_kept_and_written_back() {
    let text = r#"{"id":"00000000-0000-4000-8000-000000000001","type":"AddTodo","data":{},
        "meta":{"correlation":"00000000-0000-4000-8000-0000000000c0","fields":{"screen":"list","n":[1,2]}}}"#;
    let request: CommandRequest = json::from_str(text).expect("a command with meta");
    let attached = request.meta.as_ref().expect("meta");
    let meta = Attached::onto(Some(attached), request.id, "ann", 5);
    assert_eq!(meta.correlation, Some(Uuid::from_u128(0x4000_8000_0000_0000_00c0)));
    assert_eq!(meta.causation, None);
    let fields = meta.fields.as_ref().expect("fields");
    assert_eq!(fields.get("screen"), Some(r#""list""#));
    assert_eq!(fields.get("n"), Some("[1,2]"));
    assert_eq!(fields.get("absent"), None);
    let written = json::to_string(&meta);
    assert_eq!(
        written,
        r#"{"command":"00000000-0000-4000-8000-000000000001","actor":"ann","at":5,"correlation":"00000000-0000-4000-8000-0000000000c0","fields":{"screen":"list","n":[1,2]}}"#
    );
    assert_eq!(json::from_str::<Meta>(&written), Ok(meta.clone()));
    assert_eq!(Attached::of(&meta).as_ref(), Some(attached));
    assert_eq!(Attached::of(&Meta::new(request.id, "ann", 5)), None, "nothing attached");
}

#[test]
fn fields_are_an_object() {
    for bad in ["3", "\"x\"", "[1]", "null"] {
        assert!(Fields::new(RawJson::new(bad).expect("JSON")).is_err(), "{bad}");
        let meta = format!(
            r#"{{"command":"00000000-0000-4000-8000-000000000001","actor":"a","at":0,"fields":{bad}}}"#
        );
        if bad != "null" {
            let error = json::from_str::<Meta>(&meta).expect_err(bad).to_string();
            assert!(error.contains("fields are an object"), "{error}");
        }
    }
}
