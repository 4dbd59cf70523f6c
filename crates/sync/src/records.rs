//! Clio's answers turned into mirror rows: typed, validated, normalised.

use chrono::{DateTime, Utc};
use matterhook_clio::models::{Bill, Contact, Matter};
use matterhook_domain::contact_points::{
    country_of, country_of_region, normalise_email, normalise_phone,
};
use matterhook_domain::money::{Currency, Money};
use matterhook_store::mirror::{BillRow, ContactRow, MatterRow, PhoneRow};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::SyncError;

/// One record as Clio answered: typed, and as read (kept in the mirror's `data`).
pub struct Read<T> {
    /// Typed.
    pub typed: T,
    /// As read.
    pub raw: Value,
}

/// Reads Clio's records, refusing any without a usable id: Clio answering that is not something
/// to store half-understood.
pub fn parse<T: DeserializeOwned>(
    raw: Vec<Value>,
    id: impl Fn(&T) -> i64,
) -> Result<Vec<Read<T>>, SyncError> {
    raw.into_iter()
        .map(|value| {
            let typed: T = serde_json::from_value(value.clone()).map_err(SyncError::Unreadable)?;
            if id(&typed) <= 0 {
                return Err(SyncError::NoId);
            }
            Ok(Read { typed, raw: value })
        })
        .collect()
}

/// In UTC, to the microsecond PostgreSQL keeps: a time read again must equal the time stored.
fn utc(t: Option<chrono::DateTime<chrono::FixedOffset>>) -> Option<DateTime<Utc>> {
    use chrono::SubsecRound;
    t.map(|t| t.with_timezone(&Utc).trunc_subsecs(6))
}

fn custom_values(raw: &Value) -> Value {
    raw.get("custom_field_values")
        .filter(|v| v.is_array())
        .cloned()
        .unwrap_or_else(|| Value::Array(Vec::new()))
}

fn visible_id<T>(
    r: Option<&T>,
    id: impl Fn(&T) -> i64,
    redacted: impl Fn(&T) -> bool,
) -> Option<i64> {
    r.filter(|x| !redacted(x)).map(id).filter(|id| *id > 0)
}

/// A matter's mirror row.
pub fn matter_row(account: i64, read: &Read<Matter>) -> MatterRow {
    let m = &read.typed;
    let client = m.client.as_ref().filter(|c| !c.redacted && c.id > 0);
    let user = |u: &Option<matterhook_clio::models::User>| {
        visible_id(u.as_ref(), |u| u.id, |u| u.redacted)
    };
    MatterRow {
        clio_account_id: account,
        clio_id: m.id,
        etag: m.etag.clone(),
        clio_updated_at: utc(m.updated_at),
        display_number: m.display_number.clone(),
        description: m.description.clone(),
        status: m.status.clone(),
        open_date: m.open_date,
        pending_date: m.pending_date,
        close_date: m.close_date,
        client_id: client.map(|c| c.id),
        client_name: client.and_then(|c| c.name.clone()),
        client_email: client
            .and_then(|c| c.primary_email_address.as_deref())
            .and_then(normalise_email),
        responsible_attorney_id: user(&m.responsible_attorney),
        originating_attorney_id: user(&m.originating_attorney),
        responsible_staff_id: user(&m.responsible_staff),
        practice_area: m
            .practice_area
            .as_ref()
            .filter(|p| !p.redacted)
            .and_then(|p| p.name.clone()),
        matter_stage: m
            .matter_stage
            .as_ref()
            .filter(|p| !p.redacted)
            .and_then(|p| p.name.clone()),
        custom_field_values: custom_values(&read.raw),
        data: read.raw.clone(),
        deleted_at: None,
    }
}

/// A contact's mirror row, with its normalised emails and phones. Phones are read in the
/// country of the contact's primary address, else the one the firm's Clio region implies.
pub fn contact_row(
    account: i64,
    region: &str,
    read: &Read<Contact>,
) -> (ContactRow, Vec<String>, Vec<PhoneRow>) {
    let c = &read.typed;
    let mut emails: Vec<String> = c
        .email_addresses
        .iter()
        .flatten()
        .filter_map(|e| e.address.as_deref())
        .chain(c.primary_email_address.as_deref())
        .filter_map(normalise_email)
        .collect();
    emails.sort();
    emails.dedup();
    let addresses = c.addresses.as_deref().unwrap_or_default();
    let country = addresses
        .iter()
        .find(|a| a.primary == Some(true))
        .or(addresses.first())
        .and_then(|a| a.country.as_deref())
        .and_then(country_of)
        .or_else(|| country_of_region(region));
    let mut raws: Vec<&str> = c
        .phone_numbers
        .iter()
        .flatten()
        .filter_map(|p| p.number.as_deref())
        .collect();
    if let Some(primary) = c.primary_phone_number.as_deref() {
        if !raws.contains(&primary) {
            raws.push(primary);
        }
    }
    let phones = raws
        .into_iter()
        .filter_map(|raw| {
            normalise_phone(raw, country).map(|p| PhoneRow {
                raw: raw.to_owned(),
                e164: p.e164,
                national: p.national,
                last_four: p.last_four,
            })
        })
        .collect();
    let company = c.company.as_ref().filter(|x| !x.redacted && x.id > 0);
    let row = ContactRow {
        clio_account_id: account,
        clio_id: c.id,
        etag: c.etag.clone(),
        clio_updated_at: utc(c.updated_at),
        kind: c.kind.clone(),
        name: c.name.clone(),
        first_name: c.first_name.clone(),
        middle_name: c.middle_name.clone(),
        last_name: c.last_name.clone(),
        title: c.title.clone(),
        company_id: company.map(|x| x.id),
        company_name: company.and_then(|x| x.name.clone()),
        date_of_birth: c.date_of_birth,
        is_client: c.is_client,
        primary_email: c.primary_email_address.as_deref().and_then(normalise_email),
        custom_field_values: custom_values(&read.raw),
        data: read.raw.clone(),
        deleted_at: None,
    };
    (row, emails, phones)
}

