//! A demo firm, and bulk data for paging tests and benchmarks.

use serde::Serialize;
use serde_json::json;

use crate::{Kind, Sim, WriteError};

/// The ids of the seeded demo firm.
#[derive(Debug, Clone, Serialize)]
pub struct DemoFirm {
    /// The firm's account.
    pub account_id: i64,
    /// Attorney who connects matterhook in the demo.
    pub attorney_id: i64,
    /// A second attorney.
    pub partner_id: i64,
    /// A paralegal (non-attorney).
    pub staff_id: i64,
    /// Every contact.
    pub contact_ids: Vec<i64>,
    /// Every matter.
    pub matter_ids: Vec<i64>,
    /// Every bill.
    pub bill_ids: Vec<i64>,
    /// Custom field definitions: (name, id).
    pub custom_fields: Vec<(String, i64)>,
}

/// Seeds "Hartley & Finch LLP": three users, custom fields for matters and contacts, people and a
/// company with emails and phone numbers in several formats, matters in every status, and bills.
pub fn demo_firm(sim: &Sim) -> Result<DemoFirm, WriteError> {
    let account_id = sim.create_account("Hartley & Finch LLP");
    let user = |name: &str, email: &str, kind: &str, phone: &str| {
        sim.create(
            Kind::User,
            account_id,
            json!({"name": name, "email": email, "subscription_type": kind, "time_zone": "America/New_York", "phone_number": phone}),
        )
        .map(|w| w.id)
    };
    let attorney_id = user(
        "Alice Hartley",
        "alice@hartleyfinch.example",
        "Attorney",
        "+1 617 555 0101",
    )?;
    let partner_id = user(
        "Ben Finch",
        "ben@hartleyfinch.example",
        "Attorney",
        "+1 617 555 0102",
    )?;
    let staff_id = user(
        "Carla Diaz",
        "carla@hartleyfinch.example",
        "NonAttorney",
        "+1 617 555 0103",
    )?;

    let field = |name: &str, parent: &str, field_type: &str, options: serde_json::Value| {
        sim.create(Kind::CustomField, account_id, json!({"name": name, "parent_type": parent, "field_type": field_type, "picklist_options": options}))
            .map(|w| (name.to_owned(), w.id))
    };
    let custom_fields = vec![
        field("Referral source", "Matter", "text_line", json!([]))?,
        field("Skip review request", "Matter", "checkbox", json!([]))?,
        field(
            "Client tier",
            "Contact",
            "picklist",
            json!(["Standard", "Priority"]),
        )?,
        // The review platform routes a multi-office firm's requests by this picklist.
        field("Office", "Matter", "picklist", json!(["Boston", "Denver"]))?,
    ];

    let company = sim.create(Kind::Contact, account_id, json!({"type": "Company", "name": "Northwind Traders",
        "email_addresses": [{"address": "legal@northwind.example", "primary": true}],
        "phone_numbers": [{"number": "+1 (415) 555-0100", "name": "Main", "primary": true}], "is_client": true}))?;
    let people = [
        (
            "Jane",
            "Doe",
            "Jane.Doe@Example.com ",
            "(555) 123-4567",
            Some(company.id),
        ),
        (
            "José",
            "Álvarez",
            "jose.alvarez@example.com",
            "+1 555 987 6543",
            None,
        ),
        (
            "Mary",
            "O'Brien",
            "mary.obrien@example.org",
            "555.222.3333",
            None,
        ),
        (
            "Wei",
            "Chen",
            "wei.chen@example.net",
            "+44 20 7946 0958",
            None,
        ),
        (
            "Priya",
            "Natarajan",
            "priya@example.com",
            "+61 2 9374 4000",
            None,
        ),
    ];
    let mut contact_ids = vec![company.id];
    for (first, last, email, phone, employer) in people {
        let mut input = json!({"type": "Person", "first_name": first, "last_name": last, "is_client": true,
            "email_addresses": [{"address": email, "primary": true, "name": "Work"}],
            "phone_numbers": [{"number": phone, "primary": true, "name": "Mobile"}]});
        if let Some(id) = employer {
            input["company"] = json!({"id": id});
        }
        contact_ids.push(sim.create(Kind::Contact, account_id, input)?.id);
    }

    let referral_source = custom_fields[0].1;
    let matters = [
        (
            contact_ids[1],
            "Open",
            "Employment dispute",
            attorney_id,
            Some("Referred by Smith & Co"),
        ),
        (
            contact_ids[2],
            "Pending",
            "Immigration petition",
            partner_id,
            None,
        ),
        (
            contact_ids[3],
            "Closed",
            "Estate planning",
            attorney_id,
            Some("Website"),
        ),
        (
            contact_ids[0],
            "Open",
            "Commercial lease review",
            partner_id,
            None,
        ),
        (
            contact_ids[4],
            "Open",
            "Contract negotiation",
            attorney_id,
            None,
        ),
    ];
    let mut matter_ids = Vec::new();
    for (client, status, description, attorney, source) in matters {
        let mut input = json!({"client": {"id": client}, "status": status, "description": description,
            "responsible_attorney": {"id": attorney}, "originating_attorney": {"id": partner_id},
            "responsible_staff": {"id": staff_id}, "practice_area": {"id": 501, "name": "Litigation"}});
        if let Some(source) = source {
            input["custom_field_values"] =
                json!([{"custom_field": {"id": referral_source}, "value": source}]);
        }
        matter_ids.push(sim.create(Kind::Matter, account_id, input)?.id);
    }

    let bills = [
        (contact_ids[3], matter_ids[2], 2400.0, "paid"),
        (contact_ids[1], matter_ids[0], 1200.0, "awaiting_payment"),
    ];
    let mut bill_ids = Vec::new();
    for (client, matter, total, state) in bills {
        let input = json!({"client": {"id": client}, "matters": [{"id": matter}], "total": total, "state": state});
        bill_ids.push(sim.create(Kind::Bill, account_id, input)?.id);
    }
    let firm = DemoFirm {
        account_id,
        attorney_id,
        partner_id,
        staff_id,
        contact_ids,
        matter_ids,
        bill_ids,
        custom_fields,
    };
    sim.shared().state.lock().demo = Some(firm.clone());
    Ok(firm)
}

/// Creates `count` people in `account_id`, for paging and load.
pub fn bulk_contacts(sim: &Sim, account_id: i64, count: usize) -> Result<Vec<i64>, WriteError> {
    (0..count)
        .map(|i| {
            let input = json!({"type": "Person", "first_name": "Bulk", "last_name": format!("Contact{i:06}"),
                "email_addresses": [{"address": format!("bulk{i}@example.com"), "primary": true}]});
            sim.create(Kind::Contact, account_id, input).map(|w| w.id)
        })
        .collect()
}
