//! API keys: a recognisable prefix plus 40 random base62 characters. The plain value exists
//! only between generation and the one-time reveal; only its hash is ever stored.

use std::fmt;

/// Every system-generated key starts with this, so leaked keys are easy to scan for.
pub const KEY_PREFIX: &str = "gck_";
/// REST bearer tokens look like keys with their own prefix, so the two are never confused.
pub const TOKEN_PREFIX: &str = "gct_";
/// Random characters after the prefix (40 base62 characters ≈ 238 bits).
pub const KEY_RANDOM_CHARS: usize = 40;
/// How many leading characters are kept to let people recognise a key.
pub const VISIBLE_PREFIX_CHARS: usize = 8;

/// The masked form shown in lists: the stored visible prefix and an ellipsis.
pub fn masked(prefix: &str) -> String {
    format!("{prefix}…")
}

/// A freshly generated key value. `Debug` redacts it so it cannot reach a log by accident.
pub struct PlainApiKey(String);

impl PlainApiKey {
    #[cfg(feature = "ssr")]
    pub fn generate() -> PlainApiKey {
        PlainApiKey::generate_with(KEY_PREFIX)
    }

    /// A fresh value with the given recognisable prefix (keys: `gck_`, tokens: `gct_`).
    #[cfg(feature = "ssr")]
    pub fn generate_with(prefix: &str) -> PlainApiKey {
        use rand::{distributions::Alphanumeric, rngs::OsRng, Rng};
        let random: String = OsRng
            .sample_iter(&Alphanumeric)
            .take(KEY_RANDOM_CHARS)
            .map(char::from)
            .collect();
        PlainApiKey(format!("{prefix}{random}"))
    }

    /// The value to show once to the person who created it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn visible_prefix(&self) -> String {
        self.0.chars().take(VISIBLE_PREFIX_CHARS).collect()
    }

    /// SHA-256 of the value, hex: keys are high-entropy, so a fast hash is safe and lets the
    /// enforcement path look a key up by hash.
    #[cfg(feature = "ssr")]
    pub fn hash(&self) -> String {
        hash_key(&self.0)
    }
}

/// Hash of a presented key value, for lookup.
#[cfg(feature = "ssr")]
pub fn hash_key(value: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(value.as_bytes()))
}

impl fmt::Debug for PlainApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PlainApiKey(<redacted>)")
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_carry_the_prefix_and_enough_randomness() {
        let k = PlainApiKey::generate();
        assert!(k.expose().starts_with(KEY_PREFIX));
        assert_eq!(k.expose().len(), KEY_PREFIX.len() + KEY_RANDOM_CHARS);
        assert_ne!(k.expose(), PlainApiKey::generate().expose());
    }

    #[test]
    fn debug_output_never_contains_the_key() {
        let k = PlainApiKey::generate();
        assert!(!format!("{k:?}").contains(k.expose()));
    }

    #[test]
    fn the_hash_is_stable_and_not_the_value() {
        let k = PlainApiKey::generate();
        assert_eq!(k.hash(), hash_key(k.expose()));
        assert!(!k.hash().contains(&k.expose()[4..]));
    }
}
