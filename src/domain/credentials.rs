//! Credentials beyond API keys (issue 16; not yet stored or offered by the console): the
//! authentication methods, and the values of a JWT or HMAC (AK/SK) credential, validated
//! here so that the console's Add Credential dialog and the server refuse the same values
//! with the same words. Errors name the field (`Issuer`, `Algorithms`, …).

use serde::{Deserialize, Serialize};

/// How a consumer proves who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum CredentialMethod {
    ApiKey,
    Jwt,
    Hmac,
}

impl CredentialMethod {
    pub const ALL: [CredentialMethod; 3] = [
        CredentialMethod::ApiKey,
        CredentialMethod::Jwt,
        CredentialMethod::Hmac,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CredentialMethod::ApiKey => "ApiKey",
            CredentialMethod::Jwt => "Jwt",
            CredentialMethod::Hmac => "Hmac",
        }
    }

    pub fn parse(s: &str) -> Option<CredentialMethod> {
        CredentialMethod::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// The seed's wording ("such as API Key").
    pub fn label(self) -> &'static str {
        match self {
            CredentialMethod::ApiKey => "API Key",
            CredentialMethod::Jwt => "JWT",
            CredentialMethod::Hmac => "HMAC (AK/SK)",
        }
    }
}

/// The signature algorithms a JWT credential may allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum JwtAlgorithm {
    RS256,
    RS384,
    RS512,
    ES256,
    ES384,
    EdDSA,
    HS256,
}

/// What kind of key verifies an algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyFamily {
    Rsa,
    Ec,
    Ed,
    /// A shared secret.
    Hmac,
}

impl JwtAlgorithm {
    pub const ALL: [JwtAlgorithm; 7] = [
        JwtAlgorithm::RS256,
        JwtAlgorithm::RS384,
        JwtAlgorithm::RS512,
        JwtAlgorithm::ES256,
        JwtAlgorithm::ES384,
        JwtAlgorithm::EdDSA,
        JwtAlgorithm::HS256,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JwtAlgorithm::RS256 => "RS256",
            JwtAlgorithm::RS384 => "RS384",
            JwtAlgorithm::RS512 => "RS512",
            JwtAlgorithm::ES256 => "ES256",
            JwtAlgorithm::ES384 => "ES384",
            JwtAlgorithm::EdDSA => "EdDSA",
            JwtAlgorithm::HS256 => "HS256",
        }
    }

    /// Exactly as JOSE names it (`alg` is case-sensitive: `none`, `hs256` are not algorithms).
    pub fn parse(s: &str) -> Option<JwtAlgorithm> {
        JwtAlgorithm::ALL.into_iter().find(|a| a.as_str() == s)
    }

    pub fn family(self) -> KeyFamily {
        match self {
            JwtAlgorithm::RS256 | JwtAlgorithm::RS384 | JwtAlgorithm::RS512 => KeyFamily::Rsa,
            JwtAlgorithm::ES256 | JwtAlgorithm::ES384 => KeyFamily::Ec,
            JwtAlgorithm::EdDSA => KeyFamily::Ed,
            JwtAlgorithm::HS256 => KeyFamily::Hmac,
        }
    }
}

/// Where a JWT credential's verification key comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum JwtKeySource {
    /// A public key given as PEM or JWK.
    #[default]
    PublicKey,
    /// A JWKS document the server fetches and refreshes.
    JwksUrl,
    /// An HS256 secret the server generates and shows once.
    GeneratedSecret,
}

/// The longest a JWT credential may let a token live (`exp` − `iat`), in seconds: 30 days.
pub const MAX_TOKEN_LIFETIME_SECS: i64 = 30 * 86_400;
/// The default longest token lifetime: a day.
pub const DEFAULT_TOKEN_LIFETIME_SECS: i64 = 86_400;
/// The most clock skew a credential may allow, in seconds.
pub const MAX_CLOCK_SKEW_SECS: i64 = 300;
/// A JWT credential's default clock skew, in seconds.
pub const DEFAULT_JWT_CLOCK_SKEW_SECS: i64 = 60;
/// An HMAC credential's default clock skew (APISIX's), in seconds.
pub const DEFAULT_HMAC_CLOCK_SKEW_SECS: i64 = 300;
/// How often a JWKS URL may be fetched again, in seconds: from a minute to a day.
pub const JWKS_REFRESH_SECS: std::ops::RangeInclusive<i64> = 60..=86_400;
/// A JWKS URL's default refresh interval, in seconds.
pub const DEFAULT_JWKS_REFRESH_SECS: i64 = 300;
/// The claim that names the consumer by default.
pub const DEFAULT_CONSUMER_CLAIM: &str = "sub";

