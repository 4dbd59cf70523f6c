//! The answer from Clio itself, for a firm whose first sync has not finished: at most two calls.
//!
//! 1. `GET contacts.json?query=<last four digits>`: Clio's `query` is a text search that does not
//!    normalise phone digits (`+15551234567` does not find `(555) 123-4567`), but a number typed
//!    in any spelling keeps its last four digits together, so they find every candidate, and each
//!    candidate's numbers are then normalised here and compared by the mirror's own rules.
//! 2. `GET matters.json?client_id=` for the one contact that matched (with several, their matters
//!    would take a call each; the answer names them without matters).

use matterhook_clio::{
    models::{Contact, Matter, User},
    Fields, Query,
};
use matterhook_connections::{CallError, Connections};
use matterhook_domain::{
    caller::{key_matching, Key, QueryForms},
    contact_points::{country_of, normalise_phone},
};
use phonenumber::country::Id as Country;

use crate::answer::{Answer, Candidate, MatterBody, Person, Source};

/// One page of candidates is all a ring can wait for.
const PAGE: usize = 200;

fn contact_fields() -> Fields {
    Fields::new()
        .with(["id", "name", "type", "primary_phone_number"])
        .nested("phone_numbers", ["id", "number", "primary"])
        .nested("addresses", ["country", "primary"])
}

fn matter_fields() -> Fields {
    Fields::new()
        .with([
            "id",
            "display_number",
            "description",
            "status",
            "updated_at",
        ])
        .nested("responsible_staff", ["id", "name", "email"])
        .nested("responsible_attorney", ["id", "name", "email"])
}

/// The strongest key by which `contact`'s numbers match, and the number that matched.
fn matching(
    contact: &Contact,
    forms: &QueryForms,
    firm_country: Option<Country>,
) -> Option<(Key, String)> {
    let addresses = contact.addresses.as_deref().unwrap_or_default();
    let country = addresses
        .iter()
        .find(|a| a.primary == Some(true))
        .or(addresses.first())
        .and_then(|a| a.country.as_deref())
        .and_then(country_of)
        .or(firm_country);
    contact
        .phone_numbers
        .iter()
        .flatten()
        .filter_map(|p| p.number.clone())
        .chain(contact.primary_phone_number.clone())
        .filter_map(|raw| {
            let phone = normalise_phone(&raw, country)?;
            key_matching(&phone, forms).map(|k| (k, raw))
        })
        .min_by_key(|(k, _)| strength(*k))
}

fn strength(key: Key) -> u8 {
    match key {
        Key::E164 => 0,
        Key::National => 1,
        Key::LastFour => 2,
    }
}

fn person(user: Option<User>) -> Option<Person> {
    user.filter(|u| u.id > 0 && !u.redacted).map(|u| Person {
        id: u.id,
        name: u.name,
        email: u.email,
        phone: u.phone_number,
    })
}

/// Looks the number up in Clio with `connection_id`'s token.
pub async fn lookup(
    connections: &Connections,
    connection_id: i64,
    forms: &QueryForms,
    firm_country: Option<Country>,
) -> Result<Answer, CallError> {
    let query = Query::new()
        .fields(&contact_fields())
        .param("query", forms.last_four.clone())
        .limit(PAGE);
    let (contacts, _) = connections
        .call(connection_id, |api| {
            let query = query.clone();
            async move { api.page::<Contact>("contacts.json", &query, None).await }
        })
        .await?;
    let matched: Vec<(Key, String, Contact)> = contacts
        .into_iter()
        .filter(|c| c.id > 0 && !c.redacted)
        .filter_map(|c| matching(&c, forms, firm_country).map(|(k, n)| (k, n, c)))
        .collect();
    let best = matched
        .iter()
        .map(|(k, _, _)| *k)
        .min_by_key(|k| strength(*k));
    let mut candidates: Vec<Candidate> = matched
        .into_iter()
        .filter(|(k, _, _)| Some(*k) == best)
        .map(|(_, number, c)| Candidate {
            id: c.id,
            name: c.name,
            kind: c.kind,
            number: Some(number),
            matters: Vec::new(),
        })
        .collect();
    candidates.sort_by_key(|c| c.id);
    let total = i64::try_from(candidates.len()).unwrap_or(i64::MAX);
    if let [only] = candidates.as_mut_slice() {
        let query = Query::new()
            .fields(&matter_fields())
            .param("client_id", only.id.to_string())
            .limit(PAGE);
        let (matters, _) = connections
            .call(connection_id, |api| {
                let query = query.clone();
                async move { api.page::<Matter>("matters.json", &query, None).await }
            })
            .await?;
        only.matters = matters
            .into_iter()
            .filter(|m| m.id > 0 && !m.redacted)
            .map(|m| MatterBody {
                id: m.id,
                display_number: m.display_number,
                description: m.description,
                status: m.status.map(|s| s.as_str().to_owned()),
                updated_at: m.updated_at.map(|t| t.to_utc()),
                responsible_staff: person(m.responsible_staff),
                responsible_attorney: person(m.responsible_attorney),
            })
            .collect();
    }
    candidates.truncate(crate::MAX_CONTACTS);
    Ok(Answer::decide(best, Source::Live, candidates, total))
}
