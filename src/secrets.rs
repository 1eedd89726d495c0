//! Secrets at rest: an HMAC secret or a JWT
//! HS256 secret must be readable by the check, so unlike an API key it cannot be kept as a
//! one-way hash. It is sealed with a key-encryption key (KEK) that lives outside the
//! database — a file (`data/kek`, made on first use with mode 0600) or the environment —
//! so that a copy of the database alone reveals nothing.
//!
//! **Keyring.** One key per line, `<key id> <32 bytes in base64>`; the first line seals, every
//! line opens. To rotate: add a new first line, restart, run `gateway-console reseal-secrets`, then
//! drop the old line. Blank lines and lines starting with `#` are ignored.
//!
//! **Sealed value.** `kek1:<key id>:<base64 of nonce ‖ ciphertext ‖ tag>`, XChaCha20-Poly1305
//! with a random 24-byte nonce. The caller passes what the secret belongs to (a credential's
//! ID) as associated data: a sealed value copied onto another row does not open there.

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use rand::RngCore;
use std::path::Path;

const PREFIX: &str = "kek1";
const NONCE: usize = 24;
/// Key IDs are short names: letters, digits, `-` and `_`, up to 32.
const MAX_KEY_ID: usize = 32;

/// Why a keyring or a sealed value could not be used. Never carries key material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretsError {
    /// The keyring file or value is not as described in the module (with the line).
    BadKeyring(String),
    /// Reading or writing the keyring file failed.
    Io(String),
    /// The sealed value is not `kek1:<key id>:<base64>`.
    Malformed,
    /// Sealed with a key the keyring no longer holds.
    UnknownKey(String),
    /// The value was changed, belongs to another row, or the key is wrong.
    Tampered,
}

impl std::fmt::Display for SecretsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecretsError::BadKeyring(why) => {
                write!(f, "the key-encryption keyring is invalid: {why}")
            }
            SecretsError::Io(why) => write!(
                f,
                "the key-encryption keyring could not be read or written: {why}"
            ),
            SecretsError::Malformed => f.write_str("a sealed secret is malformed"),
            SecretsError::UnknownKey(id) => write!(
                f,
                "a secret is sealed with key {id:?}, which the keyring does not hold"
            ),
            SecretsError::Tampered => f.write_str(
                "a sealed secret does not open: changed, moved or sealed with another key",
            ),
        }
    }
}

impl std::error::Error for SecretsError {}

/// The key-encryption keys: the first seals, all open.
pub struct Keyring {
    keys: Vec<(String, XChaCha20Poly1305)>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|(id, _)| id.as_str()).collect();
        f.debug_struct("Keyring").field("key_ids", &ids).finish()
    }
}

