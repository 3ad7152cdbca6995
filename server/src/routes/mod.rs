//! The HTTP API of SPEC section 4: one module per resource, merged here.

mod app;
mod commands;
mod cors;
mod events;
mod guard;
mod health;
mod openapi;
mod reactions;

pub use openapi::document as openapi_document;
mod streams;
mod subscribe;
mod views;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, FromRef, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

pub use app::with_static;

use crate::auth::{Caller, Keys};
use crate::error::ApiError;
use crate::hosted::Hosted;
use crate::reactions::Reactions;
use crate::store::Store;

/// Limits on what one caller may send.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest request body, in bytes.
    pub body: usize,
    /// Most open subscriptions per token subject.
    pub subscriptions: usize,
    /// Origins allowed to call the API from a browser (CORS); none by default.
    pub cors_origins: Vec<String>,
    /// Host names served besides loopback ones in local mode; in token mode, when not
    /// empty, the only names served.
    pub allowed_hosts: Vec<String>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            body: 1024 * 1024,
            subscriptions: 64,
            cors_origins: Vec::new(),
            allowed_hosts: Vec::new(),
        }
    }
}

/// Counters for `/metrics`.
#[derive(Default)]
pub struct Metrics {
    /// Commands recorded.
    pub accepted: AtomicU64,
    /// Commands refused.
    pub rejected: AtomicU64,
    /// Raw events appended.
    pub appended: AtomicU64,
    /// Requests answered with an error status.
    pub errors: AtomicU64,
    /// Open subscriptions.
    pub subscribers: AtomicU64,
}

impl Metrics {
    fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub store: Arc<dyn Store>,
    /// The domain whose rules decide commands.
    pub domain: Arc<dyn Hosted>,
    /// Token keys; `None` in local mode.
    pub keys: Option<Keys>,
    /// Request limits.
    pub limits: Limits,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// Open subscriptions per subject.
    pub subscriptions: Arc<std::sync::Mutex<std::collections::HashMap<String, usize>>>,
    /// The reactions this process runs (see [`Reactions::start`]).
    pub reactions: Arc<Reactions>,
}

/// The API's router.
pub fn router(state: AppState) -> Router {
    let body_limit = state.limits.body;
    Router::new()
        .merge(commands::routes())
        .merge(events::routes())
        .merge(streams::routes())
        .merge(views::routes())
        .merge(subscribe::routes())
        .merge(health::routes())
        .merge(openapi::routes())
        .merge(reactions::routes())
        .fallback(app::fallback)
        .method_not_allowed_fallback(no_method)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::from_fn_with_state(state.clone(), count_errors))
        .layer(cors::layer(&state.limits.cors_origins))
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard::guard))
        .with_state(state)
}

/// Unknown paths get a JSON 404 like every other error.
pub async fn no_route(uri: axum::http::Uri) -> ApiError {
    ApiError::not_found("route_not_found", format!("There is no endpoint {}.", uri.path()))
}

async fn no_method(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError::MethodNotAllowed(format!("{} does not take {method}.", uri.path()))
}

async fn count_errors(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let response = next.run(request).await;
    if response.status().is_client_error() || response.status().is_server_error() {
        Metrics::add(&state.metrics.errors, 1);
    }
    response
}

impl<S: Send + Sync> FromRequestParts<S> for Caller
where
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let state = AppState::from_ref(state);
        let Some(keys) = &state.keys else {
            return Ok(Caller::local());
        };
        let header = parts.headers.get(header::AUTHORIZATION).and_then(|h| h.to_str().ok());
        let Some(token) = header.and_then(bearer_token) else {
            return Err(ApiError::Unauthorized(
                "This needs an Authorization: Bearer <token> header.".to_owned(),
            ));
        };
        keys.verify(token, now_millis() / 1000)
    }
}

/// The token of an `Authorization: Bearer <token>` value. The scheme's name is matched
/// without regard to case, as RFC 7235 (section 2.1) says, so `bearer` and `BEARER` do too.
fn bearer_token(authorization: &str) -> Option<&str> {
    let (scheme, token) = authorization.trim_start().split_once(' ')?;
    scheme.eq_ignore_ascii_case("Bearer").then_some(token.trim())
}

/// A JSON body, with every failure turned into a clear 400 or 413.
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        // Only JSON declared as such: a page on another site can send text/plain or a form
        // without a preflight, but never application/json.
        let declared = request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
        let media_type = declared.map(|v| v.split(';').next().unwrap_or("").trim());
        if !media_type.is_some_and(|m| m.eq_ignore_ascii_case("application/json")) {
            return Err(ApiError::UnsupportedMediaType(format!(
                "The body must be sent with Content-Type: application/json, not {}.",
                declared.map_or("none".to_owned(), |v| format!("{v:?}"))
            )));
        }
        let bytes = Bytes::from_request(request, state).await.map_err(|err: BytesRejection| {
            if err.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::TooLarge("The body is larger than this server accepts.".to_owned())
            } else {
                ApiError::bad_request("invalid_body", err.body_text())
            }
        })?;
        serde_json::from_slice(&bytes).map(Body).map_err(|err| {
            let code =
                if err.is_syntax() || err.is_eof() { "invalid_json" } else { "invalid_body" };
            ApiError::bad_request(code, format!("The body is not what this endpoint takes: {err}."))
        })
    }
}

/// Query parameters, with every failure turned into a clear 400.
pub struct Params<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or("");
        axum::extract::Query::<T>::try_from_uri(&parts.uri).map(|q| Params(q.0)).map_err(|err| {
            ApiError::bad_request(
                "invalid_parameter",
                format!("The query {query:?} is not valid: {}.", err.body_text()),
            )
        })
    }
}

/// Path segments, with every failure (such as a segment that is not UTF-8) turned into a
/// clear 400.
pub struct Segments<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Segments<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let path = axum::extract::Path::<T>::from_request_parts(parts, state).await;
        path.map(|p| Segments(p.0)).map_err(|err| {
            ApiError::bad_request(
                "invalid_path",
                format!("The path is not valid: {}.", err.body_text()),
            )
        })
    }
}

/// Milliseconds since the Unix epoch: the server's clock, given to the core as command time.
pub fn now_millis() -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    now.map_or(0, |d| d.as_millis() as i64)
}

/// A JSON response from already-serialized text.
pub fn json_text(body: String) -> axum::response::Response {
    use axum::response::IntoResponse;
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

#[cfg(test)]
mod tests {
    use super::bearer_token;

    #[test]
    fn the_bearer_scheme_is_matched_without_regard_to_case() {
        for value in ["Bearer a.b.c", "bearer a.b.c", "BEARER a.b.c", "bEaReR   a.b.c "] {
            assert_eq!(bearer_token(value), Some("a.b.c"), "{value:?}");
        }
        for value in ["Basic a.b.c", "a.b.c", "Bearer", "Bearera.b.c", "Bearer-x a.b.c", ""] {
            assert_eq!(bearer_token(value), None, "{value:?}");
        }
        assert_eq!(bearer_token("Bearer "), Some(""));
    }
}
