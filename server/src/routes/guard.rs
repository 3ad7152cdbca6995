//! What a web page may reach, checked before anything is decided or read.
//!
//! A browser lets any page the user visits send requests to a loopback address. Two checks
//! keep such pages out:
//! - **Host** (against DNS rebinding): in local mode only loopback names (`localhost`,
//!   `127.0.0.1` and the rest of 127/8, `[::1]`, with any port) and the names given with
//!   `--allowed-host` are served; a page whose own name was rebound to 127.0.0.1 sends its
//!   own name and is refused with 421. In token mode every name is served unless the
//!   operator names the public hosts with `--allowed-host`.
//! - **Origin** (against cross-site requests): a request that carries an `Origin` is served
//!   only when that origin is the server's own (its host is the request's `Host`) or one
//!   allowed with `--cors-origin`; otherwise 403 `forbidden_origin`, in both modes.
//!
//! Together with bodies being read only as `application/json` (see `Body`), a cross-site write
//! always needs a CORS preflight, which only allowed origins pass.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;
use crate::error::ApiError;

/// Refuses requests from hosts and origins this server does not serve.
pub async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    // A probe reveals no data and may come from a balancer with any Host.
    let probe = super::health::PROBES.contains(&request.uri().path());
    if let Err(error) = check(&state, request.headers(), probe) {
        return error.into_response();
    }
    next.run(request).await
}

fn check(state: &AppState, headers: &HeaderMap, probe: bool) -> Result<(), ApiError> {
    let host = match headers.get(header::HOST) {
        Some(value) => Some(value.to_str().map_err(|_| misdirected("a Host that is not text"))?),
        // Browsers always send one; a client that does not is not a web page.
        None => None,
    };
    if let Some(host) = host.filter(|_| !probe) {
        let name = host_name(host);
        let listed =
            state.limits.allowed_hosts.iter().any(|allowed| allowed.eq_ignore_ascii_case(name));
        let served = if state.keys.is_none() {
            listed || is_loopback(name)
        } else {
            listed || state.limits.allowed_hosts.is_empty()
        };
        if !served {
            return Err(misdirected(&format!("the host {host:?}")));
        }
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        let own = host.is_some_and(|host| {
            origin
                .strip_prefix("http://")
                .or_else(|| origin.strip_prefix("https://"))
                .is_some_and(|authority| authority.eq_ignore_ascii_case(host))
        });
        let allowed = state.limits.cors_origins.iter().any(|allowed| allowed == origin);
        if !own && !allowed {
            return Err(ApiError::ForbiddenOrigin(format!(
                "Requests from the origin {origin:?} are not accepted: only this server's own \
                 origin and those allowed with --cors-origin are."
            )));
        }
    }
    Ok(())
}

fn misdirected(what: &str) -> ApiError {
    ApiError::MisdirectedHost(format!(
        "This server does not answer to {what}: in local mode it serves loopback names only \
         (localhost, 127.0.0.1, [::1]); name others with --allowed-host."
    ))
}

/// The name in a Host header, without its port: `[::1]:8080` -> `[::1]`, `a.b:80` -> `a.b`.
fn host_name(host: &str) -> &str {
    let end = if host.starts_with('[') {
        host.find(']').map_or(host.len(), |close| close + 1)
    } else {
        host.rfind(':').unwrap_or(host.len())
    };
    &host[..end]
}

/// Whether a host name always means this machine: `localhost`, an IPv4 address in 127/8 or
/// `[::1]`. Such a name cannot be rebound by a DNS answer.
fn is_loopback(name: &str) -> bool {
    if name.eq_ignore_ascii_case("localhost") {
        return true;
    }
    if let Some(inner) = name.strip_prefix('[').and_then(|rest| rest.strip_suffix(']')) {
        return inner.parse::<std::net::Ipv6Addr>().is_ok_and(|ip| ip.is_loopback());
    }
    name.parse::<std::net::Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_lose_their_port_only() {
        for (host, name) in [
            ("localhost:8080", "localhost"),
            ("localhost", "localhost"),
            ("127.0.0.1:1", "127.0.0.1"),
            ("[::1]:8080", "[::1]"),
            ("[::1]", "[::1]"),
            ("evil.example:8080", "evil.example"),
        ] {
            assert_eq!(host_name(host), name, "{host}");
        }
    }

    #[test]
    fn only_names_that_always_mean_this_machine_are_loopback() {
        for name in ["localhost", "LOCALHOST", "127.0.0.1", "127.1.2.3", "[::1]"] {
            assert!(is_loopback(name), "{name}");
        }
        for name in
            ["evil.example", "localhost.evil.example", "10.0.0.1", "[::2]", "::1", "", "0.0.0.0"]
        {
            assert!(!is_loopback(name), "{name}");
        }
    }
}
