//! The API's one error type: every failure becomes `{"error": {"code", "message", ...}}`.

use std::collections::BTreeMap;

use annals_core::protocol::{ErrorBody, ErrorResponse};
use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::store::{Fault, StoreError};

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
    /// 503 with `Retry-After`: the database cannot serve the request now. The code says why
    /// (see [`unavailable`]); the cause is logged with the request id, never sent.
    Unavailable {
        /// What kind of failure.
        fault: Fault,
        /// The id the failure was logged under.
        request: String,
    },
}

/// The code, message and `Retry-After` (seconds) of a 503 for each kind of storage failure.
///
/// | code | when | `Retry-After` |
/// |---|---|---|
/// | `database_unavailable` | the database cannot be reached (down, restarting, connection lost) | 1 |
/// | `database_full` | its disk is full | 5 |
/// | `database_read_only` | it cannot be written (a read-only file or server) | 5 |
/// | `database_locked` | another program holds its write lock | 1 |
/// | `unavailable` | any other storage failure | 1 |
pub fn unavailable(fault: Fault) -> (&'static str, &'static str, u32) {
    match fault {
        Fault::Unreachable => (
            "database_unavailable",
            "The database cannot be reached just now; try again shortly. A command or event \
             sent again with the same id is never recorded twice.",
            1,
        ),
        Fault::Full => (
            "database_full",
            "The database's disk is full, so nothing was recorded; try again once space is freed.",
            5,
        ),
        Fault::ReadOnly => (
            "database_read_only",
            "The database cannot be written to just now, so nothing was recorded; try again later.",
            5,
        ),
        Fault::Locked => (
            "database_locked",
            "Another program holds the database's lock, so nothing was recorded; try again shortly.",
            1,
        ),
        Fault::Failed => ("unavailable", "The storage is unavailable; try again.", 1),
        Fault::Panicked => (
            "internal_error",
            "The domain's code failed on this request, so nothing of it was recorded; the \
             server's log says why, under this request's id.",
            0,
        ),
    }
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
        ApiError::from(StoreError::failed(err.to_string()))
    }
}

impl From<StoreError> for ApiError {
    /// Logs the failure under a fresh request id: a warning when the database is unavailable
    /// (it says so to every request until it is back), an error otherwise.
    fn from(err: StoreError) -> Self {
        let request = uuid::Uuid::new_v4().to_string();
        let code = unavailable(err.fault).0;
        if err.fault.is_availability() {
            tracing::warn!(request = %request, code, error = %err, "the database is unavailable");
        } else {
            tracing::error!(request = %request, error = %err, "storage failure");
        }
        ApiError::Unavailable { fault: err.fault, request }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut details = BTreeMap::new();
        let mut retry_after = None;
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
            ApiError::Unavailable { fault, request } => {
                details.insert("request".to_owned(), Value::from(request));
                let (code, message, seconds) = unavailable(fault);
                if fault == Fault::Panicked {
                    // Sending it again would fail again: no Retry-After.
                    (StatusCode::INTERNAL_SERVER_ERROR, code, message.to_owned())
                } else {
                    retry_after = Some(seconds);
                    (StatusCode::SERVICE_UNAVAILABLE, code, message.to_owned())
                }
            }
        };
        let body = ErrorResponse { error: ErrorBody { code: code.to_owned(), message, details } };
        let mut response = (status, Json(body)).into_response();
        if let Some(seconds) = retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}
