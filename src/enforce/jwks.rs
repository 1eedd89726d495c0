//! JWKS URLs: the key sets JWT credentials of the `JwksUrl` source verify with, fetched by
//! the check itself and kept per URL (credentials naming the same URL share one set).
//!
//! - **Fetched when first needed**: the first token of such a credential waits for the set
//!   (at most [`FETCH_TIMEOUT`]).
//! - **Refreshed in the background** once it is older than the credential's refresh
//!   interval: the request that notices uses the set it has and starts one fetch.
//! - **A key ID it does not hold** (the identity provider rotated its key) makes the
//!   request wait for a fetch, at most one per [`REFETCH_AFTER_MS`] per URL, so a
//!   rotation is followed at once and a client inventing key IDs cannot make the server
//!   fetch more than that.
//! - **While the URL is down** the last set fetched keeps verifying for
//!   [`KEEP_LAST_GOOD_MS`] (24 hours) after it was fetched, and the server tries again
//!   every [`RETRY_AFTER_MS`]; past that its tokens are refused until a fetch succeeds.
//!
//! Only public signing keys are kept (RSA, EC, Ed25519; never `oct`, never `use: enc`),
//! each checked against the `alg` it names. A document is at most [`MAX_DOCUMENT`] bytes
//! and [`MAX_KEYS`] keys; redirects are not followed. The URL is the Admin's (https://, or
//! http:// to this machine only, see `domain::credentials::jwks_url`); the certificate is
//! checked against the system's trust store.

use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

/// How long a fetch may take, connection included.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// A set fetched keeps verifying this long while its URL cannot be fetched (ms): a day.
pub const KEEP_LAST_GOOD_MS: i64 = 24 * 3_600_000;
/// After a failed fetch the next is tried this much later (ms).
pub const RETRY_AFTER_MS: i64 = 30_000;
/// A token naming a key ID the set does not hold makes a fetch at most this often (ms).
pub const REFETCH_AFTER_MS: i64 = 10_000;
/// The largest JWKS document read, in bytes.
pub const MAX_DOCUMENT: usize = 256 * 1024;
/// The most keys kept from one document.
pub const MAX_KEYS: usize = 32;

/// One verification key of a set.
pub struct SetKey {
    pub kid: Option<Box<str>>,
    /// The algorithm the JWK names, if it names one: a token must use that one.
    pub algorithm: Option<Algorithm>,
    pub key: DecodingKey,
}

/// A key set as last fetched.
pub struct KeySet {
    pub keys: Vec<SetKey>,
    /// When it was fetched (ms).
    pub fetched_at: i64,
    /// Counts the fetches that changed the keys: what was verified under an older
    /// generation is verified again.
    pub generation: u64,
    /// The document's SHA-256, to tell a changed set from the same one fetched again.
    digest: [u8; 32],
}

impl KeySet {
    /// Whether the set may still verify at `now` (ms).
    pub fn usable(&self, now: i64) -> bool {
        now < self.good_until()
    }

    /// Until when (ms) the set verifies if it is never fetched again.
    pub fn good_until(&self) -> i64 {
        self.fetched_at.saturating_add(KEEP_LAST_GOOD_MS)
    }

    /// The keys that may verify a token with header `kid` and `algorithm`.
    pub fn candidates<'a>(
        &'a self,
        kid: Option<&'a str>,
        algorithm: Algorithm,
    ) -> impl Iterator<Item = &'a DecodingKey> + 'a {
        self.keys
            .iter()
            .filter(move |k| kid.is_none() || k.kid.as_deref() == kid)
            .filter(move |k| k.algorithm.is_none_or(|a| a == algorithm))
            .map(|k| &k.key)
    }

    fn holds(&self, kid: &str) -> bool {
        self.keys.iter().any(|k| k.kid.as_deref() == Some(kid))
    }
}

/// One URL's set, and when it was last fetched or tried.
#[derive(Default)]
struct Source {
    current: RwLock<Option<Arc<KeySet>>>,
    /// When a fetch last started (ms).
    last_attempt: AtomicI64,
    /// Whether the last fetch failed.
    failing: AtomicBool,
    /// Why it failed, for the Admin who asks.
    last_error: std::sync::Mutex<Option<String>>,
    /// True while a background refresh runs.
    refreshing: AtomicBool,
    /// One fetch at a time; a request that waits for one shares its result.
    fetching: tokio::sync::Mutex<()>,
}

