//! Bearer tokens for apps served with a secret.

use crate::auth::{Claims, Keys, Scope};

/// A secret for apps with tokens in tests: `Keys::new(SECRET)` signs what [`token`] mints.
pub const SECRET: &str = "the secret the tests share";

/// Every scope.
pub const ALL_SCOPES: [Scope; 3] = [Scope::Read, Scope::Write, Scope::Admin];

/// Seconds since the epoch, as tokens count expiry.
pub fn now_seconds() -> i64 {
    crate::routes::now_millis() / 1000
}

/// A token signed with `secret` for `tenant` (subject `<tenant>-user`) with `scopes`,
/// expiring at `exp` (seconds since the epoch).
pub fn token_with(secret: &str, tenant: &str, scopes: &[Scope], exp: i64) -> String {
    let claims =
        Claims { sub: format!("{tenant}-user"), tenant: tenant.into(), scopes: scopes.into(), exp };
    Keys::new(secret).mint(&claims)
}

/// A token signed with [`SECRET`] for `tenant` with `scopes`, good for an hour.
pub fn token(tenant: &str, scopes: &[Scope]) -> String {
    token_with(SECRET, tenant, scopes, now_seconds() + 3600)
}
