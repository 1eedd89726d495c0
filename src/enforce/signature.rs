//! HMAC (AK/SK) request signatures, as `/authz/check` verifies them: the `Authorization: Signature …` header of the HTTP Signatures
//! draft (draft-cavage-http-signatures), as APISIX's `hmac-auth` reads it, and the string
//! a client signs.
//!
//! ```text
//! Authorization: Signature keyId="AKID",algorithm="hmac-sha256",
//!                headers="@request-target date",signature="<base64 HMAC>"
//! ```
//!
//! The string to sign is the key ID, then one line per name of `headers` in its order —
//! `@request-target` as `METHOD /path?query`, any other as `name: value` (the name lower
//! case, as listed) — each line ended by `\n`. Stricter than APISIX in three ways, each a
//! refusal rather than a silent pass: `@request-target` and `date` must be signed (so a
//! signature covers what is asked and when), a listed header the request lacks refuses it
//! (APISIX leaves its line out), and a name listed twice refuses it. No body digest: behind
//! `auth_request` no body reaches the check.

pub use crate::domain::credentials::HmacAlgorithm;
use chrono::DateTime;
use hmac::{Hmac, Mac};

/// The longest `Authorization` value read (a signature header is well under 1 KiB).
pub const MAX_HEADER: usize = 4096;
/// At most this many signed headers.
pub const MAX_SIGNED: usize = 16;

/// Why a signature is refused. The check answers every one with the same 401; the reason is
/// for the log and the tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Not `Signature …`, too long, or a parameter that does not parse.
    Malformed,
    /// `keyId`, `algorithm`, `headers` or `signature` missing.
    Missing,
    UnknownAlgorithm,
    /// `@request-target` or `date` not among the signed headers, or a name twice.
    UnsignedRequirement,
    /// A signed header the request does not carry.
    AbsentHeader,
    /// The `Date` header is not an HTTP date.
    BadDate,
    /// The `Date` is further from now than the clock skew allows.
    Skewed,
    BadSignature,
}

/// The parameters of an `Authorization: Signature …` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeader<'a> {
    pub key_id: &'a str,
    pub algorithm: HmacAlgorithm,
    /// Lower case, in the order signed.
    pub headers: Vec<String>,
    pub signature: Vec<u8>,
}

/// Reads an `Authorization` value of the `Signature` scheme.
pub fn parse(authorization: &str) -> Result<SignatureHeader<'_>, Refusal> {
    if authorization.len() > MAX_HEADER {
        return Err(Refusal::Malformed);
    }
    let (scheme, params) = authorization.split_once(' ').ok_or(Refusal::Malformed)?;
    if !scheme.eq_ignore_ascii_case("Signature") {
        return Err(Refusal::Malformed);
    }
    let (mut key_id, mut algorithm, mut headers, mut signature) = (None, None, None, None);
    for param in params.split(',') {
        let (name, value) = param.trim().split_once('=').ok_or(Refusal::Malformed)?;
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .ok_or(Refusal::Malformed)?;
        if value.contains('"') {
            return Err(Refusal::Malformed);
        }
        let slot = match name {
            "keyId" => &mut key_id,
            "algorithm" => &mut algorithm,
            "headers" => &mut headers,
            "signature" => &mut signature,
            // Parameters of the draft this scheme does not use (`created`, `expires`) are
            // refused rather than ignored: a client that relies on them learns at once.
            _ => return Err(Refusal::Malformed),
        };
        if slot.replace(value).is_some() {
            return Err(Refusal::Malformed);
        }
    }
    let (Some(key_id), Some(algorithm), Some(headers), Some(signature)) =
        (key_id, algorithm, headers, signature)
    else {
        return Err(Refusal::Missing);
    };
    if key_id.is_empty() {
        return Err(Refusal::Missing);
    }
    let algorithm = HmacAlgorithm::parse(algorithm).ok_or(Refusal::UnknownAlgorithm)?;
    let headers: Vec<String> = headers
        .split(' ')
        .filter(|h| !h.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    if headers.len() > MAX_SIGNED {
        return Err(Refusal::Malformed);
    }
    for (i, h) in headers.iter().enumerate() {
        if headers[..i].contains(h) {
            return Err(Refusal::UnsignedRequirement);
        }
    }
    if !headers.iter().any(|h| h == "@request-target") || !headers.iter().any(|h| h == "date") {
        return Err(Refusal::UnsignedRequirement);
    }
    use base64::Engine as _;
    let signature = base64::engine::general_purpose::STANDARD
        .decode(signature)
        .map_err(|_| Refusal::Malformed)?;
    Ok(SignatureHeader {
        key_id,
        algorithm,
        headers,
        signature,
    })
}

