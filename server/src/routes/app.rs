//! The app's static files under `/`, with `index.html` for any path that is not a file.

use std::path::{Component, Path, PathBuf};

use axum::Router;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

/// Serves the files under `dir` for every path the API does not claim.
pub fn with_static(app: Router, dir: PathBuf) -> Router {
    app.fallback(move |uri: Uri| {
        let dir = dir.clone();
        async move { serve(&dir, uri.path()).await }
    })
}

async fn serve(dir: &Path, path: &str) -> Response {
    if path.starts_with("/v1/") {
        return super::no_route(path.parse().unwrap_or_default()).await.into_response();
    }
    let relative: PathBuf = Path::new(path.trim_start_matches('/'))
        .components()
        .filter(|c| matches!(c, Component::Normal(_)))
        .collect();
    let mut file = dir.join(&relative);
    if relative.as_os_str().is_empty() || file.is_dir() {
        file = dir.join("index.html");
    }
    let bytes = match tokio::fs::read(&file).await {
        Ok(bytes) => bytes,
        // An app route such as /items/42: the app's shell handles it.
        Err(_) if Path::new(path).extension().is_none() => {
            file = dir.join("index.html");
            match tokio::fs::read(&file).await {
                Ok(bytes) => bytes,
                Err(_) => return StatusCode::NOT_FOUND.into_response(),
            }
        }
        Err(_) => return StatusCode::NOT_FOUND.into_response(),
    };
    let cache = if file.ends_with("index.html") || file.ends_with("sw.js") {
        "no-cache"
    } else {
        "public, max-age=3600"
    };
    ([(header::CONTENT_TYPE, content_type(&file)), (header::CACHE_CONTROL, cache)], bytes)
        .into_response()
}

fn content_type(file: &Path) -> &'static str {
    match file.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript",
        "css" => "text/css",
        "wasm" => "application/wasm",
        "json" | "webmanifest" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        _ => "application/octet-stream",
    }
}
