//! The key that encrypts tokens and webhook secrets at rest.

use std::{fmt, str::FromStr};

use base64::Engine;

/// A base64 key that only ever protects a developer's local data. `PublicArgs::validate` refuses it
/// whenever `MATTERHOOK_PUBLIC_URL` is not a loopback address.
pub const DEV_ENCRYPTION_KEY: &str = "bWF0dGVyaG9vay1kZXZlbG9wbWVudC1vbmx5LWtleSE=";

/// A 32-byte AES-256 key. Its `Debug` never shows the bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct EncryptionKey([u8; 32]);

/// Why a key was refused.
#[derive(Debug, thiserror::Error)]
#[error("the key must be 32 bytes, written as base64 (44 characters) or hex (64 characters)")]
pub struct EncryptionKeyError;

impl EncryptionKey {
    /// The raw key bytes, for the cipher.
    pub fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Whether this is [`DEV_ENCRYPTION_KEY`].
    pub fn is_dev_key(&self) -> bool {
        DEV_ENCRYPTION_KEY
            .parse::<Self>()
            .is_ok_and(|dev| dev == *self)
    }
}

impl FromStr for EncryptionKey {
    type Err = EncryptionKeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let bytes = if s.len() == 64 {
            hex::decode(s).map_err(|_| EncryptionKeyError)?
        } else {
            base64::engine::general_purpose::STANDARD
                .decode(s)
                .map_err(|_| EncryptionKeyError)?
        };
        bytes.try_into().map(Self).map_err(|_| EncryptionKeyError)
    }
}

impl fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EncryptionKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_base64_and_hex_and_refuses_other_lengths() {
        let b64: EncryptionKey = DEV_ENCRYPTION_KEY.parse().expect("dev key is valid");
        let hex_form = hex::encode(b64.bytes());
        assert_eq!(hex_form.parse::<EncryptionKey>().expect("hex"), b64);
        assert!("c2hvcnQ=".parse::<EncryptionKey>().is_err());
        assert!("zz".repeat(32).parse::<EncryptionKey>().is_err());
    }

    #[test]
    fn debug_hides_the_key() {
        let key: EncryptionKey = DEV_ENCRYPTION_KEY.parse().expect("valid");
        assert_eq!(format!("{key:?}"), "EncryptionKey(<redacted>)");
    }
}