/// A JWT credential's settings, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtValues {
    pub issuer: String,
    /// The claim whose value names the consumer (`sub` by default).
    pub consumer_claim: String,
    /// The value that claim must have; none means the consumer's name.
    pub subject: Option<String>,
    pub audience: Option<String>,
    pub algorithms: Vec<JwtAlgorithm>,
    pub max_lifetime_secs: i64,
    pub clock_skew_secs: i64,
}

/// What a caller asked for, as the dialog and the REST body give it.
#[derive(Debug, Clone, Default)]
pub struct JwtInput<'a> {
    pub issuer: &'a str,
    pub consumer_claim: &'a str,
    pub subject: &'a str,
    pub audience: &'a str,
    pub algorithms: &'a [String],
    pub max_lifetime_secs: Option<i64>,
    pub clock_skew_secs: Option<i64>,
}

type FieldError = (&'static str, String);

/// Free text of at most `max` characters without control characters, trimmed; empty is None.
fn text(
    field: &'static str,
    what: &str,
    s: &str,
    max: usize,
) -> Result<Option<String>, FieldError> {
    let s = s.trim();
    if s.chars().count() > max || s.chars().any(char::is_control) {
        return Err((
            field,
            format!("{what} is at most {max} characters, without control characters."),
        ));
    }
    Ok((!s.is_empty()).then(|| s.to_owned()))
}

fn seconds(
    field: &'static str,
    what: &str,
    v: Option<i64>,
    range: std::ops::RangeInclusive<i64>,
    default: i64,
) -> Result<i64, FieldError> {
    match v {
        None => Ok(default),
        Some(n) if range.contains(&n) => Ok(n),
        Some(_) => Err((
            field,
            format!(
                "{what} is a whole number of seconds from {} to {}.",
                range.start(),
                range.end()
            ),
        )),
    }
}

impl JwtValues {
    /// Checks a JWT credential's settings for a key from `source`. A shared secret allows
    /// HS256 only, and a public key or JWKS never does: a public key accepted as an HMAC
    /// secret is the classic algorithm-confusion forgery.
    pub fn parse(input: &JwtInput<'_>, source: JwtKeySource) -> Result<JwtValues, FieldError> {
        let issuer = text("Issuer", "The issuer", input.issuer, 256)?.ok_or((
            "Issuer",
            "Give the issuer (the tokens' iss claim).".to_owned(),
        ))?;
        let consumer_claim =
            match input.consumer_claim.trim() {
                "" => DEFAULT_CONSUMER_CLAIM.to_owned(),
                c if c.len() <= 64
                    && c.bytes().all(|b| {
                        b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':')
                    }) =>
                {
                    c.to_owned()
                }
                _ => return Err((
                    "ConsumerClaim",
                    "The consumer claim is a claim name of at most 64 letters, digits, _ - . or :."
                        .to_owned(),
                )),
            };
        let subject = text("Subject", "The subject", input.subject, 256)?;
        let audience = text("Audience", "The audience", input.audience, 256)?;
        let mut algorithms = Vec::new();
        for name in input.algorithms {
            let a = JwtAlgorithm::parse(name.trim()).ok_or_else(|| {
                (
                    "Algorithms",
                    format!(
                        "{:?} is not an algorithm this console verifies (RS256, RS384, RS512, ES256, ES384, EdDSA, HS256).",
                        name.trim()
                    ),
                )
            })?;
            if !algorithms.contains(&a) {
                algorithms.push(a);
            }
        }
        if algorithms.is_empty() {
            algorithms.push(match source {
                JwtKeySource::GeneratedSecret => JwtAlgorithm::HS256,
                _ => JwtAlgorithm::RS256,
            });
        }
        let shared = algorithms.iter().any(|a| a.family() == KeyFamily::Hmac);
        match source {
            JwtKeySource::GeneratedSecret if algorithms != [JwtAlgorithm::HS256] => {
                return Err((
                    "Algorithms",
                    "A generated secret verifies HS256 only.".to_owned(),
                ))
            }
            JwtKeySource::PublicKey | JwtKeySource::JwksUrl if shared => {
                return Err((
                    "Algorithms",
                    "A public key never verifies HS256: allow RS, ES or EdDSA algorithms."
                        .to_owned(),
                ))
            }
            JwtKeySource::PublicKey
                if algorithms
                    .iter()
                    .any(|a| a.family() != algorithms[0].family()) =>
            {
                return Err((
                    "Algorithms",
                    "One public key verifies algorithms of its own kind only (RS…, ES… or EdDSA)."
                        .to_owned(),
                ))
            }
            _ => {}
        }
        Ok(JwtValues {
            issuer,
            consumer_claim,
            subject,
            audience,
            algorithms,
            max_lifetime_secs: seconds(
                "MaxLifetime",
                "The longest token lifetime",
                input.max_lifetime_secs,
                1..=MAX_TOKEN_LIFETIME_SECS,
                DEFAULT_TOKEN_LIFETIME_SECS,
            )?,
            clock_skew_secs: seconds(
                "ClockSkew",
                "The clock skew",
                input.clock_skew_secs,
                0..=MAX_CLOCK_SKEW_SECS,
                DEFAULT_JWT_CLOCK_SKEW_SECS,
            )?,
        })
    }
}

