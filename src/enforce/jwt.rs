//! JWT bearer tokens, as `/authz/check` verifies them with the `jsonwebtoken` crate (on
//! RustCrypto): a token is told from an API key by its shape, its unverified issuer and
//! consumer claim pick one credential, and then the credential's own key, algorithms,
//! issuer, audience, lifetime and clock skew decide. Nothing here trusts the token's header
//! beyond choosing among the algorithms the credential allows: `alg: none` is not an
//! algorithm to the crate, and a public key never verifies an HMAC (HS256) token.

use crate::domain::credentials::{JwtAlgorithm, KeyFamily};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};

/// Longer bearer values are not read as tokens.
pub const MAX_TOKEN: usize = 8_192;

/// Whether a bearer value has a JWT's shape: three base64url parts (the signature may be
/// empty), the first a JSON object (`eyJ` is the base64url of `{"`). A key never has it:
/// generated keys are `gck_…`, and a custom value would have to mimic a JWT exactly.
pub fn looks_like_jwt(v: &[u8]) -> bool {
    v.len() <= MAX_TOKEN
        && v.starts_with(b"eyJ")
        && v.iter().filter(|b| **b == b'.').count() == 2
        && v.iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// What a token says about itself before it is verified: its algorithm, and its claims
/// (to pick the credential by issuer and consumer claim). Used only to choose which
/// credential verifies it.
#[derive(Debug)]
pub struct Unverified {
    pub algorithm: Algorithm,
    /// The key ID its header names (`kid`), which picks the key of a JWKS.
    pub kid: Option<String>,
    /// The token's SHA-256, by which a verified token is remembered.
    pub hash: [u8; 32],
    pub issuer: String,
    pub claims: serde_json::Map<String, serde_json::Value>,
}

/// Reads a token's header and claims without verifying anything; none for a value that is
/// not a JWT, names an algorithm the crate does not know (`none` among them) or has no
/// string `iss`.
pub fn peek(token: &str) -> Option<Unverified> {
    let header = jsonwebtoken::decode_header(token).ok()?;
    let claims: serde_json::Map<String, serde_json::Value> =
        jsonwebtoken::dangerous::insecure_decode_claims(token).ok()?;
    let issuer = claims.get("iss")?.as_str()?.to_owned();
    Some(Unverified {
        algorithm: header.alg,
        kid: header.kid,
        hash: sha2::Digest::finalize(sha2::Digest::chain_update(
            <sha2::Sha256 as sha2::Digest>::new(),
            token.as_bytes(),
        ))
        .into(),
        issuer,
        claims,
    })
}

/// A claim's value as text: a string as it is, an integer in decimal; none otherwise.
pub fn claim_text<'a>(
    claims: &'a serde_json::Map<String, serde_json::Value>,
    name: &str,
) -> Option<std::borrow::Cow<'a, str>> {
    match claims.get(name)? {
        serde_json::Value::String(s) => Some(s.as_str().into()),
        serde_json::Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string().into()),
        _ => None,
    }
}

/// The crate's name for an algorithm.
pub fn algorithm(a: JwtAlgorithm) -> Algorithm {
    match a {
        JwtAlgorithm::RS256 => Algorithm::RS256,
        JwtAlgorithm::RS384 => Algorithm::RS384,
        JwtAlgorithm::RS512 => Algorithm::RS512,
        JwtAlgorithm::ES256 => Algorithm::ES256,
        JwtAlgorithm::ES384 => Algorithm::ES384,
        JwtAlgorithm::EdDSA => Algorithm::EdDSA,
        JwtAlgorithm::HS256 => Algorithm::HS256,
    }
}

