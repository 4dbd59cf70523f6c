//! A connection's settings document, as a user sends it: any JSON is accepted or refused with a
//! reason, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(document) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = matterhook_domain::settings::ConnectionSettings::parse(&document);
    }
});
