//! The email and phone normalisers and the referral name keys, on any text: never panic, and
//! normalising what they produced gives it back.
#![no_main]
use libfuzzer_sys::fuzz_target;
use matterhook_domain::{contact_points, referrals::keys};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(email) = contact_points::normalise_email(text) {
        assert_eq!(
            contact_points::normalise_email(&email).as_deref(),
            Some(email.as_str())
        );
    }
    let _ = contact_points::normalise_phone(text, None);
    let _ = contact_points::normalise_phone(text, Some(phonenumber::country::Id::US));
    let (first, last) = text.split_once('\n').unwrap_or((text, ""));
    let _ = keys::name_key(first, last);
});
