//! The receiver's reading of a signed delivery body, and the envelope it publishes: any body is
//! refused with a reason or published, never a panic; and whatever it publishes, the workers'
//! decoder reads back as the same event (an accepted delivery that no worker can read would be
//! answered 2xx and then dead-lettered).
#![no_main]
use libfuzzer_sys::fuzz_target;
use matterhook_domain::{ClioId, Model};
use matterhook_receiver::parse::{event_id, parse, Origin};

fuzz_target!(|body: &[u8]| {
    let clean = matterhook_clio::without_nul(body);
    let Ok(delivery) = parse(&clean) else {
        return;
    };
    let id = event_id(1, body);
    let origin = Origin {
        event_id: &id,
        subscription_id: 1,
        connection_id: 2,
        model: Model::Matter,
        received_at: chrono::DateTime::UNIX_EPOCH,
        request_id: "fuzz",
    };
    let bytes = delivery.envelope(&origin).expect("an envelope always encodes");
    let read = matterhook_bus::Envelope::decode(&bytes)
        .unwrap_or_else(|e| panic!("published an envelope workers cannot read: {e}"));
    assert_eq!(read.event_id, id);
    assert_eq!(read.record_id(), delivery.record_id.map(ClioId));
    let clio = read.clio().expect("a Clio event");
    assert_eq!(clio.event, delivery.event);
    assert_eq!(clio.etag, delivery.etag);
    let data: serde_json::Value =
        serde_json::from_str(delivery.data.get()).expect("data was read as JSON");
    assert_eq!(clio.data, data, "data is forwarded as received");
});