impl Keyring {
    /// Reads a keyring (the file's text, or the environment's value).
    pub fn parse(text: &str) -> Result<Keyring, SecretsError> {
        let mut keys: Vec<(String, XChaCha20Poly1305)> = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = |why: &str| SecretsError::BadKeyring(format!("line {}: {why}", n + 1));
            let (id, key) = line
                .split_once(char::is_whitespace)
                .ok_or_else(|| bad("expected `<key id> <base64 key>`"))?;
            if id.is_empty()
                || id.len() > MAX_KEY_ID
                || !id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(bad("a key id is 1 to 32 letters, digits, - or _"));
            }
            if keys.iter().any(|(known, _)| known == id) {
                return Err(bad("this key id is listed twice"));
            }
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(key.trim())
                .map_err(|_| bad("the key is not base64"))?;
            if bytes.len() != 32 {
                return Err(bad("a key is 32 bytes"));
            }
            keys.push((
                id.to_owned(),
                XChaCha20Poly1305::new(Key::from_slice(&bytes)),
            ));
        }
        if keys.is_empty() {
            return Err(SecretsError::BadKeyring("it holds no key".into()));
        }
        Ok(Keyring { keys })
    }

    /// A new keyring text with one random key named `id`.
    pub fn generate(id: &str) -> String {
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        let line = format!(
            "# Gateway Console key-encryption keys: the first seals, all open. Keep this file\n\
             # out of backups of the database, and back it up apart.\n\
             {id} {}\n",
            base64::engine::general_purpose::STANDARD.encode(key)
        );
        key.fill(0);
        line
    }

    /// The keyring from `env` when given (`CONSOLE_KEK`), else from the file at `path`,
    /// which is made (mode 0600, with one new key) when it does not exist.
    pub fn load(path: &Path, env: Option<&str>) -> Result<Keyring, SecretsError> {
        if let Some(text) = env {
            return Keyring::parse(text);
        }
        match std::fs::read_to_string(path) {
            Ok(text) => Keyring::parse(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                create_private(path, &Keyring::generate("k1"))?;
                // Read back: another process starting at the same moment may have made it.
                let text = std::fs::read_to_string(path)
                    .map_err(|e| SecretsError::Io(format!("{}: {e}", path.display())))?;
                Keyring::parse(&text)
            }
            Err(e) => Err(SecretsError::Io(format!("{}: {e}", path.display()))),
        }
    }

    /// The key that seals.
    pub fn current_id(&self) -> &str {
        &self.keys[0].0
    }

    /// Seals `secret` for the row `belongs_to`.
    pub fn seal(&self, secret: &[u8], belongs_to: &str) -> String {
        let (id, cipher) = &self.keys[0];
        let mut nonce = [0u8; NONCE];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: secret,
                    aad: belongs_to.as_bytes(),
                },
            )
            .expect("XChaCha20-Poly1305 seals any length a secret has");
        let mut out = Vec::with_capacity(NONCE + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        format!(
            "{PREFIX}:{id}:{}",
            base64::engine::general_purpose::STANDARD.encode(out)
        )
    }

    /// Opens a value [`seal`](Keyring::seal)ed for `belongs_to`.
    pub fn open(&self, sealed: &str, belongs_to: &str) -> Result<Vec<u8>, SecretsError> {
        let mut parts = sealed.splitn(3, ':');
        let (Some(PREFIX), Some(id), Some(body)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(SecretsError::Malformed);
        };
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(body)
            .map_err(|_| SecretsError::Malformed)?;
        if bytes.len() < NONCE + 16 {
            return Err(SecretsError::Malformed);
        }
        let cipher = self
            .keys
            .iter()
            .find(|(known, _)| known == id)
            .map(|(_, c)| c)
            .ok_or_else(|| SecretsError::UnknownKey(id.to_owned()))?;
        let (nonce, body) = bytes.split_at(NONCE);
        cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: body,
                    aad: belongs_to.as_bytes(),
                },
            )
            .map_err(|_| SecretsError::Tampered)
    }

    /// Whether `sealed` was sealed by another key than the current one (to re-seal after a
    /// rotation).
    pub fn needs_reseal(&self, sealed: &str) -> bool {
        sealed
            .split(':')
            .nth(1)
            .is_none_or(|id| id != self.current_id())
    }
}