impl Source {
    fn current(&self) -> Option<Arc<KeySet>> {
        self.current.read().ok().and_then(|c| c.clone())
    }
}

/// The key sets of every JWKS URL the check has met, by URL.
#[derive(Default)]
pub struct Jwks {
    /// Read at every token of a JWKS credential; written when a URL is first met.
    sources: RwLock<HashMap<Box<str>, Arc<Source>>>,
    generations: AtomicU64,
    client: OnceLock<Result<reqwest::Client, String>>,
}

impl std::fmt::Debug for Jwks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jwks").finish_non_exhaustive()
    }
}

impl Jwks {
    fn source(&self, url: &str) -> Arc<Source> {
        if let Some(s) = self
            .sources
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(url)
        {
            return s.clone();
        }
        let mut sources = self.sources.write().unwrap_or_else(|e| e.into_inner());
        sources.entry(url.into()).or_default().clone()
    }

    /// The set of `url` as last fetched, if it ever was.
    pub fn keys(&self, url: &str) -> Option<Arc<KeySet>> {
        let sources = self.sources.read().unwrap_or_else(|e| e.into_inner());
        sources.get(url).and_then(|s| s.current())
    }

    /// Makes sure the set of `url` can judge a token naming `kid` at `now` (ms): fetches it
    /// first if it was never fetched, is past [`KEEP_LAST_GOOD_MS`], or lacks `kid` (each
    /// at most as often as the module says), and starts a background refresh when it is
    /// older than `refresh_ms`.
    pub async fn ready(self: &Arc<Self>, url: &str, refresh_ms: i64, kid: Option<&str>, now: i64) {
        let source = self.source(url);
        let current = source.current();
        let last = source.last_attempt.load(Ordering::Relaxed);
        let retry_after = if source.failing.load(Ordering::Relaxed) {
            RETRY_AFTER_MS
        } else {
            REFETCH_AFTER_MS
        };
        let may_fetch = now - last >= retry_after;
        let wait = match &current {
            None => may_fetch,
            Some(set) if !set.usable(now) => may_fetch,
            Some(set) => kid.is_some_and(|k| !set.holds(k)) && now - last >= REFETCH_AFTER_MS,
        };
        if wait {
            self.fetch(url, &source, last).await;
            return;
        }
        let due = current.is_some_and(|set| now - set.fetched_at >= refresh_ms);
        if due && may_fetch && !source.refreshing.swap(true, Ordering::AcqRel) {
            let jwks = self.clone();
            let url = url.to_owned();
            tokio::spawn(async move {
                jwks.fetch(&url, &source, last).await;
                source.refreshing.store(false, Ordering::Release);
            });
        }
    }

    /// Fetches the set of `url` unless another fetch started after `seen_attempt` (then
    /// its result is the one used).
    async fn fetch(&self, url: &str, source: &Source, seen_attempt: i64) {
        let _one = source.fetching.lock().await;
        if source.last_attempt.load(Ordering::Relaxed) != seen_attempt {
            return;
        }
        let started = crate::store::now_ms();
        source.last_attempt.store(started, Ordering::Relaxed);
        match self.download(url).await.and_then(|body| parse(&body)) {
            Ok((keys, digest)) => {
                source.failing.store(false, Ordering::Relaxed);
                *source.last_error.lock().unwrap_or_else(|e| e.into_inner()) = None;
                self.keep(source, keys, digest, started);
            }
            Err(why) => {
                source.failing.store(true, Ordering::Relaxed);
                *source.last_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(why.clone());
                let kept = source.current().map(|s| s.good_until());
                tracing::warn!(
                    jwks_url = %url,
                    keeps_last_set_until_ms = ?kept,
                    "a JWKS URL could not be fetched: {why}"
                );
            }
        }
    }

    /// Fetches the set of `url` now (an Admin asked), sharing a fetch already under way.
    pub async fn fetch_now(&self, url: &str) {
        let source = self.source(url);
        let last = source.last_attempt.load(Ordering::Relaxed);
        self.fetch(url, &source, last).await;
    }

