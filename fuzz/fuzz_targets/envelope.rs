//! What a worker reads off its queue (the current envelope, version 1's upgrade, domain and
//! writeback events): any bytes are an envelope or a decode error, never a panic; and an envelope
//! read is encoded and read again to the same event.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let Ok(envelope) = matterhook_bus::Envelope::decode(bytes) else {
        return;
    };
    let routing_key = envelope.routing_key();
    let _ = envelope.model();
    let again = serde_json::to_vec(&envelope).expect("an envelope always encodes");
    let read = matterhook_bus::Envelope::decode(&again)
        .unwrap_or_else(|e| panic!("an envelope we wrote does not read back: {e}"));
    assert_eq!(read, envelope);
    assert_eq!(read.routing_key(), routing_key);
});
