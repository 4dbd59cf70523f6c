//! Making one review request: the facts read from the mirror and the store, the rules applied
//! ([`matterhook_domain::review::eligibility`]), the request stored once, held back with its
//! reason when the rules say so.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use matterhook_domain::{
    review::{due_at, eligibility, Eligibility, Facts, Stage},
    settings::{ConnectionSettings, ReviewSettings, Trigger},
};
use matterhook_store::{
    mirror::{self, MatterRow},
    review_requests::{self as store, state, Refreshed, ReviewRequest},
    settings::ReviewConnection,
};
use serde_json::Value;

/// Why a request could not be made or re-checked.
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    /// The store failed.
    #[error("database")]
    Database(#[from] diesel::result::Error),
    /// The connection's stored settings no longer read (changed outside the API).
    #[error("the settings of connection {0} do not read")]
    Settings(i64, #[source] matterhook_domain::settings::SettingsError),
}

/// A connection's review settings, from its stored document.
pub fn settings_of(rc: &ReviewConnection) -> Result<ReviewSettings, ReviewError> {
    ConnectionSettings::parse(&rc.document)
        .map(|s| s.review_requests)
        .map_err(|e| ReviewError::Settings(rc.connection_id, e))
}

/// The matter's client as the request names them.
struct Client {
    id: Option<i64>,
    first_name: Option<String>,
    last_name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
}

/// The client from the mirror: their contact row, else what the matter holds of them. A company
/// client's name is its first name.
async fn client_of(
    conn: &mut AsyncPgConnection,
    matter: &MatterRow,
) -> Result<Client, ReviewError> {
    let nested = matter.data.get("client").unwrap_or(&Value::Null);
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_owned);
    let contact = match matter.client_id {
        Some(id) => mirror::contact(conn, matter.clio_account_id, id).await?,
        None => None,
    }
    .filter(|c| c.deleted_at.is_none());
    let company = contact
        .as_ref()
        .and_then(|c| c.kind.as_deref())
        .or(nested.get("type").and_then(Value::as_str))
        == Some("Company");
    let (first_name, last_name) = if company {
        let name = contact
            .as_ref()
            .and_then(|c| c.name.clone())
            .or_else(|| text(nested, "name"));
        (name, None)
    } else {
        (
            contact
                .as_ref()
                .and_then(|c| c.first_name.clone())
                .or_else(|| text(nested, "first_name")),
            contact
                .as_ref()
                .and_then(|c| c.last_name.clone())
                .or_else(|| text(nested, "last_name")),
        )
    };
    let email = contact
        .as_ref()
        .and_then(|c| c.primary_email.clone())
        .or_else(|| text(nested, "primary_email_address"));
    let phone = contact
        .as_ref()
        .and_then(|c| text(&c.data, "primary_phone_number"))
        .or_else(|| text(nested, "primary_phone_number"));
    Ok(Client {
        id: matter.client_id,
        first_name,
        last_name,
        email,
        phone,
    })
}

/// The location picklist's options (id to label), when the firm has one.
async fn location_options(
    conn: &mut AsyncPgConnection,
    account: i64,
    settings: &ReviewSettings,
) -> Result<BTreeMap<i64, String>, ReviewError> {
    let Some(field) = &settings.location_field else {
        return Ok(BTreeMap::new());
    };
    let key = matterhook_domain::settings::location_key(field);
    let mut options = BTreeMap::new();
    for def in mirror::custom_fields_of(conn, account, "Matter").await? {
        if def
            .name
            .as_deref()
            .map(matterhook_domain::settings::location_key)
            != Some(key.clone())
        {
            continue;
        }
        for o in def
            .data
            .get("picklist_options")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let (Some(id), Some(label)) = (
                o.get("id").and_then(Value::as_i64),
                o.get("option").and_then(Value::as_str),
            ) {
                options.insert(id, label.to_owned());
            }
        }
    }
    Ok(options)
}

/// What one evaluation needs beyond the connection.
pub struct Occasion {
    /// The matter.
    pub matter_id: i64,
    /// What made it.
    pub trigger: Trigger,
    /// When the matter entered the trigger status (or the button was pressed).
    pub triggered_at: DateTime<Utc>,
    /// Now.
    pub now: DateTime<Utc>,
    /// A manual request past the cooldown.
    pub force: bool,
}

