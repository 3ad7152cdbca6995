//! Who is calling: JWT HS256 bearer tokens with `sub`, `tenant`, `scopes`, `exp` and an
//! optional `nbf`, or local mode without a secret, where everything belongs to the tenant
//! `default`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::error::ApiError;

/// The tenant of local mode.
pub const LOCAL_TENANT: &str = "default";

/// The fewest bytes a secret may have: HS256 signs with SHA-256, and a key shorter than its
/// 32-byte output is easier to guess than the signature is to forge (RFC 7518, section 3.2).
pub const MIN_SECRET_BYTES: usize = 32;

/// How far, in seconds, the clock of whoever minted a token may be from the server's: a
/// token is still accepted this long after its `exp`, and already this long before its
/// `nbf`. A minute covers the drift of clocks kept by NTP and the time a token spends in
/// flight, while adding little to a lifetime counted in hours (a day for `token`'s default).
pub const CLOCK_LEEWAY_SECONDS: i64 = 60;

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
    /// Expiry, seconds since the Unix epoch: the token is refused from then on (give or take
    /// [`CLOCK_LEEWAY_SECONDS`]).
    pub exp: i64,
    /// Not before, seconds since the Unix epoch: when present, the token is refused until
    /// then (give or take [`CLOCK_LEEWAY_SECONDS`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
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

/// Verifies and mints tokens with one shared secret of at least [`MIN_SECRET_BYTES`].
#[derive(Clone)]
pub struct Keys {
    secret: Vec<u8>,
}

/// A secret too short to sign tokens with: under [`MIN_SECRET_BYTES`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShortSecret {
    /// How many bytes it has.
    pub bytes: usize,
}

impl std::fmt::Display for ShortSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the secret has {} bytes, fewer than the {MIN_SECRET_BYTES} it needs: \
             make one with `openssl rand -base64 32`",
            self.bytes
        )
    }
}

impl std::error::Error for ShortSecret {}

type HmacSha256 = Hmac<Sha256>;

const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

impl Keys {
    /// Keys for `secret`, refused when it is shorter than [`MIN_SECRET_BYTES`].
    ///
    /// ```
    /// use annals_server::auth::Keys;
    ///
    /// assert!(Keys::new("hunter2").is_err());
    /// assert!(Keys::new(&"a long secret ".repeat(3)).is_ok());
    /// ```
    pub fn new(secret: &str) -> Result<Self, ShortSecret> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(ShortSecret { bytes: secret.len() });
        }
        Ok(Keys { secret: secret.as_bytes().to_vec() })
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

    /// The caller a token names, if its signature holds and it is valid at `now` (seconds
    /// since the epoch): not expired, and not before its `nbf`, each with a leeway of
    /// [`CLOCK_LEEWAY_SECONDS`].
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
        // The leeway goes on `now`'s side, which the server controls: a claim near the ends
        // of i64 cannot overflow.
        if claims.exp <= now.saturating_sub(CLOCK_LEEWAY_SECONDS) {
            return Err(ApiError::Unauthorized("The token has expired.".to_owned()));
        }
        if let Some(nbf) = claims.nbf
            && nbf > now.saturating_add(CLOCK_LEEWAY_SECONDS)
        {
            return Err(ApiError::Unauthorized(format!(
                "The token is not valid yet: its nbf is {nbf} and the server's clock reads \
                 {now} (seconds since the epoch)."
            )));
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

    const SECRET: &str = "a secret of thirty-two bytes, or more";

    fn claims(exp: i64) -> Claims {
        Claims {
            sub: "ann".into(),
            tenant: "north".into(),
            scopes: vec![Scope::Read],
            exp,
            nbf: None,
        }
    }

    fn keys() -> Keys {
        Keys::new(SECRET).expect("a long enough secret")
    }

    #[test]
    fn a_minted_token_verifies_until_it_expires_give_or_take_the_leeway() {
        let keys = keys();
        let token = keys.mint(&claims(100));
        let caller = keys.verify(&token, 99).expect("valid");
        assert_eq!((caller.sub.as_str(), caller.tenant.as_str()), ("ann", "north"));
        assert!(caller.require(Scope::Read).is_ok());
        assert!(caller.require(Scope::Write).is_err());
        assert!(keys.verify(&token, 100 + CLOCK_LEEWAY_SECONDS - 1).is_ok());
        let expired = keys.verify(&token, 100 + CLOCK_LEEWAY_SECONDS);
        assert!(matches!(expired, Err(ApiError::Unauthorized(_))));
    }

    #[test]
    fn a_token_is_refused_before_its_nbf_give_or_take_the_leeway() {
        let keys = keys();
        let token = keys.mint(&Claims { nbf: Some(1_000), ..claims(2_000) });
        let early = keys.verify(&token, 1_000 - CLOCK_LEEWAY_SECONDS - 1);
        assert!(matches!(&early, Err(ApiError::Unauthorized(m)) if m.contains("not valid yet")));
        assert!(keys.verify(&token, 1_000 - CLOCK_LEEWAY_SECONDS).is_ok());
        assert!(keys.verify(&token, 1_000).is_ok());
    }

    #[test]
    fn claims_at_the_ends_of_the_clock_do_not_overflow() {
        let keys = keys();
        let far = keys.mint(&Claims { nbf: Some(i64::MAX), ..claims(i64::MAX) });
        assert!(keys.verify(&far, i64::MAX).is_ok());
        assert!(keys.verify(&far, 0).is_err());
        let past = keys.mint(&Claims { nbf: Some(i64::MIN), ..claims(i64::MIN) });
        assert!(keys.verify(&past, i64::MIN).is_err());
    }

    #[test]
    fn nbf_is_left_out_of_a_token_without_it() {
        let token = keys().mint(&claims(100));
        let payload = token.split('.').nth(1).expect("a payload");
        let payload = URL_SAFE_NO_PAD.decode(payload).expect("base64");
        let payload: serde_json::Value = serde_json::from_slice(&payload).expect("JSON");
        assert_eq!(payload.get("nbf"), None, "{payload}");
    }

    #[test]
    fn a_secret_under_32_bytes_is_refused() {
        let short = "x".repeat(MIN_SECRET_BYTES - 1);
        let refused = Keys::new(&short).err().expect("refused");
        assert_eq!(refused, ShortSecret { bytes: 31 });
        assert!(refused.to_string().contains("openssl rand -base64 32"), "{refused}");
        assert!(Keys::new("").is_err());
        assert!(Keys::new(&"x".repeat(MIN_SECRET_BYTES)).is_ok());
    }

    #[test]
    fn a_token_signed_with_another_secret_is_refused() {
        let other = Keys::new("another secret of thirty-two bytes").expect("long enough");
        let token = other.mint(&claims(100));
        assert!(matches!(keys().verify(&token, 1), Err(ApiError::Unauthorized(_))));
    }

    #[test]
    fn a_token_with_altered_claims_is_refused() {
        let keys = keys();
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