    /// What this replica holds of the set of `url`, and how its last fetch went.
    pub fn status(&self, url: &str) -> crate::domain::records::JwksStatus {
        let source = self.source(url);
        let current = source.current();
        let last = source.last_attempt.load(Ordering::Relaxed);
        let last_error = source
            .last_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        crate::domain::records::JwksStatus {
            jwks_url: url.to_owned(),
            fetched_at: current.as_ref().map(|s| s.fetched_at),
            usable_until: current.as_ref().map(|s| s.good_until()),
            key_ids: current
                .as_ref()
                .map(|s| {
                    s.keys
                        .iter()
                        .map(|k| k.kid.as_deref().unwrap_or_default().to_owned())
                        .collect()
                })
                .unwrap_or_default(),
            last_attempt_at: (last > 0).then_some(last),
            last_error,
        }
    }

    /// Makes `keys` the source's set, fetched at `fetched_at`; a new generation unless the
    /// document is the one it had.
    fn keep(&self, source: &Source, keys: Vec<SetKey>, digest: [u8; 32], fetched_at: i64) {
        let mut current = source.current.write().unwrap_or_else(|e| e.into_inner());
        let generation = match current.as_ref() {
            Some(old) if old.digest == digest => old.generation,
            _ => self.generations.fetch_add(1, Ordering::Relaxed) + 1,
        };
        *current = Some(Arc::new(KeySet {
            keys,
            fetched_at,
            generation,
            digest,
        }));
    }

    /// Gives `url` the set `body` as if fetched at `fetched_at` (for tests of what uses it).
    #[cfg(test)]
    pub fn put(&self, url: &str, body: &[u8], fetched_at: i64) {
        let (keys, digest) = parse(body).expect("a JWK Set");
        self.keep(&self.source(url), keys, digest, fetched_at);
    }

