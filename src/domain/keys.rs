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

/// Bounds of a custom key value, in characters.
pub const CUSTOM_MIN_CHARS: usize = 8;
pub const CUSTOM_MAX_CHARS: usize = 256;

/// Why a custom key value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyValueError {
    #[error("A custom key value has 8 to 256 characters; this one has {0}.")]
    Length(usize),
    #[error(
        "A custom key value uses visible ASCII characters only (no spaces); {0:?} is not one."
    )]
    Char(char),
}

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

    /// The characters kept to recognise the key: 8, but never more than a quarter of the
    /// value (a short custom value keeps only 2).
    pub fn visible_prefix(&self) -> String {
        let n = VISIBLE_PREFIX_CHARS.min(self.0.chars().count() / 4);
        self.0.chars().take(n).collect()
    }

    /// A value chosen by the user: 8 to 256 visible ASCII characters (no spaces), so any
    /// proxy passes it unchanged in a header.
    pub fn custom(value: &str) -> Result<PlainApiKey, KeyValueError> {
        let n = value.chars().count();
        if !(CUSTOM_MIN_CHARS..=CUSTOM_MAX_CHARS).contains(&n) {
            return Err(KeyValueError::Length(n));
        }
        if let Some(bad) = value.chars().find(|c| !matches!(*c as u32, 0x21..=0x7e)) {
            return Err(KeyValueError::Char(bad));
        }
        Ok(PlainApiKey(value.to_owned()))
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
    fn custom_values_are_bounded_and_printable() {
        assert!(PlainApiKey::custom("abcdefgh").is_ok());
        assert!(matches!(
            PlainApiKey::custom("short"),
            Err(KeyValueError::Length(5))
        ));
        assert!(matches!(
            PlainApiKey::custom(&"x".repeat(257)),
            Err(KeyValueError::Length(257))
        ));
        assert!(matches!(
            PlainApiKey::custom("has space"),
            Err(KeyValueError::Char(' '))
        ));
        assert!(matches!(
            PlainApiKey::custom("nön-ascii"),
            Err(KeyValueError::Char('ö'))
        ));
        // A short custom value shows only a quarter of itself.
        assert_eq!(
            PlainApiKey::custom("abcdefgh").unwrap().visible_prefix(),
            "ab"
        );
        assert_eq!(
            PlainApiKey::generate().visible_prefix().len(),
            VISIBLE_PREFIX_CHARS
        );
    }

    proptest::proptest! {
        #[test]
        fn custom_values_never_panic_and_accepted_ones_are_header_safe(s in "\\PC{0,300}") {
            if let Ok(k) = PlainApiKey::custom(&s) {
                proptest::prop_assert!(k.expose().bytes().all(|b| (0x21..=0x7e).contains(&b)));
                proptest::prop_assert!(k.visible_prefix().len() * 4 <= k.expose().len());
            }
        }
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
