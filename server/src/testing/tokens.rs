//! Bearer tokens for apps served with a secret.

use crate::auth::{Claims, Keys, Scope};

/// A secret for apps with tokens in tests: [`keys`] are made of it, and they verify what
/// [`token`] mints.
pub const SECRET: &str = "the secret the tests share, 32 bytes or more";

/// Every scope.
pub const ALL_SCOPES: [Scope; 3] = [Scope::Read, Scope::Write, Scope::Admin];

/// Seconds since the epoch, as tokens count expiry.
pub fn now_seconds() -> i64 {
    crate::routes::now_millis() / 1000
}

/// The keys of [`SECRET`], for an app served with tokens.
pub fn keys() -> Keys {
    keys_of(SECRET)
}

fn keys_of(secret: &str) -> Keys {
    Keys::new(secret).unwrap_or_else(|err| panic!("a test secret: {err}"))
}

/// A token signed with `secret` (at least 32 bytes) for `tenant` (subject `<tenant>-user`)
/// with `scopes`, expiring at `exp` (seconds since the epoch).
pub fn token_with(secret: &str, tenant: &str, scopes: &[Scope], exp: i64) -> String {
    keys_of(secret).mint(&claims(tenant, scopes, exp, None))
}

/// Like [`token_with`], but valid only from `nbf` (its not-before claim, seconds since the
/// epoch) until `exp`.
pub fn token_between(secret: &str, tenant: &str, scopes: &[Scope], nbf: i64, exp: i64) -> String {
    keys_of(secret).mint(&claims(tenant, scopes, exp, Some(nbf)))
}

fn claims(tenant: &str, scopes: &[Scope], exp: i64, nbf: Option<i64>) -> Claims {
    let sub = format!("{tenant}-user");
    Claims { sub, tenant: tenant.into(), scopes: scopes.into(), exp, nbf }
}

/// A token signed with [`SECRET`] for `tenant` with `scopes`, good for an hour.
pub fn token(tenant: &str, scopes: &[Scope]) -> String {
    token_with(SECRET, tenant, scopes, now_seconds() + 3600)
}
