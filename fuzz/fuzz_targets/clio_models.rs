//! Every Clio model and page the client decodes (records, lists with their paging links, who-am-i,
//! webhooks): decoding any bytes never panics.
#![no_main]
use libfuzzer_sys::fuzz_target;
use matterhook_clio::models::{
    Bill, Contact, CustomField, Envelope, ListEnvelope, Matter, Note, User, Webhook, WhoAmI,
};

fn round_trip<T: serde::de::DeserializeOwned + std::fmt::Debug>(data: &[u8]) {
    if let Ok(value) = serde_json::from_slice::<T>(data) {
        // Touch every field, as the client's callers would.
        let _ = format!("{value:?}");
    }
}

fuzz_target!(|data: &[u8]| {
    round_trip::<ListEnvelope<Matter>>(data);
    round_trip::<Envelope<Matter>>(data);
    round_trip::<ListEnvelope<Contact>>(data);
    round_trip::<ListEnvelope<Bill>>(data);
    round_trip::<ListEnvelope<User>>(data);
    round_trip::<ListEnvelope<CustomField>>(data);
    round_trip::<Envelope<Note>>(data);
    round_trip::<Envelope<Webhook>>(data);
    round_trip::<Envelope<WhoAmI>>(data);
});
