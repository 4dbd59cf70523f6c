//! What the mirror says of watched matters and their clients, as the watch rules read it.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use matterhook_domain::{watches::ClioFacts, MatterStatus};
use matterhook_store::{
    mirror::{ContactRow, MatterRow},
    watches,
};
use serde_json::Value;

/// A watched matter as mirrored.
#[derive(Debug, Clone, PartialEq)]
pub struct Source {
    /// The matter's client.
    pub client_id: Option<i64>,
    /// Its status.
    pub status: Option<MatterStatus>,
    /// When it was found deleted in Clio.
    pub deleted_at: Option<DateTime<Utc>>,
    /// The fields a watch takes from it.
    pub facts: ClioFacts,
}

/// The mirrored sources of these matters, by matter id (a matter the mirror never saw has none).
pub async fn load(
    conn: &mut AsyncPgConnection,
    account: i64,
    matters: &[i64],
) -> diesel::QueryResult<HashMap<i64, Source>> {
    let (matter_rows, client_rows) = watches::sources(conn, account, matters).await?;
    let clients: HashMap<i64, ContactRow> =
        client_rows.into_iter().map(|c| (c.clio_id, c)).collect();
    Ok(matter_rows
        .iter()
        .map(|m| {
            let client = m.client_id.and_then(|id| clients.get(&id));
            (m.clio_id, source(m, client))
        })
        .collect())
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// The city and state of a contact's primary address (the first listed when none is primary).
fn primary_address(data: &Value) -> (Option<String>, Option<String>) {
    let addresses = data
        .get("addresses")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let chosen = addresses
        .iter()
        .find(|a| a.get("primary").and_then(Value::as_bool) == Some(true))
        .or_else(|| addresses.first());
    chosen.map_or((None, None), |a| (text(a, "city"), text(a, "province")))
}

fn source(matter: &MatterRow, client: Option<&ContactRow>) -> Source {
    // The matter carries its client's names too; the client's own record, when mirrored, is the
    // fuller and fresher of the two.
    let nested = matter.data.get("client").cloned().unwrap_or(Value::Null);
    let live_client = client.filter(|c| c.deleted_at.is_none());
    let (city, state) = live_client.map_or((None, None), |c| primary_address(&c.data));
    Source {
        client_id: matter.client_id,
        status: matter.status.clone(),
        deleted_at: matter.deleted_at,
        facts: ClioFacts {
            first_name: live_client
                .and_then(|c| c.first_name.clone())
                .or_else(|| text(&nested, "first_name")),
            last_name: live_client
                .and_then(|c| c.last_name.clone())
                .or_else(|| text(&nested, "last_name")),
            date_of_birth: live_client.and_then(|c| c.date_of_birth),
            city,
            state,
            display_number: matter.display_number.clone(),
            responsible_attorney: matter
                .data
                .get("responsible_attorney")
                .and_then(|a| text(a, "name")),
            practice_area: matter.practice_area.clone(),
            open_date: matter.open_date,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_primary_address_wins_else_the_first() {
        let data = json!({"addresses": [
            {"city": "Salem", "province": "MA"},
            {"city": "Boston", "province": "MA", "primary": true}
        ]});
        assert_eq!(
            primary_address(&data),
            (Some("Boston".into()), Some("MA".into()))
        );
        let data = json!({"addresses": [{"city": " Salem ", "province": ""}]});
        assert_eq!(primary_address(&data), (Some("Salem".into()), None));
        assert_eq!(primary_address(&json!({})), (None, None));
    }
}
