//! Standard Webhooks signatures (standardwebhooks.com, "Signature scheme"): the signed content is
//! `{webhook-id}.{webhook-timestamp}.{body}`, signed with HMAC-SHA256 under the endpoint's secret
//! and sent as `webhook-signature: v1,<base64>`. The secret is shown to the app once as
//! `whsec_<base64 of its bytes>` (the spec's format, which its libraries accept as is).
//!
//! HMAC from aws-lc-rs: no hand-written crypto. Nothing here compares secrets: the receiver
//! verifies (in constant time, as the spec's libraries do).

use aws_lc_rs::hmac;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rand::Rng;

/// The prefix of a signing secret as shown to the app.
pub const SECRET_PREFIX: &str = "whsec_";
/// Secret bytes: the spec asks for 24 to 64; 32 = HMAC-SHA256's block-size-friendly key length.
pub const SECRET_BYTES: usize = 32;

/// A new signing secret's bytes.
pub fn new_secret() -> Vec<u8> {
    let mut buf = vec![0u8; SECRET_BYTES];
    rand::rng().fill_bytes(&mut buf);
    buf
}

/// `whsec_…`: how the secret is shown once (and what Standard Webhooks libraries take).
pub fn display_secret(secret: &[u8]) -> String {
    format!("{SECRET_PREFIX}{}", STANDARD.encode(secret))
}

/// The `webhook-signature` header value for `body` sent as message `id` at `timestamp`.
pub fn signature(secret: &[u8], id: &str, timestamp: i64, body: &str) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    let mut ctx = hmac::Context::with_key(&key);
    ctx.update(id.as_bytes());
    ctx.update(b".");
    ctx.update(timestamp.to_string().as_bytes());
    ctx.update(b".");
    ctx.update(body.as_bytes());
    format!("v1,{}", STANDARD.encode(ctx.sign().as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_hmac_of_id_timestamp_and_body_joined_by_dots() {
        let secret = b"a shared secret of 32 bytes!!!!!";
        let sig = signature(secret, "evt_1", 1_700_000_000, r#"{"a":1}"#);
        let tag = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, secret),
            br#"evt_1.1700000000.{"a":1}"#,
        );
        assert_eq!(sig, format!("v1,{}", STANDARD.encode(tag.as_ref())));
        assert_ne!(sig, signature(secret, "evt_2", 1_700_000_000, r#"{"a":1}"#));
        assert_ne!(sig, signature(secret, "evt_1", 1_700_000_001, r#"{"a":1}"#));
        assert_ne!(sig, signature(secret, "evt_1", 1_700_000_000, r#"{"a":2}"#));
    }

    #[test]
    fn the_spec_test_vector_verifies() {
        // Standard Webhooks' reference test vector (its libraries' test suites).
        let secret = STANDARD.decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let sig = signature(
            &secret,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
        );
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn secrets_are_fresh_and_shown_with_the_whsec_prefix() {
        let a = new_secret();
        assert_eq!(a.len(), SECRET_BYTES);
        assert_ne!(a, new_secret());
        let shown = display_secret(&a);
        let b64 = shown.strip_prefix(SECRET_PREFIX).unwrap();
        assert_eq!(STANDARD.decode(b64).unwrap(), a);
    }
}
