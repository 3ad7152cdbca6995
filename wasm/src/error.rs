//! Errors as they cross into JavaScript: real `Error` objects named `AnnalsError`, with a
//! stable snake_case `code` and a `message` for people.

use annals_core::{DecodeError, Rejection};
use js_sys::{Error, Reflect};
use wasm_bindgen::JsValue;

/// A failure with a stable code, thrown to JavaScript as an `Error` with `code` and `message`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnnalsError {
    /// Stable snake_case code, e.g. `insufficient_stock` or `storage_full`.
    pub code: String,
    /// A sentence for people.
    pub message: String,
}

impl AnnalsError {
    /// An error with a stable code and a human message.
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        AnnalsError { code: code.to_owned(), message: message.into() }
    }

    /// Input that is not the JSON the call expects.
    pub fn invalid_json(what: &str, error: &annals_core::json::Error) -> Self {
        AnnalsError::new("invalid_json", format!("{what} is not valid: {error}."))
    }
}

impl From<Rejection> for AnnalsError {
    fn from(rejection: Rejection) -> Self {
        AnnalsError { code: rejection.code, message: rejection.message }
    }
}

impl From<DecodeError> for AnnalsError {
    fn from(error: DecodeError) -> Self {
        AnnalsError { code: error.code, message: error.message }
    }
}

impl From<AnnalsError> for JsValue {
    fn from(error: AnnalsError) -> Self {
        let js = Error::new(&error.message);
        js.set_name("AnnalsError");
        // Setting a property on a fresh Error object cannot fail.
        let _ = Reflect::set(&js, &JsValue::from_str("code"), &JsValue::from_str(&error.code));
        js.into()
    }
}
