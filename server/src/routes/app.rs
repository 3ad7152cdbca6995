//! The app's static files under `/` (`--static DIR`), served by tower-http's `ServeDir` as the
//! API's fallback, so the Host/Origin guard and the API's other layers run for them too.
//!
//! - `/` and any path without an extension that names no file (an app route such as
//!   `/items/42`) get `index.html`; a missing file with an extension is a bare 404. Nothing
//!   outside the folder is served: `ServeDir` refuses `..`, encoded or not.
//! - `/v1` and every path under it belong to the API: an unknown one is its JSON 404.
//! - Validators: `ServeDir` sends `Last-Modified` and a strong `ETag` (the file's size and
//!   modification time), and answers `If-None-Match` and `If-Modified-Since` with 304.
//! - Caching: files under `assets/` carry a hash of their content in their names (Vite's
//!   build), so they are `public, max-age=31536000, immutable` and a returning browser uses
//!   its copy (and its compiled WebAssembly) without asking; every other file (`index.html`,
//!   `sw.js`, the manifest, icons) is `no-cache`: kept, but revalidated on each use.

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Router};
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};

/// Files whose names carry a content hash: never revalidated.
const IMMUTABLE: HeaderValue = HeaderValue::from_static("public, max-age=31536000, immutable");
/// Every other file: revalidated with its validator on each use.
const NO_CACHE: HeaderValue = HeaderValue::from_static("no-cache");
/// The folder of hashed files in the built app.
const HASHED: &str = "/assets/";

/// Serves the files under `dir` for every path the API does not claim, behind the same
/// Host/Origin guard as the API. `app` is the router of [`crate::app`]: this hands each
/// request the folder, and that router's fallback, inside the guard, serves it.
pub fn with_static(app: Router, dir: PathBuf) -> Router {
    app.layer(Extension(StaticFiles(Arc::new(dir))))
}

/// The folder `with_static` serves, carried to the API's fallback with each request.
#[derive(Clone)]
pub(super) struct StaticFiles(Arc<PathBuf>);

/// The API's fallback: the app's files when there are some and the path is not the API's,
/// otherwise the JSON 404 `route_not_found`.
pub(super) async fn fallback(files: Option<Extension<StaticFiles>>, request: Request) -> Response {
    let path = request.uri().path();
    let api = path == "/v1" || path.starts_with("/v1/");
    match files {
        Some(Extension(files)) if !api => files.serve(request).await,
        _ => super::no_route(request.uri().clone()).await.into_response(),
    }
}

impl StaticFiles {
    async fn serve(&self, request: Request) -> Response {
        // Files are read with GET and HEAD only, which carry no body.
        let (parts, _) = request.into_parts();
        let files = ServeDir::new(self.0.as_path()).redirect_to_trailing_slash(false);
        let mut response = answer(files, Request::from_parts(parts.clone(), Body::empty())).await;
        let path = parts.uri.path();
        let mut shell = false;
        if response.status() == StatusCode::NOT_FOUND && Path::new(path).extension().is_none() {
            // An app route such as /items/42: the app's shell handles it.
            let index = ServeFile::new(self.0.join("index.html"));
            response = answer(index, Request::from_parts(parts.clone(), Body::empty())).await;
            shell = true;
        }
        let status = response.status();
        let headers = response.headers_mut();
        let served = status.is_success() || status == StatusCode::NOT_MODIFIED;
        let cache = if served && !shell && path.starts_with(HASHED) { IMMUTABLE } else { NO_CACHE };
        headers.insert(header::CACHE_CONTROL, cache);
        if headers.get(header::CONTENT_TYPE).is_some_and(|t| t == "text/html") {
            headers
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
        }
        response
    }
}

/// What a file service answers; both of tower-http's answer every request.
async fn answer<S, B>(service: S, request: Request) -> Response
where
    S: tower::Service<Request, Response = axum::http::Response<B>, Error = Infallible>,
    B: axum::body::HttpBody<Data = axum::body::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    match service.oneshot(request).await {
        Ok(response) => response.map(Body::new),
        Err(never) => match never {},
    }
}
