//! Encryption at rest, and unguessable tokens.
//!
//! [`Cipher`] seals secrets (OAuth tokens, webhook secrets) with AES-256-GCM under
//! `MATTERHOOK_ENCRYPTION_KEY`. A sealed value is `version (1 byte) || nonce (12) || ciphertext+tag`,
//! with a fresh random nonce each time. Every seal names what it protects as associated data (for
//! example `webhook_subscriptions.secret:42`), so a ciphertext copied into another row or column
//! fails to open instead of being accepted.
//!
//! Key rotation: a cipher may also hold previous keys (`MATTERHOOK_PREVIOUS_ENCRYPTION_KEYS`),
//! which open what they sealed but never seal; `matterhook keys rotate` then re-seals every
//! stored secret under the current key ([`Cipher::is_current`] tells which need it), after which
//! the previous keys can be dropped.

use aes_gcm::{
    aead::{Aead, AeadCore, KeyInit, OsRng, Payload},
    Aes256Gcm, Nonce,
};
use base64::Engine;
use matterhook_config::EncryptionKey;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};

const VERSION: u8 = 1;
const NONCE_LEN: usize = 12;

/// Seals and opens secrets with the deployment's key.
#[derive(Clone)]
pub struct Cipher {
    aead: Aes256Gcm,
    /// Keys that open but never seal: what was sealed before a rotation.
    previous: Vec<Aes256Gcm>,
}

/// A sealed value that cannot be opened: wrong key, wrong context, or damaged.
#[derive(Debug, thiserror::Error)]
#[error("cannot decrypt a stored secret (wrong MATTERHOOK_ENCRYPTION_KEY, or the value was tampered with)")]
pub struct OpenError;

impl std::fmt::Debug for Cipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cipher(<key redacted>)")
    }
}

impl Cipher {
    /// A cipher under `key`.
    pub fn new(key: &EncryptionKey) -> Self {
        Self::with_previous(key, &[])
    }

    /// A cipher that seals under `key` and also opens what any of `previous` sealed.
    pub fn with_previous(key: &EncryptionKey, previous: &[EncryptionKey]) -> Self {
        Self {
            aead: Aes256Gcm::new(key.bytes().into()),
            previous: previous
                .iter()
                .map(|k| Aes256Gcm::new(k.bytes().into()))
                .collect(),
        }
    }

    /// Whether `sealed` opens under the current key (no re-sealing needed).
    pub fn is_current(&self, sealed: &[u8], context: &str) -> bool {
        open_with(&self.aead, sealed, context).is_ok()
    }

    /// Encrypts `secret`, bound to `context`.
    pub fn seal(&self, secret: &SecretString, context: &str) -> Vec<u8> {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let payload = Payload {
            msg: secret.expose_secret().as_bytes(),
            aad: context.as_bytes(),
        };
        // Encryption fails only for messages beyond AES-GCM's 64 GiB limit.
        let sealed = self
            .aead
            .encrypt(&nonce, payload)
            .expect("a secret is far below AES-GCM's size limit");
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    /// Decrypts what [`Cipher::seal`] produced for the same `context`, under the current key or
    /// a previous one.
    pub fn open(&self, sealed: &[u8], context: &str) -> Result<SecretString, OpenError> {
        std::iter::once(&self.aead)
            .chain(&self.previous)
            .find_map(|aead| open_with(aead, sealed, context).ok())
            .ok_or(OpenError)
    }
}

fn open_with(aead: &Aes256Gcm, sealed: &[u8], context: &str) -> Result<SecretString, OpenError> {
    let (&version, rest) = sealed.split_first().ok_or(OpenError)?;
    if version != VERSION || rest.len() < NONCE_LEN {
        return Err(OpenError);
    }
    let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
    // A wrong key fails the tag check: trying each key is sound.
    let plain = aead
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: ciphertext,
                aad: context.as_bytes(),
            },
        )
        .map_err(|_| OpenError)?;
    String::from_utf8(plain)
        .map(SecretString::from)
        .map_err(|_| OpenError)
}

/// A URL-safe random token of `bytes` random bytes (256 bits for 32).
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

/// SHA-256 of an API token: what the database keeps, so a leaked table holds no usable token.
pub fn hash_token(token: &str) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(token.as_bytes()).to_vec()
}

/// A new API token (to show once) and its hash (to store).
pub fn issue_api_token() -> (String, Vec<u8>) {
    let token = format!("mh_{}", random_token(32));
    let hash = hash_token(&token);
    (token, hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cipher(key: &str) -> Cipher {
        Cipher::new(&key.parse().expect("key"))
    }

    #[test]
    fn round_trips_and_uses_a_fresh_nonce_each_time() {
        let c = cipher(matterhook_config::DEV_ENCRYPTION_KEY);
        let secret = SecretString::from("hook-secret".to_owned());
        let (a, b) = (c.seal(&secret, "ctx"), c.seal(&secret, "ctx"));
        assert_ne!(a, b);
        assert_eq!(
            c.open(&a, "ctx").expect("opens").expose_secret(),
            "hook-secret"
        );
        assert!(
            !a.windows(11).any(|w| w == b"hook-secret"),
            "no plaintext in the sealed bytes"
        );
    }

    #[test]
    fn refuses_another_context_another_key_and_damage() {
        let c = cipher(matterhook_config::DEV_ENCRYPTION_KEY);
        let sealed = c.seal(
            &SecretString::from("s".to_owned()),
            "webhook_subscriptions.secret:1",
        );
        assert!(c.open(&sealed, "webhook_subscriptions.secret:2").is_err());
        assert!(cipher(&"ab".repeat(32))
            .open(&sealed, "webhook_subscriptions.secret:1")
            .is_err());
        let mut damaged = sealed.clone();
        *damaged.last_mut().expect("bytes") ^= 1;
        assert!(c.open(&damaged, "webhook_subscriptions.secret:1").is_err());
        assert!(c.open(&[], "x").is_err());
    }

    #[test]
    fn tokens_carry_the_requested_entropy() {
        let t = random_token(32);
        assert_eq!(t.len(), 43);
        assert_ne!(t, random_token(32));
    }

    #[test]
    fn previous_keys_open_but_never_seal() {
        let old = cipher(matterhook_config::DEV_ENCRYPTION_KEY);
        let new_key: EncryptionKey = "11".repeat(32).parse().expect("key");
        let rotated = Cipher::with_previous(
            &new_key,
            &[matterhook_config::DEV_ENCRYPTION_KEY.parse().expect("key")],
        );
        let secret = SecretString::from("refresh-token".to_owned());
        let sealed_old = old.seal(&secret, "ctx");
        assert_eq!(
            rotated
                .open(&sealed_old, "ctx")
                .expect("opens")
                .expose_secret(),
            "refresh-token"
        );
        assert!(!rotated.is_current(&sealed_old, "ctx"), "needs re-sealing");
        let sealed_new = rotated.seal(&secret, "ctx");
        assert!(rotated.is_current(&sealed_new, "ctx"));
        assert!(
            old.open(&sealed_new, "ctx").is_err(),
            "sealed under the new key"
        );
        assert!(
            rotated.open(&sealed_old, "other").is_err(),
            "context still bound"
        );
    }
}
