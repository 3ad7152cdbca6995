//! Who is calling: JWT HS256 bearer tokens with `sub`, `tenant`, `scopes` and `exp`, or local
//! mode without a secret, where everything belongs to the tenant `default`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::error::ApiError;

/// The tenant of local mode.
pub const LOCAL_TENANT: &str = "default";

/// What a token may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Read the log, streams, views and subscriptions.
    Read,
    /// Push commands.
    Write,
    /// Append raw events.
    Admin,
}

/// A token's claims.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The subject: who is calling.
    pub sub: String,
    /// The tenant whose data the token reaches.
    pub tenant: String,
    /// What it may do.
    pub scopes: Vec<Scope>,
    /// Expiry, seconds since the Unix epoch.
    pub exp: i64,
}

/// The authenticated caller of a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// The subject, recorded as the actor of its commands.
    pub sub: String,
    /// The tenant whose data it reaches.
    pub tenant: String,
    scopes: Vec<Scope>,
}

impl Caller {
    /// The caller of local mode: tenant `default`, every scope.
    pub fn local() -> Self {
        Caller {
            sub: "local".to_owned(),
            tenant: LOCAL_TENANT.to_owned(),
            scopes: vec![Scope::Read, Scope::Write, Scope::Admin],
        }
    }

    /// Refuses the request unless the caller holds `scope`.
    pub fn require(&self, scope: Scope) -> Result<(), ApiError> {
        if self.scopes.contains(&scope) {
            Ok(())
        } else {
            let scope = serde_json::to_value(scope).unwrap_or_default();
            Err(ApiError::Forbidden(format!("This needs the {scope} scope.")))
        }
    }
}

/// Verifies and mints tokens with one shared secret.
#[derive(Clone)]
pub struct Keys {
    secret: Vec<u8>,
}

type HmacSha256 = Hmac<Sha256>;

const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

impl Keys {
    /// Keys for `secret`.
    pub fn new(secret: &str) -> Self {
        Keys { secret: secret.as_bytes().to_vec() }
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC accepts keys of any length.
        match HmacSha256::new_from_slice(&self.secret) {
            Ok(mac) => mac,
            Err(_) => unreachable!("HMAC takes a key of any length"),
        }
    }

    /// A signed token carrying `claims`.
    pub fn mint(&self, claims: &Claims) -> String {
        let header = URL_SAFE_NO_PAD.encode(HEADER);
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default());
        let signing_input = format!("{header}.{payload}");
        let mut mac = self.mac();
        mac.update(signing_input.as_bytes());
        let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{signing_input}.{signature}")
    }

    /// The caller a token names, if its signature holds and it has not expired at `now`
    /// (seconds since the epoch).
    pub fn verify(&self, token: &str, now: i64) -> Result<Caller, ApiError> {
        let invalid = |why: &str| ApiError::Unauthorized(format!("The token is not valid: {why}."));
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid("it is not a JWT"));
        };
        let header: serde_json::Value = URL_SAFE_NO_PAD
            .decode(header)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or_else(|| invalid("its header is unreadable"))?;
        if header.get("alg").and_then(|alg| alg.as_str()) != Some("HS256") {
            return Err(invalid("only HS256 is accepted"));
        }
        let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| invalid("bad signature"))?;
        let mut mac = self.mac();
        mac.update(&token.as_bytes()[..header_len(token)]);
        mac.verify_slice(&signature).map_err(|_| invalid("bad signature"))?;
        let claims: Claims = URL_SAFE_NO_PAD
            .decode(payload)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or_else(|| invalid("its claims are unreadable"))?;
        if claims.exp <= now {
            return Err(ApiError::Unauthorized("The token has expired.".to_owned()));
        }
        let tenant_ok = (1..=100).contains(&claims.tenant.len())
            && !claims.tenant.chars().any(char::is_control);
        if !tenant_ok {
            return Err(invalid("its tenant must be 1 to 100 characters, none of them control"));
        }
        Ok(Caller { sub: claims.sub, tenant: claims.tenant, scopes: claims.scopes })
    }
}

/// The length of `header.payload`, the signed part of a token.
fn header_len(token: &str) -> usize {
    token.rfind('.').unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: i64) -> Claims {
        Claims { sub: "ann".into(), tenant: "north".into(), scopes: vec![Scope::Read], exp }
    }

    #[test]
    fn a_minted_token_verifies_until_it_expires() {
        let keys = Keys::new("secret");
        let token = keys.mint(&claims(100));
        let caller = keys.verify(&token, 99).expect("valid");
        assert_eq!((caller.sub.as_str(), caller.tenant.as_str()), ("ann", "north"));
        assert!(caller.require(Scope::Read).is_ok());
        assert!(caller.require(Scope::Write).is_err());
        assert!(matches!(keys.verify(&token, 100), Err(ApiError::Unauthorized(_))));
    }

    #[test]
    fn a_token_signed_with_another_secret_is_refused() {
        let token = Keys::new("other").mint(&claims(100));
        assert!(matches!(Keys::new("secret").verify(&token, 1), Err(ApiError::Unauthorized(_))));
    }

    #[test]
    fn a_token_with_altered_claims_is_refused() {
        let keys = Keys::new("secret");
        let token = keys.mint(&claims(100));
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = URL_SAFE_NO_PAD.encode(
            serde_json::to_vec(&Claims { tenant: "south".into(), ..claims(100) })
                .unwrap_or_default(),
        );
        parts[1] = &forged;
        assert!(keys.verify(&parts.join("."), 1).is_err());
        assert!(keys.verify("not-a-token", 1).is_err());
    }
}
