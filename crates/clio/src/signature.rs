//! Webhook signature verification.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Whether `header` (the `X-Hook-Signature` value) is HMAC-SHA256 of `body` keyed with `secret`.
///
/// Clio sends lowercase hex (seen on a live account); base64 is accepted too because Clio does not
/// document the encoding, and an optional `sha256=` prefix is ignored. The comparison is constant
/// time. A missing or malformed header is simply `false`.
pub fn verify_signature(secret: &[u8], body: &[u8], header: &str) -> bool {
    let header = header.trim();
    let header = header.strip_prefix("sha256=").unwrap_or(header);
    let Some(expected) = decode(header) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

fn decode(sig: &str) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
    match sig.len() {
        64 => hex::decode(sig).ok(),
        43 | 44 => STANDARD
            .decode(sig)
            .or_else(|_| URL_SAFE.decode(sig))
            .or_else(|_| URL_SAFE_NO_PAD.decode(sig))
            .ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(secret: &[u8], body: &[u8]) -> Vec<u8> {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("any key length");
        mac.update(body);
        mac.finalize().into_bytes().to_vec()
    }

    #[test]
    fn accepts_hex_in_either_case_base64_and_a_prefix() {
        let (secret, body) = (b"s3cret".as_slice(), br#"{"data":{"id":1}}"#.as_slice());
        let mac = sign(secret, body);
        let b64 = base64::engine::general_purpose::STANDARD.encode(&mac);
        assert!(verify_signature(secret, body, &hex::encode(&mac)));
        assert!(verify_signature(secret, body, &hex::encode_upper(&mac)));
        assert!(verify_signature(secret, body, &b64));
        assert!(verify_signature(
            secret,
            body,
            &format!("sha256={}", hex::encode(&mac))
        ));
    }

    #[test]
    fn refuses_wrong_secret_changed_body_and_garbage() {
        let mac = hex::encode(sign(b"s3cret", b"body"));
        assert!(!verify_signature(b"other", b"body", &mac));
        assert!(!verify_signature(b"s3cret", b"body!", &mac));
        assert!(!verify_signature(b"s3cret", b"body", ""));
        assert!(!verify_signature(b"s3cret", b"body", &mac[..63]));
        assert!(!verify_signature(b"s3cret", b"body", &"z".repeat(64)));
    }

    #[test]
    fn matches_rfc_4231_test_case_2() {
        // HMAC-SHA256(key = "Jefe", data = "what do ya want for nothing?").
        let expected = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
        assert!(verify_signature(
            b"Jefe",
            b"what do ya want for nothing?",
            expected
        ));
    }
}