/// Applies the rules at `stage` for `occasion`: the matter (when still mirrored) and the verdict.
async fn evaluate(
    conn: &mut AsyncPgConnection,
    rc: &ReviewConnection,
    settings: &ReviewSettings,
    occasion: &Occasion,
    stage: Stage,
    exclude_request: Option<i64>,
) -> Result<Option<(MatterRow, Client, Verdict)>, ReviewError> {
    let Some(matter) = mirror::matter(conn, rc.clio_account_id, occasion.matter_id).await? else {
        return Ok(None);
    };
    if matter.deleted_at.is_some() {
        return Ok(None);
    }
    let client = client_of(conn, &matter).await?;
    let options = location_options(conn, rc.clio_account_id, settings).await?;
    // The request under evaluation does not cool its own client down.
    let last_asked = match client.id {
        Some(id) => store::last_asked(conn, rc.connection_id, id, exclude_request).await?,
        None => None,
    };
    let e: Eligibility<'_> = eligibility(&Facts {
        settings,
        trigger: occasion.trigger,
        stage,
        now: occasion.now,
        triggered_at: occasion.triggered_at,
        matter_status: matter.status.as_ref(),
        custom_values: &matter.custom_field_values,
        location_options: &options,
        custom_fields_forbidden: rc.custom_fields_forbidden_at.is_some(),
        connection: rc.status,
        email: client.email.as_deref(),
        phone: client.phone.as_deref(),
        country: matterhook_domain::contact_points::country_of_region(&rc.region),
        last_asked,
        force: occasion.force,
    });
    let verdict = Verdict {
        restricted: e.restricted.map(|r| r.as_ref().to_owned()),
        location: e
            .location
            .map(|l| (l.name.trim().to_owned(), l.business_id.clone())),
        due_at: due_at(settings, e.location, occasion.triggered_at),
        email: e.email,
        phone: e.phone,
    };
    Ok(Some((matter, client, verdict)))
}

/// What the rules decided, owned.
struct Verdict {
    restricted: Option<String>,
    location: Option<(String, String)>,
    due_at: DateTime<Utc>,
    email: Option<String>,
    phone: Option<String>,
}

/// Makes the request of `occasion` through connection `rc` with its `settings` (read once by the
/// caller): scheduled, or restricted with its reason. Once per (matter, status trigger): `None`
/// when it exists already, or when the matter is not mirrored.
pub async fn create(
    conn: &mut AsyncPgConnection,
    rc: &ReviewConnection,
    settings: &ReviewSettings,
    occasion: &Occasion,
) -> Result<Option<ReviewRequest>, ReviewError> {
    let Some((matter, client, verdict)) =
        evaluate(conn, rc, settings, occasion, Stage::Creating, None).await?
    else {
        return Ok(None);
    };
    let (location, business_id) = verdict.location.unzip();
    let mut request = ReviewRequest {
        id: 0,
        connection_id: rc.connection_id,
        clio_account_id: rc.clio_account_id,
        matter_id: matter.clio_id,
        trigger: occasion.trigger.as_ref().to_owned(),
        triggered_at: occasion.triggered_at,
        due_at: verdict.due_at,
        state: if verdict.restricted.is_some() {
            state::RESTRICTED
        } else {
            state::SCHEDULED
        }
        .to_owned(),
        reason: verdict.restricted,
        client_id: client.id,
        first_name: client.first_name,
        last_name: client.last_name,
        email: verdict.email,
        phone: verdict.phone,
        location,
        business_id,
        display_number: matter.display_number.clone(),
        responsible_attorney_id: matter.responsible_attorney_id,
        forced: occasion.force && occasion.trigger == Trigger::Manual,
        created_at: occasion.now,
        updated_at: occasion.now,
        sent_at: None,
    };
    let Some(id) = store::insert_once(conn, &request).await? else {
        return Ok(None);
    };
    request.id = id;
    Ok(Some(request))
}

/// A scheduled request has fallen due: the rules again, on the matter and client as they are
/// now. Returns the new state, the reason, and what the request carries now.
pub async fn recheck(
    conn: &mut AsyncPgConnection,
    rc: &ReviewConnection,
    request: &ReviewRequest,
    now: DateTime<Utc>,
) -> Result<(&'static str, Option<String>, Refreshed), ReviewError> {
    let settings = settings_of(rc)?;
    let trigger = request.trigger.parse().unwrap_or(Trigger::Manual);
    let occasion = Occasion {
        matter_id: request.matter_id,
        trigger,
        triggered_at: request.triggered_at,
        now,
        // Only a manual request its user forced was past the cooldown on purpose.
        force: request.forced,
    };
    let kept = Refreshed {
        email: request.email.clone(),
        phone: request.phone.clone(),
        location: request.location.clone(),
        business_id: request.business_id.clone(),
    };
    let verdict = evaluate(conn, rc, &settings, &occasion, Stage::Due, Some(request.id)).await?;
    Ok(match verdict {
        // Deleted in Clio since.
        None => (state::CANCELLED, Some("status_changed".into()), kept),
        Some((_, _, v)) => {
            let (location, business_id) = v.location.unzip();
            let now = Refreshed {
                email: v.email,
                phone: v.phone,
                location,
                business_id,
            };
            match v.restricted.as_deref() {
                None => (state::DUE, None, now),
                Some("status_changed") => (state::CANCELLED, v.restricted, kept),
                Some(_) => (state::RESTRICTED, v.restricted, now),
            }
        }
    })
}