/// An amount Clio sent, in minor units of `currency`: exact (see [`Money::from_clio`]); an
/// amount that is no amount of it (not finite, out of range) is left unknown rather than wrong.
fn minor(amount: Option<f64>, currency: &Currency) -> Option<i64> {
    let amount = amount?;
    match Money::from_clio(amount, currency.clone()) {
        Ok(money) => Some(money.minor),
        Err(e) => {
            tracing::warn!(error = %e, "a bill amount from Clio was not stored");
            None
        }
    }
}

/// A bill's mirror row.
pub fn bill_row(account: i64, read: &Read<Bill>) -> BillRow {
    let b = &read.typed;
    let mut matter_ids: Vec<i64> = b
        .matters
        .iter()
        .flatten()
        .filter(|m| !m.redacted && m.id > 0)
        .map(|m| m.id)
        .collect();
    matter_ids.sort_unstable();
    matter_ids.dedup();
    // Clio's US default when a bill names no (usable) currency.
    let currency = b
        .currency
        .as_ref()
        .and_then(|c| Currency::new(c.code.as_deref()?, c.sign.as_deref()))
        .unwrap_or_else(Currency::usd);
    BillRow {
        clio_account_id: account,
        clio_id: b.id,
        etag: b.etag.clone(),
        clio_updated_at: utc(b.updated_at),
        number: b.number.clone(),
        state: b.state.clone(),
        total_minor: minor(b.total, &currency),
        paid_minor: minor(b.paid, &currency),
        balance_minor: minor(b.balance, &currency),
        paid_at: utc(b.paid_at),
        client_id: b
            .client
            .as_ref()
            .filter(|c| !c.redacted && c.id > 0)
            .map(|c| c.id),
        matter_ids,
        data: read.raw.clone(),
        deleted_at: None,
        currency: currency.code().to_owned(),
        currency_sign: currency.sign().map(str::to_owned),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use matterhook_domain::BillState;
    use serde_json::json;

    #[test]
    fn a_contact_is_normalised_for_lookups() {
        let raw = json!({
            "id": 7, "etag": "\"e\"", "name": "Jane Doe", "updated_at": "2026-01-02T03:04:05-05:00",
            "primary_email_address": " Jane@Example.com ",
            "email_addresses": [{"address": "JANE@example.com"}, {"address": "jd@work.example"}],
            "phone_numbers": [{"number": "(415) 555-2671"}],
            "addresses": [{"country": "Canada", "primary": true}],
            "company": {"id": 3, "name": "Acme"}
        });
        let read = parse::<Contact>(vec![raw], |c| c.id)
            .expect("parses")
            .remove(0);
        let (row, emails, phones) = contact_row(1, "us", &read);
        assert_eq!(emails, ["jane@example.com", "jd@work.example"]);
        assert_eq!(row.primary_email.as_deref(), Some("jane@example.com"));
        assert_eq!(row.company_name.as_deref(), Some("Acme"));
        assert_eq!(phones.len(), 1);
        // Canada shares +1 with the US: the address's country decides, and agrees.
        assert_eq!(phones[0].e164.as_deref(), Some("+14155552671"));
        assert_eq!(
            row.clio_updated_at.map(|t| t.to_rfc3339()),
            Some("2026-01-02T08:04:05+00:00".into())
        );
    }

    #[test]
    fn a_record_without_an_id_is_refused() {
        assert!(parse::<Contact>(vec![json!({"name": "x"})], |c| c.id).is_err());
        assert!(parse::<Contact>(vec![json!({"id": "abc"})], |c| c.id).is_err());
    }

    #[test]
    fn bill_amounts_become_minor_units_of_its_currency_and_matters_a_sorted_set() {
        let raw = json!({"id": 9, "state": "paid", "total": 1234.56, "paid": 0.1,
                         "matters": [{"id": 5}, {"id": 2}, {"id": 5}, {"redacted": true}]});
        let read = parse::<Bill>(vec![raw], |b| b.id)
            .expect("parses")
            .remove(0);
        let row = bill_row(1, &read);
        assert_eq!(row.total_minor, Some(123_456));
        assert_eq!(row.paid_minor, Some(10));
        assert_eq!(row.currency, "USD", "Clio's default");
        assert_eq!(row.matter_ids, [2, 5]);
        assert_eq!(row.state.as_ref().map(BillState::as_str), Some("paid"));
        let yen = json!({"id": 10, "total": 150000.0, "currency": {"code": "JPY", "sign": "¥"}});
        let read = parse::<Bill>(vec![yen], |b| b.id)
            .expect("parses")
            .remove(0);
        let yen = bill_row(1, &read);
        assert_eq!(
            (yen.total_minor, yen.currency.as_str()),
            (Some(150_000), "JPY")
        );
        assert_eq!(yen.total().expect("total").to_string(), "¥150,000");
    }
}