/// Makes the file at `path`, readable by its owner only, holding `text` (its folder made),
/// unless it exists by then: it is written aside and linked into place, so a process reading
/// it never sees it half written, and of two processes making it at once one wins.
fn create_private(path: &Path, text: &str) -> Result<(), SecretsError> {
    use std::io::Write as _;
    let io = |e: std::io::Error| SecretsError::Io(format!("{}: {e}", path.display()));
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let aside = path.with_extension(format!("new-{}", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let written = options.open(&aside).and_then(|mut file| {
        file.write_all(text.as_bytes())?;
        file.sync_all()
    });
    let linked = written.and_then(|()| match std::fs::hard_link(&aside, path) {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        other => other,
    });
    let _ = std::fs::remove_file(&aside);
    linked.map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ring(text: &str) -> Keyring {
        Keyring::parse(text).unwrap()
    }

    #[test]
    fn a_sealed_secret_opens_for_its_own_row_only() {
        let k = ring(&Keyring::generate("k1"));
        let sealed = k.seal(b"s3cret", "cr-1");
        assert!(sealed.starts_with("kek1:k1:"));
        assert!(!sealed.contains("s3cret"));
        assert_eq!(k.open(&sealed, "cr-1").unwrap(), b"s3cret");
        assert_eq!(k.open(&sealed, "cr-2"), Err(SecretsError::Tampered));
        // Each sealing draws a new nonce.
        assert_ne!(k.seal(b"s3cret", "cr-1"), sealed);
        // Another keyring with a key of the same name does not open it.
        let other = ring(&Keyring::generate("k1"));
        assert_eq!(other.open(&sealed, "cr-1"), Err(SecretsError::Tampered));
    }

    #[test]
    fn changed_or_malformed_values_are_refused() {
        let k = ring(&Keyring::generate("k1"));
        let sealed = k.seal(b"s3cret", "cr-1");
        let body = sealed.rsplit(':').next().unwrap();
        let mut bytes = base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let flipped = format!(
            "kek1:k1:{}",
            base64::engine::general_purpose::STANDARD.encode(&bytes)
        );
        assert_eq!(k.open(&flipped, "cr-1"), Err(SecretsError::Tampered));
        for bad in [
            "",
            "kek1",
            "kek1:k1",
            "kek2:k1:AAAA",
            "kek1:k1:!!",
            "kek1:k1:AAAA",
        ] {
            assert_eq!(k.open(bad, "cr-1"), Err(SecretsError::Malformed), "{bad}");
        }
        assert_eq!(
            k.open(&sealed.replace(":k1:", ":k9:"), "cr-1"),
            Err(SecretsError::UnknownKey("k9".into()))
        );
    }

    #[test]
    fn after_a_rotation_the_new_key_seals_and_the_old_one_still_opens() {
        let old = Keyring::generate("k1");
        let before = ring(&old);
        let sealed = before.seal(b"s3cret", "cr-1");
        let new = Keyring::generate("k2");
        let rotated = ring(&format!("{new}{old}"));
        assert_eq!(rotated.current_id(), "k2");
        assert_eq!(rotated.open(&sealed, "cr-1").unwrap(), b"s3cret");
        assert!(rotated.needs_reseal(&sealed));
        let resealed = rotated.seal(b"s3cret", "cr-1");
        assert!(!rotated.needs_reseal(&resealed));
        // Once the old line is dropped, what it sealed no longer opens.
        assert_eq!(
            ring(&new).open(&sealed, "cr-1"),
            Err(SecretsError::UnknownKey("k1".into()))
        );
    }

    #[test]
    fn a_bad_keyring_says_which_line_and_why_and_never_the_key() {
        let key = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        for (text, want) in [
            ("".to_owned(), "holds no key"),
            ("# only a comment\n".to_owned(), "holds no key"),
            (format!("k1{key}"), "line 1: expected"),
            (
                format!("k1 {key}\nk1 {key}"),
                "line 2: this key id is listed twice",
            ),
            (format!("bad/id {key}"), "line 1: a key id"),
            ("k1 not-base64!".to_owned(), "line 1: the key is not base64"),
            ("k1 AAAA".to_owned(), "line 1: a key is 32 bytes"),
        ] {
            let e = Keyring::parse(&text).unwrap_err().to_string();
            assert!(e.contains(want), "{text:?}: {e}");
            assert!(!e.contains(&key), "{e}");
        }
        let k = ring(&format!("\n# keys\nk1 {key}\n"));
        assert!(!format!("{k:?}").contains(&key));
    }

    #[test]
    fn the_keyring_file_is_made_once_readable_by_its_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data").join("kek");
        let first = Keyring::load(&path, None).unwrap();
        let sealed = first.seal(b"s3cret", "cr-1");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // Loaded again: the same keys, so what was sealed opens.
        let again = Keyring::load(&path, None).unwrap();
        assert_eq!(again.open(&sealed, "cr-1").unwrap(), b"s3cret");
        // Made by another process meanwhile: kept as it is.
        assert!(create_private(&path, "other").is_ok());
        assert_eq!(
            Keyring::load(&path, None).unwrap().current_id(),
            first.current_id()
        );
        // The environment's keyring takes precedence over the file.
        let env = Keyring::generate("env");
        let from_env = Keyring::load(&path, Some(&env)).unwrap();
        assert_eq!(from_env.current_id(), "env");
    }

    proptest! {
        /// Any secret and row seal and open back; any text opens to an error, never a panic.
        #[test]
        fn any_secret_round_trips_and_any_text_is_refused_cleanly(
            secret in proptest::collection::vec(any::<u8>(), 0..200),
            row in "[a-z0-9-]{0,40}",
            junk in ".{0,200}",
        ) {
            let k = ring(&Keyring::generate("k1"));
            let sealed = k.seal(&secret, &row);
            prop_assert_eq!(k.open(&sealed, &row).unwrap(), secret);
            prop_assert!(k.open(&junk, &row).is_err());
            let _ = Keyring::parse(&junk);
        }
    }
}
