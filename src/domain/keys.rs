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

/// An API token lives this many days unless its creator chooses otherwise…
pub const TOKEN_DEFAULT_DAYS: i64 = 90;
/// …and at most this many.
pub const TOKEN_MAX_DAYS: i64 = 365;
/// The lifetimes the console offers.
pub const TOKEN_LIFETIME_CHOICES: &[i64] = &[7, 30, 90, 180, 365];

/// A token's lifetime in days: the default when none is given, else 1 to `TOKEN_MAX_DAYS`.
pub fn token_lifetime_days(days: Option<i64>) -> Result<i64, String> {
    match days {
        None => Ok(TOKEN_DEFAULT_DAYS),
        Some(d) if (1..=TOKEN_MAX_DAYS).contains(&d) => Ok(d),
        Some(d) => Err(format!(
            "A token lives 1 to {TOKEN_MAX_DAYS} days; {d} is outside that."
        )),
    }
}

/// Bounds of a custom key value, in characters. Keys are stored as a fast hash (the check
/// looks them up by it), so a custom value must itself be too long to search for if the
/// database leaks: 32 characters is what other gateways generate (Kong's key-auth, a UUID
/// without dashes), and at least `CUSTOM_MIN_DISTINCT` different characters turns away a
/// value typed by hand.
pub const CUSTOM_MIN_CHARS: usize = 32;
pub const CUSTOM_MAX_CHARS: usize = 256;
pub const CUSTOM_MIN_DISTINCT: usize = 10;

/// Why a custom key value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyValueError {
    #[error("A custom key value has 32 to 256 characters; this one has {0}.")]
    Length(usize),
    #[error(
        "A custom key value uses visible ASCII characters only (no spaces); {0:?} is not one."
    )]
    Char(char),
    #[error("A custom key value needs at least 10 different characters, as a generated key has; this one has {0}.")]
    TooPlain(usize),
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

    /// A value chosen by the user: 32 to 256 visible ASCII characters (no spaces, so any
    /// proxy passes it unchanged in a header) with at least 10 different ones.
    pub fn custom(value: &str) -> Result<PlainApiKey, KeyValueError> {
        let n = value.chars().count();
        if !(CUSTOM_MIN_CHARS..=CUSTOM_MAX_CHARS).contains(&n) {
            return Err(KeyValueError::Length(n));
        }
        if let Some(bad) = value.chars().find(|c| !matches!(*c as u32, 0x21..=0x7e)) {
            return Err(KeyValueError::Char(bad));
        }
        let mut seen = [false; 128];
        value.bytes().for_each(|b| seen[usize::from(b)] = true);
        let distinct = seen.iter().filter(|s| **s).count();
        if distinct < CUSTOM_MIN_DISTINCT {
            return Err(KeyValueError::TooPlain(distinct));
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
        const KONG_LIKE: &str = "5b7f1c0e9a2d4f6b8c1e3a5d7f9b2c4e";
        assert!(PlainApiKey::custom(KONG_LIKE).is_ok());
        assert!(matches!(
            PlainApiKey::custom("short"),
            Err(KeyValueError::Length(5))
        ));
        assert!(matches!(
            PlainApiKey::custom("abcdefgh"),
            Err(KeyValueError::Length(8))
        ));
        assert!(matches!(
            PlainApiKey::custom(&"x".repeat(257)),
            Err(KeyValueError::Length(257))
        ));
        assert!(matches!(
            PlainApiKey::custom("has space 0123456789abcdefghijklmnop"),
            Err(KeyValueError::Char(' '))
        ));
        assert!(matches!(
            PlainApiKey::custom("nön-ascii-0123456789abcdefghijklmnop"),
            Err(KeyValueError::Char('ö'))
        ));
        assert!(matches!(
            PlainApiKey::custom(&"ab".repeat(20)),
            Err(KeyValueError::TooPlain(2))
        ));
        assert!(matches!(
            PlainApiKey::custom("aaaa-bbbb-cccc-dddd-1111-2222-33"),
            Err(KeyValueError::TooPlain(8))
        ));
        assert_eq!(
            PlainApiKey::custom(KONG_LIKE).unwrap().visible_prefix(),
            "5b7f1c0e"
        );
        assert_eq!(
            PlainApiKey::generate().visible_prefix().len(),
            VISIBLE_PREFIX_CHARS
        );
    }

    proptest::proptest! {
        #[test]
        fn custom_values_never_panic_and_accepted_ones_are_header_safe(s in "\\PC{0,300}|[!-~]{28,40}") {
            if let Ok(k) = PlainApiKey::custom(&s) {
                proptest::prop_assert!(k.expose().bytes().all(|b| (0x21..=0x7e).contains(&b)));
                proptest::prop_assert!(k.visible_prefix().len() * 4 <= k.expose().len());
                proptest::prop_assert!(k.expose().len() >= CUSTOM_MIN_CHARS);
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