/// The string the client signed: the key ID, then a line per signed header (see the module).
/// `header` gives a request header's value by its lower-case name.
pub fn signing_string<'h>(
    sig: &SignatureHeader<'_>,
    method: &str,
    target: &str,
    header: impl Fn(&str) -> Option<&'h str>,
) -> Result<String, Refusal> {
    let mut s = String::with_capacity(256);
    s.push_str(sig.key_id);
    s.push('\n');
    for name in &sig.headers {
        if name == "@request-target" {
            s.push_str(method);
            s.push(' ');
            s.push_str(target);
        } else {
            let value = header(name).ok_or(Refusal::AbsentHeader)?;
            s.push_str(name);
            s.push_str(": ");
            s.push_str(value.trim());
        }
        s.push('\n');
    }
    Ok(s)
}

/// The MAC of `message` with `secret`, ready to finalize or compare.
fn mac<M: Mac + hmac::digest::KeyInit>(secret: &[u8], message: &[u8]) -> M {
    let mut mac = <M as hmac::digest::KeyInit>::new_from_slice(secret)
        .expect("HMAC takes a key of any length");
    mac.update(message);
    mac
}

/// The signature of `message` with `secret`.
pub fn sign(algorithm: HmacAlgorithm, secret: &[u8], message: &[u8]) -> Vec<u8> {
    match algorithm {
        HmacAlgorithm::Sha256 => mac::<Hmac<sha2::Sha256>>(secret, message)
            .finalize()
            .into_bytes()
            .to_vec(),
        HmacAlgorithm::Sha512 => mac::<Hmac<sha2::Sha512>>(secret, message)
            .finalize()
            .into_bytes()
            .to_vec(),
    }
}

/// Whether `signature` is that of `message` with `secret`, compared in constant time.
pub fn verify(algorithm: HmacAlgorithm, secret: &[u8], message: &[u8], signature: &[u8]) -> bool {
    match algorithm {
        HmacAlgorithm::Sha256 => mac::<Hmac<sha2::Sha256>>(secret, message).verify_slice(signature),
        HmacAlgorithm::Sha512 => mac::<Hmac<sha2::Sha512>>(secret, message).verify_slice(signature),
    }
    .is_ok()
}