    async fn download(&self, url: &str) -> Result<Vec<u8>, String> {
        let client = self
            .client
            .get_or_init(|| {
                reqwest::Client::builder()
                    .timeout(FETCH_TIMEOUT)
                    .connect_timeout(FETCH_TIMEOUT)
                    .redirect(reqwest::redirect::Policy::none())
                    .user_agent(concat!("gateway-console/", env!("CARGO_PKG_VERSION")))
                    .build()
                    .map_err(|e| format!("no HTTPS client: {e}"))
            })
            .as_ref()
            .map_err(Clone::clone)?;
        let mut response = client
            .get(url)
            .header("accept", "application/json, application/jwk-set+json")
            .send()
            .await
            .map_err(|e| format!("no answer ({e})"))?;
        if !response.status().is_success() {
            return Err(format!("it answered {}", response.status()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| format!("the answer broke off ({e})"))?
        {
            if body.len() + chunk.len() > MAX_DOCUMENT {
                return Err(format!("the document is over {MAX_DOCUMENT} bytes"));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

/// The signing keys of a JWKS document, and its digest; why not when it is not one or
/// holds no usable key. Keys it cannot use are skipped, not fatal.
pub fn parse(body: &[u8]) -> Result<(Vec<SetKey>, [u8; 32]), String> {
    #[derive(serde::Deserialize)]
    struct Document {
        keys: Vec<serde_json::Value>,
    }
    let doc: Document = serde_json::from_slice(body)
        .map_err(|_| "the document is not a JWK Set (a JSON object with \"keys\")".to_owned())?;
    let keys: Vec<SetKey> = doc
        .keys
        .into_iter()
        .filter_map(|v| serde_json::from_value::<Jwk>(v).ok())
        .filter_map(|jwk| signing_key(&jwk))
        .take(MAX_KEYS)
        .collect();
    if keys.is_empty() {
        return Err("the JWK Set holds no public signing key (RSA, EC or Ed25519)".into());
    }
    let digest = sha2::Digest::finalize(sha2::Digest::chain_update(
        <sha2::Sha256 as sha2::Digest>::new(),
        body,
    ))
    .into();
    Ok((keys, digest))
}

/// A JWK as a verification key: a public RSA, EC or Ed25519 key meant for signatures.
fn signing_key(jwk: &Jwk) -> Option<SetKey> {
    if !matches!(
        jwk.algorithm,
        AlgorithmParameters::RSA(_)
            | AlgorithmParameters::EllipticCurve(_)
            | AlgorithmParameters::OctetKeyPair(_)
    ) {
        return None;
    }
    if matches!(jwk.common.public_key_use, Some(ref u) if *u != PublicKeyUse::Signature) {
        return None;
    }
    let algorithm = match jwk.common.key_algorithm {
        None => None,
        Some(KeyAlgorithm::RS256) => Some(Algorithm::RS256),
        Some(KeyAlgorithm::RS384) => Some(Algorithm::RS384),
        Some(KeyAlgorithm::RS512) => Some(Algorithm::RS512),
        Some(KeyAlgorithm::ES256) => Some(Algorithm::ES256),
        Some(KeyAlgorithm::ES384) => Some(Algorithm::ES384),
        Some(KeyAlgorithm::EdDSA) => Some(Algorithm::EdDSA),
        // PS…, HS… and encryption algorithms: not a key a credential verifies with.
        Some(_) => return None,
    };
    let key = DecodingKey::from_jwk(jwk).ok()?;
    Some(SetKey {
        kid: jwk.common.key_id.as_deref().map(Into::into),
        algorithm,
        key,
    })
}

#[cfg(test)]
pub mod tests {
    use super::*;

    fn jwk(name: &str) -> serde_json::Value {
        let text = std::fs::read_to_string(format!("tests/fixtures/jwt/{name}")).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    /// A JWK Set of the test EC key under the key ID `kid`.
    pub fn set_of(kid: &str) -> Vec<u8> {
        let mut key = jwk("es256-public.jwk");
        key["kid"] = kid.into();
        serde_json::json!({ "keys": [key] })
            .to_string()
            .into_bytes()
    }

    #[test]
    fn the_same_document_again_keeps_its_generation_and_another_does_not() {
        let jwks = Jwks::default();
        jwks.put("https://a/jwks", &set_of("a"), 1);
        let first = jwks.keys("https://a/jwks").unwrap();
        jwks.put("https://a/jwks", &set_of("a"), 2);
        let again = jwks.keys("https://a/jwks").unwrap();
        assert_eq!((again.generation, again.fetched_at), (first.generation, 2));
        jwks.put("https://a/jwks", &set_of("b"), 3);
        assert_ne!(
            jwks.keys("https://a/jwks").unwrap().generation,
            first.generation
        );
        assert!(jwks.keys("https://b/jwks").is_none());
    }

    #[test]
    fn only_public_signing_keys_are_kept() {
        let mut ec = jwk("es256-public.jwk");
        ec["kid"] = "ec-1".into();
        let mut enc = ec.clone();
        enc["use"] = "enc".into();
        let mut hs = ec.clone();
        hs["alg"] = "HS256".into();
        let oct = serde_json::json!({"kty": "oct", "k": "c2VjcmV0", "kid": "shared"});
        let doc = serde_json::json!({"keys": [ec, enc, hs, oct, {"kty": "nonsense"}]});
        let (keys, _) = parse(doc.to_string().as_bytes()).unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].kid.as_deref(), Some("ec-1"));
    }

    #[test]
    fn a_document_without_a_usable_key_is_refused() {
        for body in [
            &b"not json"[..],
            b"{}",
            b"{\"keys\": []}",
            b"{\"keys\": [{\"kty\": \"oct\", \"k\": \"c2VjcmV0\"}]}",
        ] {
            assert!(parse(body).is_err(), "{}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn candidates_follow_the_key_id_and_the_keys_algorithm() {
        let mut a = jwk("es256-public.jwk");
        a["kid"] = "a".into();
        a["alg"] = "ES256".into();
        let mut b = jwk("es256-public.jwk");
        b["kid"] = "b".into();
        let doc = serde_json::json!({"keys": [a, b]});
        let (keys, digest) = parse(doc.to_string().as_bytes()).unwrap();
        let set = KeySet {
            keys,
            fetched_at: 0,
            generation: 1,
            digest,
        };
        assert_eq!(set.candidates(Some("a"), Algorithm::ES256).count(), 1);
        assert_eq!(set.candidates(Some("a"), Algorithm::ES384).count(), 0);
        assert_eq!(set.candidates(None, Algorithm::ES256).count(), 2);
        assert_eq!(set.candidates(Some("c"), Algorithm::ES256).count(), 0);
        assert!(set.holds("b") && !set.holds("c"));
        assert!(set.usable(KEEP_LAST_GOOD_MS - 1) && !set.usable(KEEP_LAST_GOOD_MS));
    }
}