/// A public key (PEM, or one JWK as JSON) for algorithms of `family`; why not otherwise.
pub fn public_key(text: &str, family: KeyFamily) -> Result<DecodingKey, String> {
    let text = text.trim();
    if text.len() > 16_384 {
        return Err("The public key is at most 16,384 characters.".into());
    }
    let wrong_kind = || {
        format!(
            "This key is not {} key.",
            match family {
                KeyFamily::Rsa => "an RSA",
                KeyFamily::Ec => "an EC (P-256 or P-384)",
                KeyFamily::Ed => "an Ed25519",
                KeyFamily::Hmac => "a public",
            }
        )
    };
    if text.starts_with('{') {
        let jwk: Jwk = serde_json::from_str(text)
            .map_err(|_| "The JWK is not a JSON Web Key (RFC 7517).".to_owned())?;
        let key = DecodingKey::from_jwk(&jwk)
            .map_err(|_| "The JWK is not a usable public key.".to_owned())?;
        let same = matches!(
            (key.family(), family),
            (jsonwebtoken::AlgorithmFamily::Rsa, KeyFamily::Rsa)
                | (jsonwebtoken::AlgorithmFamily::Ec, KeyFamily::Ec)
                | (jsonwebtoken::AlgorithmFamily::Ed, KeyFamily::Ed)
        );
        return if same { Ok(key) } else { Err(wrong_kind()) };
    }
    if !text.starts_with("-----BEGIN ") || text.contains("PRIVATE KEY") {
        return Err(
            "Give the public key as PEM (-----BEGIN PUBLIC KEY-----) or as one JWK; never a private key."
                .into(),
        );
    }
    let pem = text.as_bytes();
    match family {
        KeyFamily::Rsa => DecodingKey::from_rsa_pem(pem),
        KeyFamily::Ec => DecodingKey::from_ec_pem(pem),
        KeyFamily::Ed => DecodingKey::from_ed_pem(pem),
        KeyFamily::Hmac => return Err(wrong_kind()),
    }
    .map_err(|_| wrong_kind())
}

/// What a token must satisfy besides its signature.
pub struct Policy<'a> {
    pub algorithms: &'a [Algorithm],
    pub issuer: &'a str,
    pub audience: Option<&'a str>,
    pub max_lifetime_secs: i64,
    pub clock_skew_secs: i64,
}