/// Checks a JWKS URL and its refresh interval: `https://` (or `http://` to this machine, for
/// a local identity provider), at most 2,048 characters.
pub fn jwks_url(url: &str, refresh_secs: Option<i64>) -> Result<(String, i64), FieldError> {
    let url = url.trim();
    let bad = || {
        (
            "JwksUrl",
            "The JWKS URL is an https:// URL (http:// only to localhost) of at most 2,048 characters."
                .to_owned(),
        )
    };
    let rest = if let Some(rest) = url.strip_prefix("https://") {
        rest
    } else if let Some(rest) = url.strip_prefix("http://") {
        let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let host = if host.ends_with(']') {
            host
        } else {
            host.rsplit_once(':').map_or(host, |(h, _)| h)
        };
        if !matches!(host, "localhost" | "127.0.0.1" | "[::1]") {
            return Err(bad());
        }
        rest
    } else {
        return Err(bad());
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if url.len() > 2048
        || authority.is_empty()
        || authority.contains('@')
        || url.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        return Err(bad());
    }
    let refresh = seconds(
        "JwksRefresh",
        "The JWKS refresh interval",
        refresh_secs,
        JWKS_REFRESH_SECS,
        DEFAULT_JWKS_REFRESH_SECS,
    )?;
    Ok((url.to_owned(), refresh))
}

/// The HMAC algorithms an AK/SK credential may sign with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum HmacAlgorithm {
    #[default]
    #[serde(rename = "hmac-sha256")]
    Sha256,
    #[serde(rename = "hmac-sha512")]
    Sha512,
}

impl HmacAlgorithm {
    pub fn parse(name: &str) -> Option<HmacAlgorithm> {
        match name {
            "hmac-sha256" => Some(HmacAlgorithm::Sha256),
            "hmac-sha512" => Some(HmacAlgorithm::Sha512),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            HmacAlgorithm::Sha256 => "hmac-sha256",
            HmacAlgorithm::Sha512 => "hmac-sha512",
        }
    }
}

/// The start of every generated access key ID (`gcak_` and 20 letters and digits).
pub const ACCESS_KEY_PREFIX: &str = "gcak_";
/// The start of every generated HMAC secret (`gcsk_` and 40 letters and digits, 238 bits).
pub const HMAC_SECRET_PREFIX: &str = "gcsk_";
#[cfg(feature = "ssr")]
const ACCESS_KEY_RANDOM_CHARS: usize = 20;

/// A fresh access key ID from the OS CSPRNG (it names the credential; it is not secret).
#[cfg(feature = "ssr")]
pub fn generate_access_key() -> String {
    use rand::{distributions::Alphanumeric, rngs::OsRng, Rng};
    let random: String = OsRng
        .sample_iter(&Alphanumeric)
        .take(ACCESS_KEY_RANDOM_CHARS)
        .map(char::from)
        .collect();
    format!("{ACCESS_KEY_PREFIX}{random}")
}

/// The start of every generated JWT (HS256) secret (`gcjs_` and 40 letters and digits).
pub const JWT_SECRET_PREFIX: &str = "gcjs_";

/// A fresh HS256 secret from the OS CSPRNG: what a token is signed with is its text.
#[cfg(feature = "ssr")]
pub fn generate_jwt_secret() -> String {
    crate::domain::keys::PlainApiKey::generate_with(JWT_SECRET_PREFIX)
        .expose()
        .to_owned()
}

