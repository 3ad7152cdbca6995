//! The API's one error type: every failure becomes `{"error": {"code", "message", ...}}`.

use std::collections::BTreeMap;

use annals_core::protocol::{ErrorBody, ErrorResponse};
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

/// An error an endpoint returns. Each variant documents its status.
#[derive(Debug)]
pub enum ApiError {
    /// 400: the request is malformed (bad JSON, wrong types, unknown command or event type,
    /// absurd parameters).
    BadRequest {
        /// Stable snake_case code.
        code: &'static str,
        /// A sentence for people.
        message: String,
    },
    /// 401: no token, or a token that is badly signed, expired or not valid yet.
    Unauthorized(String),
    /// 403: the token lacks the scope the endpoint needs.
    Forbidden(String),
    /// 403: the request comes from a web origin this server does not accept.
    ForbiddenOrigin(String),
    /// 404: no such stream, view or row.
    NotFound {
        /// Stable snake_case code.
        code: &'static str,
        /// A sentence for people.
        message: String,
    },
    /// 405: the endpoint exists but not with this method.
    MethodNotAllowed(String),
    /// 409: the stream is not at the expected version.
    WrongExpectedVersion {
        /// What the caller expected.
        expected: Value,
        /// The stream's version.
        actual: u64,
    },
    /// 413: the body or batch is too large.
    TooLarge(String),
    /// 415: a body that is not declared `application/json`.
    UnsupportedMediaType(String),
    /// 421: a Host this server does not answer to (DNS rebinding, or a proxy not named with
    /// `--allowed-host`).
    MisdirectedHost(String),
    /// 429: too many open subscriptions for one token.
    TooMany(String),
    /// 503: storage failed; the cause is logged with the request id, never sent.
    Unavailable {
        /// The id the failure was logged under.
        request: String,
    },
}

impl ApiError {
    /// A 400 with a stable code.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::BadRequest { code, message: message.into() }
    }

    /// A 404 with a stable code.
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::NotFound { code, message: message.into() }
    }

    /// Logs an internal failure under a fresh request id and returns a 503 naming only that id.
    pub fn internal(err: impl std::fmt::Display) -> Self {
        let request = uuid::Uuid::new_v4().to_string();
        tracing::error!(request = %request, error = %err, "storage failure");
        ApiError::Unavailable { request }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut details = BTreeMap::new();
        let (status, code, message) = match self {
            ApiError::BadRequest { code, message } => (StatusCode::BAD_REQUEST, code, message),
            ApiError::Unauthorized(message) => (StatusCode::UNAUTHORIZED, "unauthorized", message),
            ApiError::Forbidden(message) => (StatusCode::FORBIDDEN, "forbidden", message),
            ApiError::ForbiddenOrigin(message) => {
                (StatusCode::FORBIDDEN, "forbidden_origin", message)
            }
            ApiError::NotFound { code, message } => (StatusCode::NOT_FOUND, code, message),
            ApiError::MethodNotAllowed(message) => {
                (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", message)
            }
            ApiError::WrongExpectedVersion { expected, actual } => {
                let message = format!("The stream is at version {actual}, not {expected}.");
                details.insert("expected".to_owned(), expected);
                details.insert("actual".to_owned(), Value::from(actual));
                (StatusCode::CONFLICT, "wrong_expected_version", message)
            }
            ApiError::TooLarge(message) => (StatusCode::PAYLOAD_TOO_LARGE, "too_large", message),
            ApiError::UnsupportedMediaType(message) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", message)
            }
            ApiError::MisdirectedHost(message) => {
                (StatusCode::MISDIRECTED_REQUEST, "forbidden_host", message)
            }
            ApiError::TooMany(message) => {
                (StatusCode::TOO_MANY_REQUESTS, "too_many_subscriptions", message)
            }
            ApiError::Unavailable { request } => {
                details.insert("request".to_owned(), Value::from(request));
                let message = "The storage is unavailable; try again.".to_owned();
                (StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
            }
        };
        let body = ErrorResponse { error: ErrorBody { code: code.to_owned(), message, details } };
        (status, Json(body)).into_response()
    }
}
