//! The answer from the mirror's phone index: one statement, no Clio call.

use matterhook_domain::caller::Key;
use matterhook_store::caller::LookupRow;

use crate::answer::{Answer, Candidate, MatterBody, Person, Source};

/// Whether the statement's gate let the key through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// Looked up.
    Open,
    /// The key was revoked.
    Revoked,
    /// The key's connection was disconnected.
    Disconnected,
}

fn person(
    id: Option<i64>,
    name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
) -> Option<Person> {
    id.map(|id| Person {
        id,
        name,
        email,
        phone,
    })
}

fn key_of(matched_by: Option<&str>) -> Option<Key> {
    match matched_by? {
        "e164" => Some(Key::E164),
        "national" => Some(Key::National),
        "last_four" => Some(Key::LastFour),
        _ => None,
    }
}

/// The gate's verdict and the answer the rows make.
pub fn answer(rows: Vec<LookupRow>) -> (Gate, Answer) {
    let gate = match rows.first().map(|r| r.gate.as_str()) {
        Some("ok") => Gate::Open,
        Some("disconnected") => Gate::Disconnected,
        _ => Gate::Revoked,
    };
    let key = rows.first().and_then(|r| key_of(r.matched_by.as_deref()));
    let total = rows.first().and_then(|r| r.candidates).unwrap_or(0);
    let mut candidates: Vec<Candidate> = Vec::new();
    for row in rows {
        let Some(contact_id) = row.contact_id else {
            continue;
        };
        if candidates.last().map(|c| c.id) != Some(contact_id) {
            candidates.push(Candidate {
                id: contact_id,
                name: row.contact_name,
                kind: row.contact_kind,
                number: row.number,
                matters: Vec::new(),
            });
        }
        if let (Some(id), Some(candidate)) = (row.matter_id, candidates.last_mut()) {
            candidate.matters.push(MatterBody {
                id,
                display_number: row.display_number,
                description: row.description,
                status: row.status,
                updated_at: row.matter_updated_at,
                responsible_staff: person(
                    row.staff_id,
                    row.staff_name,
                    row.staff_email,
                    row.staff_phone,
                ),
                responsible_attorney: person(
                    row.attorney_id,
                    row.attorney_name,
                    row.attorney_email,
                    row.attorney_phone,
                ),
            });
        }
    }
    (gate, Answer::decide(key, Source::Mirror, candidates, total))
}