/// A fresh HMAC secret from the OS CSPRNG: what a client signs with is its text.
#[cfg(feature = "ssr")]
pub fn generate_hmac_secret() -> String {
    crate::domain::keys::PlainApiKey::generate_with(HMAC_SECRET_PREFIX)
        .expose()
        .to_owned()
}

/// An HMAC credential's settings, validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HmacValues {
    pub algorithm: HmacAlgorithm,
    pub clock_skew_secs: i64,
}

impl HmacValues {
    /// Checks an HMAC credential's algorithm (empty: hmac-sha256) and clock skew (1 to 300
    /// seconds: a signed `Date` is required, so some skew must be allowed).
    pub fn parse(algorithm: &str, clock_skew_secs: Option<i64>) -> Result<HmacValues, FieldError> {
        let algorithm = match algorithm.trim() {
            "" => HmacAlgorithm::default(),
            a => HmacAlgorithm::parse(a).ok_or((
                "Algorithm",
                "The algorithm is hmac-sha256 or hmac-sha512.".to_owned(),
            ))?,
        };
        Ok(HmacValues {
            algorithm,
            clock_skew_secs: seconds(
                "ClockSkew",
                "The clock skew",
                clock_skew_secs,
                1..=MAX_CLOCK_SKEW_SECS,
                DEFAULT_HMAC_CLOCK_SKEW_SECS,
            )?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn algs(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    fn jwt(names: &[&str], source: JwtKeySource) -> Result<JwtValues, FieldError> {
        let algorithms = algs(names);
        JwtValues::parse(
            &JwtInput {
                issuer: "https://id.example.com/",
                algorithms: &algorithms,
                ..JwtInput::default()
            },
            source,
        )
    }

    #[test]
    fn defaults_fill_what_is_left_out() {
        let v = jwt(&[], JwtKeySource::JwksUrl).unwrap();
        assert_eq!(v.consumer_claim, "sub");
        assert_eq!(v.algorithms, [JwtAlgorithm::RS256]);
        assert_eq!(v.audience, None);
        assert_eq!((v.max_lifetime_secs, v.clock_skew_secs), (86_400, 60));
        assert_eq!(
            jwt(&[], JwtKeySource::GeneratedSecret).unwrap().algorithms,
            [JwtAlgorithm::HS256]
        );
        assert_eq!(
            HmacValues::parse("", None).unwrap(),
            HmacValues {
                algorithm: HmacAlgorithm::Sha256,
                clock_skew_secs: 300
            }
        );
    }

    #[test]
    fn algorithm_confusion_and_none_are_refused() {
        for (names, source) in [
            (&["HS256"][..], JwtKeySource::PublicKey),
            (&["RS256", "HS256"][..], JwtKeySource::JwksUrl),
            (&["RS256"][..], JwtKeySource::GeneratedSecret),
            (&["RS256", "ES256"][..], JwtKeySource::PublicKey),
        ] {
            assert_eq!(jwt(names, source).unwrap_err().0, "Algorithms", "{names:?}");
        }
        for name in ["none", "None", "hs256", "PS256", ""] {
            let e = jwt(&[name], JwtKeySource::JwksUrl);
            assert_eq!(e.unwrap_err().0, "Algorithms", "{name:?}");
        }
        // A JWKS may hold keys of several kinds.
        assert!(jwt(&["RS256", "ES256", "EdDSA", "RS256"], JwtKeySource::JwksUrl).is_ok());
    }

    #[test]
    fn bounds_are_enforced_with_the_field_named() {
        let input = |lifetime, skew| JwtInput {
            issuer: "iss",
            max_lifetime_secs: lifetime,
            clock_skew_secs: skew,
            ..JwtInput::default()
        };
        let parse = |i: JwtInput<'_>| JwtValues::parse(&i, JwtKeySource::JwksUrl).map(|_| ());
        assert_eq!(parse(input(Some(0), None)).unwrap_err().0, "MaxLifetime");
        assert_eq!(
            parse(input(Some(MAX_TOKEN_LIFETIME_SECS + 1), None))
                .unwrap_err()
                .0,
            "MaxLifetime"
        );
        assert_eq!(parse(input(None, Some(-1))).unwrap_err().0, "ClockSkew");
        assert_eq!(parse(input(None, Some(301))).unwrap_err().0, "ClockSkew");
        assert!(parse(input(Some(MAX_TOKEN_LIFETIME_SECS), Some(0))).is_ok());
        let no_issuer = JwtInput::default();
        assert_eq!(parse(no_issuer).unwrap_err().0, "Issuer");
        let bad_claim = JwtInput {
            issuer: "iss",
            consumer_claim: "a b",
            ..JwtInput::default()
        };
        assert_eq!(parse(bad_claim).unwrap_err().0, "ConsumerClaim");
        let long_audience = "a".repeat(257);
        let audience = JwtInput {
            issuer: "iss",
            audience: &long_audience,
            ..JwtInput::default()
        };
        assert_eq!(parse(audience).unwrap_err().0, "Audience");
        assert_eq!(
            HmacValues::parse("hmac-sha1", None).unwrap_err().0,
            "Algorithm"
        );
        assert_eq!(HmacValues::parse("", Some(0)).unwrap_err().0, "ClockSkew");
    }

    #[test]
    fn a_jwks_url_is_https_or_local_http() {
        assert_eq!(
            jwks_url(" https://id.example.com/.well-known/jwks.json ", None).unwrap(),
            (
                "https://id.example.com/.well-known/jwks.json".to_owned(),
                300
            )
        );
        assert!(jwks_url("http://localhost:8081/jwks", Some(60)).is_ok());
        assert!(jwks_url("http://127.0.0.1/jwks", None).is_ok());
        assert!(jwks_url("http://[::1]/jwks", None).is_ok());
        for bad in [
            "",
            "http://id.example.com/jwks",
            "ftp://id.example.com/jwks",
            "https://",
            "https://user@id.example.com/jwks",
            "https://id.example.com/a b",
            "http://localhost.evil.com/jwks",
        ] {
            assert_eq!(jwks_url(bad, None).unwrap_err().0, "JwksUrl", "{bad:?}");
        }
        assert_eq!(
            jwks_url("https://id.example.com/jwks", Some(59))
                .unwrap_err()
                .0,
            "JwksRefresh"
        );
    }

    #[test]
    fn methods_and_algorithms_read_back_what_they_write() {
        for m in CredentialMethod::ALL {
            assert_eq!(CredentialMethod::parse(m.as_str()), Some(m));
        }
        for a in JwtAlgorithm::ALL {
            assert_eq!(JwtAlgorithm::parse(a.as_str()), Some(a));
        }
        for a in [HmacAlgorithm::Sha256, HmacAlgorithm::Sha512] {
            assert_eq!(HmacAlgorithm::parse(a.as_str()), Some(a));
        }
    }

    proptest! {
        /// Any input is accepted within bounds or refused with a field named, never a panic;
        /// what is accepted never mixes a shared secret with a public key.
        #[test]
        fn any_jwt_input_is_checked(
            issuer in ".{0,300}",
            claim in ".{0,80}",
            audience in ".{0,300}",
            names in proptest::collection::vec("[A-Za-z0-9]{0,6}", 0..5),
            lifetime in proptest::option::of(any::<i64>()),
            skew in proptest::option::of(any::<i64>()),
            source in prop_oneof![
                Just(JwtKeySource::PublicKey),
                Just(JwtKeySource::JwksUrl),
                Just(JwtKeySource::GeneratedSecret)
            ],
        ) {
            let input = JwtInput {
                issuer: &issuer,
                consumer_claim: &claim,
                subject: &audience,
                audience: &audience,
                algorithms: &names,
                max_lifetime_secs: lifetime,
                clock_skew_secs: skew,
            };
            if let Ok(v) = JwtValues::parse(&input, source) {
                let shared = v.algorithms.contains(&JwtAlgorithm::HS256);
                prop_assert_eq!(shared, source == JwtKeySource::GeneratedSecret);
                prop_assert!(!v.issuer.is_empty() && v.issuer.chars().count() <= 256);
                prop_assert!((1..=MAX_TOKEN_LIFETIME_SECS).contains(&v.max_lifetime_secs));
                prop_assert!((0..=MAX_CLOCK_SKEW_SECS).contains(&v.clock_skew_secs));
            }
        }

        #[test]
        fn any_jwks_url_is_checked(url in ".{0,100}", refresh in proptest::option::of(any::<i64>())) {
            if let Ok((u, r)) = jwks_url(&url, refresh) {
                prop_assert!(u.starts_with("https://") || u.starts_with("http://"));
                prop_assert!(JWKS_REFRESH_SECS.contains(&r));
            }
        }
    }
}