/// Whether `token` verifies with `key` under `policy` at `now_secs`: an allowed algorithm,
/// the signature, the issuer, the audience when one is set, `exp` (required) and `nbf`
/// within the clock skew, an `iat` not in the future, and a lifetime (`exp` − `iat`, or
/// `exp` − now without `iat`) of at most the credential's longest.
pub fn verify(token: &str, key: &DecodingKey, policy: &Policy<'_>, now_secs: i64) -> bool {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.algorithms = policy.algorithms.to_vec();
    validation.leeway = policy.clock_skew_secs.max(0) as u64;
    validation.validate_exp = true;
    validation.validate_nbf = true;
    validation.set_issuer(&[policy.issuer]);
    match policy.audience {
        Some(aud) => {
            // Required, not only checked when present: the crate passes a token without one.
            validation.set_required_spec_claims(&["exp", "iss", "aud"]);
            validation.set_audience(&[aud]);
        }
        None => {
            validation.set_required_spec_claims(&["exp", "iss"]);
            validation.validate_aud = false;
        }
    }
    let Ok(data) =
        jsonwebtoken::decode::<serde_json::Map<String, serde_json::Value>>(token, key, &validation)
    else {
        return false;
    };
    let number = |name: &str| data.claims.get(name).and_then(serde_json::Value::as_i64);
    let Some(exp) = number("exp") else {
        return false;
    };
    let iat = match data.claims.get("iat") {
        None => None,
        Some(v) => match v.as_i64() {
            Some(iat) => Some(iat),
            None => return false,
        },
    };
    if iat.is_some_and(|iat| iat > now_secs + policy.clock_skew_secs) {
        return false;
    }
    let from = iat.unwrap_or(now_secs);
    exp.saturating_sub(from) <= policy.max_lifetime_secs
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{encode, EncodingKey, Header};
    use serde_json::json;

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(format!("tests/fixtures/jwt/{name}")).unwrap()
    }

    fn token(alg: Algorithm, key: &EncodingKey, claims: serde_json::Value) -> String {
        encode(&Header::new(alg), &claims, key).unwrap()
    }

    fn policy(algorithms: &[Algorithm]) -> Policy<'_> {
        Policy {
            algorithms,
            issuer: "https://idp.example",
            audience: Some("gateway"),
            max_lifetime_secs: 3_600,
            clock_skew_secs: 60,
        }
    }

    fn now() -> i64 {
        jsonwebtoken::get_current_timestamp() as i64
    }

    #[test]
    fn a_token_is_told_from_a_key_by_its_shape() {
        assert!(looks_like_jwt(b"eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJ4In0.c2ln"));
        assert!(looks_like_jwt(b"eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0."));
        assert!(!looks_like_jwt(
            b"gck_abcdefghijklmnopqrstuvwxyz0123456789ABCD"
        ));
        assert!(!looks_like_jwt(b"eyJ.only-one-dot"));
        assert!(!looks_like_jwt(b"eyJa.b.c.d"));
        assert!(!looks_like_jwt(b"eyJa.b c.d"));
    }

    #[test]
    fn each_kind_of_public_key_verifies_its_own_tokens_only() {
        let t = now();
        let claims = json!({"iss": "https://idp.example", "aud": "gateway", "sub": "alice", "iat": t, "exp": t + 600});
        for (private, public, alg, family) in [
            (
                "es256-private.pem",
                "es256-public.pem",
                Algorithm::ES256,
                KeyFamily::Ec,
            ),
            (
                "rs256-private.pem",
                "rs256-public.pem",
                Algorithm::RS256,
                KeyFamily::Rsa,
            ),
            (
                "ed25519-private.pem",
                "ed25519-public.pem",
                Algorithm::EdDSA,
                KeyFamily::Ed,
            ),
        ] {
            let signing = match family {
                KeyFamily::Ec => EncodingKey::from_ec_pem(fixture(private).as_bytes()),
                KeyFamily::Rsa => EncodingKey::from_rsa_pem(fixture(private).as_bytes()),
                _ => EncodingKey::from_ed_pem(fixture(private).as_bytes()),
            }
            .unwrap();
            let key = public_key(&fixture(public), family).unwrap();
            let good = token(alg, &signing, claims.clone());
            assert!(verify(&good, &key, &policy(&[alg]), t), "{alg:?}");
            // Another algorithm than the credential allows, a tampered payload.
            assert!(
                !verify(&good, &key, &policy(&[Algorithm::RS512]), t),
                "{alg:?}"
            );
            let mut parts: Vec<&str> = good.split('.').collect();
            let forged = token(
                Algorithm::HS256,
                &EncodingKey::from_secret(b"x").unwrap(),
                json!({"iss": "https://idp.example", "aud": "gateway", "sub": "mallory", "exp": t + 60}),
            );
            parts[1] = forged.split('.').nth(1).unwrap();
            assert!(
                !verify(&parts.join("."), &key, &policy(&[alg]), t),
                "{alg:?}"
            );
            // A private key or the wrong kind is refused when the credential is made.
            assert!(public_key(&fixture(private), family).is_err());
        }
        assert!(public_key(&fixture("es256-public.pem"), KeyFamily::Rsa).is_err());
        assert!(public_key("not a key", KeyFamily::Ec).is_err());
    }

    #[test]
    fn algorithm_confusion_and_none_are_refused() {
        let t = now();
        let public = fixture("rs256-public.pem");
        let key = public_key(&public, KeyFamily::Rsa).unwrap();
        // HS256 signed with the public key's text as the secret: the classic forgery.
        let claims =
            json!({"iss": "https://idp.example", "aud": "gateway", "sub": "alice", "exp": t + 60});
        let confused = token(
            Algorithm::HS256,
            &EncodingKey::from_secret(public.as_bytes()).unwrap(),
            claims.clone(),
        );
        assert!(!verify(&confused, &key, &policy(&[Algorithm::RS256]), t));
        // Even a credential that listed HS256 beside RS256 (the domain refuses that) does not
        // verify it with an RSA key: the crate will not use an RSA key for HMAC.
        assert!(!verify(
            &confused,
            &key,
            &policy(&[Algorithm::RS256, Algorithm::HS256]),
            t
        ));
        // `alg: none` is not an algorithm: such a token does not even peek.
        let header = base64_url(br#"{"alg":"none","typ":"JWT"}"#);
        let payload = base64_url(claims.to_string().as_bytes());
        assert!(peek(&format!("{header}.{payload}.")).is_none());
    }

    fn base64_url(bytes: &[u8]) -> String {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    #[test]
    fn issuer_audience_and_times_are_held_to_the_credential() {
        let secret = EncodingKey::from_secret(b"gcjs_secret").unwrap();
        let key = DecodingKey::from_secret(b"gcjs_secret").unwrap();
        let hs = [Algorithm::HS256];
        let p = policy(&hs);
        let real = now();
        let ok = |claims: serde_json::Value| {
            verify(&token(Algorithm::HS256, &secret, claims), &key, &p, real)
        };
        let base = |f: &dyn Fn(&mut serde_json::Map<String, serde_json::Value>)| {
            let mut c = json!({"iss": "https://idp.example", "aud": "gateway", "sub": "alice", "iat": real, "exp": real + 600});
            f(c.as_object_mut().unwrap());
            c
        };
        assert!(ok(base(&|_| {})));
        assert!(
            !ok(base(&|c| {
                c.insert("iss".into(), json!("https://other.example"));
            })),
            "issuer"
        );
        assert!(
            !ok(base(&|c| {
                c.insert("aud".into(), json!("elsewhere"));
            })),
            "audience"
        );
        assert!(
            !ok(base(&|c| {
                c.remove("aud");
            })),
            "no audience"
        );
        assert!(
            !ok(base(&|c| {
                c.remove("exp");
            })),
            "no exp"
        );
        assert!(
            !ok(base(&|c| {
                c.insert("exp".into(), json!(real - 61));
            })),
            "expired beyond the skew"
        );
        assert!(
            ok(base(&|c| {
                c.insert("exp".into(), json!(real - 30));
            })),
            "expired within the skew"
        );
        assert!(
            !ok(base(&|c| {
                c.insert("nbf".into(), json!(real + 61));
            })),
            "not yet valid"
        );
        assert!(
            !ok(base(&|c| {
                c.insert("iat".into(), json!(real + 61));
            })),
            "issued in the future"
        );
        assert!(
            !ok(base(&|c| {
                c.insert("exp".into(), json!(real + 3_601));
                c.remove("iat");
            })),
            "too long a life left"
        );
        assert!(
            !ok(base(&|c| {
                c.insert("iat".into(), json!(real - 10));
                c.insert("exp".into(), json!(real + 3_591));
            })),
            "too long a lifetime"
        );
        assert!(
            !ok(base(&|c| {
                c.insert("iat".into(), json!("yesterday"));
            })),
            "a malformed iat"
        );
    }

    #[test]
    fn the_claims_that_pick_a_credential_are_read_before_verifying() {
        let secret = EncodingKey::from_secret(b"s").unwrap();
        let t = token(
            Algorithm::HS256,
            &secret,
            json!({"iss": "i", "sub": "alice", "tenant": 42, "exp": 1}),
        );
        let u = peek(&t).unwrap();
        assert_eq!(u.issuer, "i");
        assert_eq!(u.algorithm, Algorithm::HS256);
        assert_eq!(claim_text(&u.claims, "sub").as_deref(), Some("alice"));
        assert_eq!(claim_text(&u.claims, "tenant").as_deref(), Some("42"));
        assert_eq!(claim_text(&u.claims, "missing"), None);
        let no_iss = token(Algorithm::HS256, &secret, json!({"sub": "alice", "exp": 1}));
        assert!(peek(&no_iss).is_none());
    }
}
