//! The answer from the mirror's phone index: one prepared statement for a whole number (two more
//! when only the last four digits can match), no Clio call.

use matterhook_domain::caller::Key;
use matterhook_store::caller::{LookupRow, UserCols};

use crate::answer::{Answer, Candidate, MatterBody, Person, Source};

fn person(id: Option<i64>, cols: Option<UserCols>) -> Option<Person> {
    id.map(|id| {
        let cols = cols.unwrap_or(UserCols {
            name: None,
            email: None,
            phone_number: None,
        });
        Person {
            id,
            name: cols.name,
            email: cols.email,
            phone: cols.phone_number,
        }
    })
}

/// The candidates `rows` name (in contact order; each contact's first number, its matters once).
pub fn candidates(rows: Vec<LookupRow>) -> Vec<Candidate> {
    let mut candidates: Vec<Candidate> = Vec::new();
    for row in rows {
        if candidates.last().map(|c| c.id) != Some(row.contact_id) {
            candidates.push(Candidate {
                id: row.contact_id,
                name: row.contact_name,
                kind: row.contact_kind,
                number: Some(row.raw),
                matters: Vec::new(),
            });
        }
        let (Some(m), Some(candidate)) = (row.matter, candidates.last_mut()) else {
            continue;
        };
        // A contact with the number twice has each matter on two rows.
        if candidate.matters.iter().any(|known| known.id == m.id) {
            continue;
        }
        candidate.matters.push(MatterBody {
            id: m.id,
            display_number: m.display_number,
            description: m.description,
            status: m.status,
            updated_at: m.updated_at,
            responsible_staff: person(m.staff_id, row.staff),
            responsible_attorney: person(m.attorney_id, row.attorney),
        });
    }
    candidates
}

/// The answer the rows found by `key` make.
pub fn answer(rows: Vec<LookupRow>, key: Key) -> Answer {
    let mut found = candidates(rows);
    let total = i64::try_from(found.len()).unwrap_or(i64::MAX);
    found.truncate(crate::MAX_CONTACTS);
    Answer::decide(Some(key), Source::Mirror, found, total)
}