/// Checks an HTTP `Date` (`Tue, 19 Jan 2021 11:33:20 GMT`) against `now_ms`: at most
/// `skew_secs` away on either side.
pub fn check_date(date: &str, now_ms: i64, skew_secs: i64) -> Result<(), Refusal> {
    let at = DateTime::parse_from_rfc2822(date.trim()).map_err(|_| Refusal::BadDate)?;
    let diff_ms = (at.timestamp_millis() - now_ms).abs();
    if diff_ms > skew_secs.saturating_mul(1000) {
        return Err(Refusal::Skewed);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use proptest::prelude::*;

    /// The README's worked example is what this module signs and verifies.
    #[test]
    fn the_readme_worked_example_verifies() {
        let key_id = "gcak_Q7bX2mK9pL4vR8sT1nW6";
        let secret = b"gcsk_3fZ8kP2qW7xN4mB9vC6tY1hJ5gD0sA8eR2uL7oK3";
        let date = "Tue, 01 Dec 2026 12:00:00 GMT";
        let readme = include_str!("../../README.md");
        let line = readme
            .lines()
            .find(|l| l.starts_with(&format!("Authorization: Signature keyId=\"{key_id}\"")))
            .expect("the example is in the README");
        let sig = parse(line.trim_start_matches("Authorization: ")).unwrap();
        let message = signing_string(&sig, "POST", "/v1/chat/completions?stream=true", |name| {
            (name == "date").then_some(date)
        })
        .unwrap();
        assert_eq!(
            message,
            format!("{key_id}\nPOST /v1/chat/completions?stream=true\ndate: {date}\n")
        );
        assert!(
            readme.contains(&format!("```\n{message}```")),
            "the README shows the string to sign"
        );
        assert!(verify(
            sig.algorithm,
            secret,
            message.as_bytes(),
            &sig.signature
        ));
    }

    const DATE: &str = "Tue, 19 Jan 2021 11:33:20 GMT";
    const DATE_MS: i64 = 1_611_056_000_000;

    fn b64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    fn header_of<'h>(pairs: &'h [(&'h str, &'h str)]) -> impl Fn(&str) -> Option<&'h str> {
        move |name| pairs.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
    }

    #[test]
    fn a_worked_example_signs_and_verifies_and_nothing_else_does() {
        let secret = b"my-secret-key";
        let headers = [("date", DATE), ("x-custom-a", "test")];
        let unsigned = SignatureHeader {
            key_id: "AKID-example",
            algorithm: HmacAlgorithm::Sha256,
            headers: vec!["@request-target".into(), "date".into(), "x-custom-a".into()],
            signature: vec![],
        };
        let s = signing_string(&unsigned, "GET", "/v1/chat?x=1", header_of(&headers)).unwrap();
        assert_eq!(
            s,
            "AKID-example\nGET /v1/chat?x=1\ndate: Tue, 19 Jan 2021 11:33:20 GMT\nx-custom-a: test\n"
        );
        let sig = sign(HmacAlgorithm::Sha256, secret, s.as_bytes());
        let auth = format!(
            "Signature keyId=\"AKID-example\",algorithm=\"hmac-sha256\",headers=\"@request-target date x-custom-a\",signature=\"{}\"",
            b64(&sig)
        );
        let parsed = parse(&auth).unwrap();
        assert_eq!(parsed.key_id, "AKID-example");
        let again = signing_string(&parsed, "GET", "/v1/chat?x=1", header_of(&headers)).unwrap();
        assert!(verify(
            parsed.algorithm,
            secret,
            again.as_bytes(),
            &parsed.signature
        ));
        // Another path, another secret or another algorithm: refused.
        let other = signing_string(&parsed, "GET", "/v1/chat?x=2", header_of(&headers)).unwrap();
        assert!(!verify(
            parsed.algorithm,
            secret,
            other.as_bytes(),
            &parsed.signature
        ));
        assert!(!verify(
            parsed.algorithm,
            b"other",
            again.as_bytes(),
            &parsed.signature
        ));
        assert!(!verify(
            HmacAlgorithm::Sha512,
            secret,
            again.as_bytes(),
            &parsed.signature
        ));
    }

    #[test]
    fn malformed_or_incomplete_headers_are_refused_each_for_its_reason() {
        let sig = b64(b"0123456789abcdef0123456789abcdef");
        let ok = format!(
            "Signature keyId=\"a\",algorithm=\"hmac-sha512\",headers=\"@request-target date\",signature=\"{sig}\""
        );
        assert!(parse(&ok).is_ok());
        for (auth, want) in [
            ("Bearer abc".to_owned(), Refusal::Malformed),
            ("Signature".to_owned(), Refusal::Malformed),
            (
                ok.replace("hmac-sha512", "hmac-sha1"),
                Refusal::UnknownAlgorithm,
            ),
            (ok.replace("hmac-sha512", "none"), Refusal::UnknownAlgorithm),
            (
                ok.replace("@request-target date", "date"),
                Refusal::UnsignedRequirement,
            ),
            (
                ok.replace("@request-target date", "@request-target"),
                Refusal::UnsignedRequirement,
            ),
            (
                ok.replace("@request-target date", "@request-target date date"),
                Refusal::UnsignedRequirement,
            ),
            (ok.replace("keyId=\"a\",", ""), Refusal::Missing),
            (ok.replace("keyId=\"a\"", "keyId=\"\""), Refusal::Missing),
            (format!("{ok},keyId=\"b\""), Refusal::Malformed),
            (format!("{ok},created=\"1\""), Refusal::Malformed),
            (ok.replace(&sig, "not base64!"), Refusal::Malformed),
            (ok.replace("keyId=\"a\"", "keyId=a"), Refusal::Malformed),
            ("x".repeat(MAX_HEADER + 1), Refusal::Malformed),
        ] {
            assert_eq!(parse(&auth).map(|_| ()), Err(want), "{auth}");
        }
    }

    #[test]
    fn a_signed_header_the_request_lacks_refuses_it() {
        let sig = SignatureHeader {
            key_id: "a",
            algorithm: HmacAlgorithm::Sha256,
            headers: vec!["@request-target".into(), "date".into(), "x-tenant".into()],
            signature: vec![],
        };
        let headers = [("date", DATE)];
        assert_eq!(
            signing_string(&sig, "GET", "/", header_of(&headers)),
            Err(Refusal::AbsentHeader)
        );
    }

    #[test]
    fn a_date_counts_within_the_clock_skew_on_either_side() {
        assert_eq!(check_date(DATE, DATE_MS, 300), Ok(()));
        assert_eq!(check_date(DATE, DATE_MS + 300_000, 300), Ok(()));
        assert_eq!(check_date(DATE, DATE_MS - 300_000, 300), Ok(()));
        assert_eq!(
            check_date(DATE, DATE_MS + 300_001, 300),
            Err(Refusal::Skewed)
        );
        assert_eq!(
            check_date(DATE, DATE_MS - 300_001, 300),
            Err(Refusal::Skewed)
        );
        assert_eq!(check_date("yesterday", DATE_MS, 300), Err(Refusal::BadDate));
        assert_eq!(check_date("", DATE_MS, 300), Err(Refusal::BadDate));
    }

    proptest! {
        /// Any string parses to a header or a refusal, never a panic.
        #[test]
        fn any_authorization_value_is_read_or_refused(s in ".{0,600}") {
            let _ = parse(&s);
            let _ = parse(&format!("Signature {s}"));
        }

        /// A signature verifies for its own request only.
        #[test]
        fn a_signature_verifies_for_its_own_request_only(
            secret in proptest::collection::vec(any::<u8>(), 1..64),
            path in "/[a-z0-9/]{0,40}",
            other in "/[a-z0-9/]{0,40}",
        ) {
            let headers = [("date", DATE)];
            let sig = SignatureHeader {
                key_id: "k",
                algorithm: HmacAlgorithm::Sha256,
                headers: vec!["@request-target".into(), "date".into()],
                signature: vec![],
            };
            let signed = signing_string(&sig, "POST", &path, header_of(&headers)).unwrap();
            let mac = sign(HmacAlgorithm::Sha256, &secret, signed.as_bytes());
            prop_assert!(verify(HmacAlgorithm::Sha256, &secret, signed.as_bytes(), &mac));
            let asked = signing_string(&sig, "POST", &other, header_of(&headers)).unwrap();
            prop_assert_eq!(
                verify(HmacAlgorithm::Sha256, &secret, asked.as_bytes(), &mac),
                path == other
            );
        }
    }
}
