//! The review platform's rules: whether a matter's client may be asked for a review now, and if
//! not, why. One pure function ([`eligibility`]), evaluated when a request is created and again
//! when it falls due (the matter may have been reopened, the box ticked, the email removed).

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use crate::{
    contact_points::{normalise_email, normalise_phone},
    settings::{location_key, Location, ReviewSettings, Trigger},
    ConnectionStatus, MatterStatus,
};

/// Why a request is held back (or, for `status_changed`, cancelled).
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::AsRefStr, strum::EnumString, strum::Display)]
#[strum(serialize_all = "snake_case")]
pub enum Reason {
    /// The matter's opt-out checkbox is set.
    OptedOut,
    /// The client has neither a valid email nor a valid phone.
    NoContactPoint,
    /// Clio refuses to show custom fields: the opt-out cannot be seen, so nothing is sent.
    CustomFieldsForbidden,
    /// The connection needs reauthorization or is disconnected.
    NotAuthorized,
    /// The product, the trigger or the matter's location is off.
    Inactive,
    /// A multi-location firm, and the matter's location matches none configured.
    LocationUnmapped,
    /// The client was asked within the cooldown.
    Cooldown,
    /// The matter entered its trigger status longer ago than the maximum age.
    TooOld,
    /// When due, the matter is no longer in the trigger status.
    StatusChanged,
}

/// When the rules are applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The request is being created.
    Creating,
    /// The request has fallen due.
    Due,
}

/// What the rules look at. The caller reads it all from the mirror and the store.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    /// The connection's review settings.
    pub settings: &'a ReviewSettings,
    /// What made the request.
    pub trigger: Trigger,
    /// Creating it, or now due.
    pub stage: Stage,
    /// Now.
    pub now: DateTime<Utc>,
    /// When the matter entered the trigger status (or the button was pressed).
    pub triggered_at: DateTime<Utc>,
    /// The matter's status now.
    pub matter_status: Option<&'a MatterStatus>,
    /// The matter's `custom_field_values` as Clio sent them.
    pub custom_values: &'a Value,
    /// The location picklist's options (id to label), from its definition.
    pub location_options: &'a BTreeMap<i64, String>,
    /// Clio refused to show the firm's custom fields.
    pub custom_fields_forbidden: bool,
    /// The connection's state.
    pub connection: ConnectionStatus,
    /// The client's primary email, as Clio has it.
    pub email: Option<&'a str>,
    /// The client's primary phone, as Clio has it.
    pub phone: Option<&'a str>,
    /// The country a number without one is read in (the firm's Clio region's).
    pub country: Option<phonenumber::country::Id>,
    /// When this client was last asked (another request, not held back), if ever.
    pub last_asked: Option<DateTime<Utc>>,
    /// A manual request that overrides the cooldown.
    pub force: bool,
}

/// What the rules decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Eligibility<'a> {
    /// `None`: send. Else why not.
    pub restricted: Option<Reason>,
    /// The matter's configured location, when the firm has locations and it matched.
    pub location: Option<&'a Location>,
    /// The client's email, normalised, when valid.
    pub email: Option<String>,
    /// The client's phone in E.164, when valid.
    pub phone: Option<String>,
}

/// The status a status trigger waits for.
fn trigger_status(trigger: Trigger) -> Option<MatterStatus> {
    match trigger {
        Trigger::Closed => Some(MatterStatus::Closed),
        Trigger::Pending => Some(MatterStatus::Pending),
        Trigger::Open => Some(MatterStatus::Open),
        Trigger::Manual => None,
    }
}

/// The trigger a matter entering `status` pulls.
pub fn trigger_of(status: &MatterStatus) -> Option<Trigger> {
    match status {
        MatterStatus::Closed => Some(Trigger::Closed),
        MatterStatus::Pending => Some(Trigger::Pending),
        MatterStatus::Open => Some(Trigger::Open),
        MatterStatus::Other(_) => None,
    }
}

/// Whether a checkbox value is ticked: Clio may send `true`, `"true"`, `1`, `"1"`, `"Yes"` or
/// `"checked"`.
pub fn ticked(value: &Value) -> bool {
    match value {
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_i64() == Some(1),
        Value::String(s) => matches!(
            s.trim().to_lowercase().as_str(),
            "true" | "1" | "yes" | "y" | "checked" | "on"
        ),
        _ => false,
    }
}

/// The value of the custom field named `name` (trimmed, ignoring case) among `values`.
fn custom_value<'v>(values: &'v Value, name: &str) -> Option<&'v Value> {
    let wanted = location_key(name);
    values.as_array()?.iter().find_map(|v| {
        let field = v.get("field_name")?.as_str()?;
        (location_key(field) == wanted).then(|| v.get("value").unwrap_or(&Value::Null))
    })
}

/// The label a location picklist value stands for: its option's label, or the value itself when
/// Clio sent text.
fn location_label(value: &Value, options: &BTreeMap<i64, String>) -> Option<String> {
    let id = value
        .as_i64()
        .or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()));
    match id {
        Some(id) => options.get(&id).cloned(),
        None => value.as_str().map(str::to_owned),
    }
}

/// Whether the matter's client may be asked now, and what the request carries.
pub fn eligibility<'a>(facts: &Facts<'a>) -> Eligibility<'a> {
    let email = facts.email.and_then(normalise_email);
    let phone = facts
        .phone
        .and_then(|p| normalise_phone(p, facts.country))
        .and_then(|p| p.e164);
    let s = facts.settings;
    let mut location = None;
    let restricted = (|| {
        // A matter that left its trigger status is cancelled whatever else holds it back.
        if facts.stage == Stage::Due {
            if let Some(wanted) = trigger_status(facts.trigger) {
                if facts.matter_status != Some(&wanted) {
                    return Some(Reason::StatusChanged);
                }
            }
        }
        if facts.connection != ConnectionStatus::Connected {
            return Some(Reason::NotAuthorized);
        }
        if !s.enabled || !s.triggers.contains(&facts.trigger) {
            return Some(Reason::Inactive);
        }
        if facts.custom_fields_forbidden {
            return Some(Reason::CustomFieldsForbidden);
        }
        if custom_value(facts.custom_values, &s.dont_send_field).is_some_and(ticked) {
            return Some(Reason::OptedOut);
        }
        if facts.stage == Stage::Creating
            && facts.trigger != Trigger::Manual
            && facts.now - facts.triggered_at > Duration::days(i64::from(s.max_age_days))
        {
            return Some(Reason::TooOld);
        }
        if let Some(field) = &s.location_field {
            let label = custom_value(facts.custom_values, field)
                .and_then(|v| location_label(v, facts.location_options));
            let found = label.and_then(|label| {
                let key = location_key(&label);
                s.locations.iter().find(|l| location_key(&l.name) == key)
            });
            match found {
                None => return Some(Reason::LocationUnmapped),
                Some(l) if !l.active => return Some(Reason::Inactive),
                Some(l) => location = Some(l),
            }
        }
        let cooling = s.cooldown_days > 0
            && facts
                .last_asked
                .is_some_and(|at| facts.now - at < Duration::days(i64::from(s.cooldown_days)));
        if cooling && !facts.force {
            return Some(Reason::Cooldown);
        }
        if email.is_none() && phone.is_none() {
            return Some(Reason::NoContactPoint);
        }
        None
    })();
    Eligibility {
        restricted,
        location,
        email,
        phone,
    }
}

/// When a request made at `triggered_at` falls due: after the location's delay, else the
/// section's.
pub fn due_at(
    settings: &ReviewSettings,
    location: Option<&Location>,
    triggered_at: DateTime<Utc>,
) -> DateTime<Utc> {
    let days = location
        .and_then(|l| l.delay_days)
        .unwrap_or(settings.delay_days);
    triggered_at + Duration::days(i64::from(days))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn on() -> ReviewSettings {
        ReviewSettings {
            enabled: true,
            ..ReviewSettings::default()
        }
    }

    fn at(day: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + day * 86_400, 0).expect("time")
    }

    struct Case {
        settings: ReviewSettings,
        values: Value,
        options: BTreeMap<i64, String>,
    }

    impl Case {
        fn new(settings: ReviewSettings, values: Value) -> Self {
            Self {
                settings,
                values,
                options: BTreeMap::from([(7, "Boston ".to_owned()), (8, "Denver".to_owned())]),
            }
        }

        fn facts(&self) -> Facts<'_> {
            Facts {
                settings: &self.settings,
                trigger: Trigger::Closed,
                stage: Stage::Creating,
                now: at(0),
                triggered_at: at(0),
                matter_status: Some(&MatterStatus::Closed),
                custom_values: &self.values,
                location_options: &self.options,
                custom_fields_forbidden: false,
                connection: ConnectionStatus::Connected,
                email: Some(" Jane.Doe@Example.com"),
                phone: Some("+1 415 555 0100"),
                country: None,
                last_asked: None,
                force: false,
            }
        }
    }

    fn reason(f: &Facts<'_>) -> Option<Reason> {
        eligibility(f).restricted
    }

    #[test]
    fn a_closed_matter_of_a_reachable_client_is_sent() {
        let c = Case::new(on(), json!([]));
        let e = eligibility(&c.facts());
        assert_eq!(e.restricted, None);
        assert_eq!(e.email.as_deref(), Some("jane.doe@example.com"));
        assert_eq!(e.phone.as_deref(), Some("+14155550100"));
    }

    #[test]
    fn the_opt_out_box_is_read_under_its_custom_name_however_clio_spells_true() {
        let settings = ReviewSettings {
            dont_send_field: "No Review Please".into(),
            ..on()
        };
        for value in [
            json!(true),
            json!("true"),
            json!("1"),
            json!(1),
            json!("Yes"),
            json!("checked"),
        ] {
            let c = Case::new(
                settings.clone(),
                json!([{"field_name": "  no review please ", "value": value}]),
            );
            assert_eq!(reason(&c.facts()), Some(Reason::OptedOut), "{value}");
        }
        for value in [json!(false), json!("false"), json!(null), json!("0")] {
            let c = Case::new(
                settings.clone(),
                json!([{"field_name": "No Review Please", "value": value}]),
            );
            assert_eq!(reason(&c.facts()), None, "{value}");
        }
    }

    #[test]
    fn every_reason_to_hold_back() {
        let c = Case::new(on(), json!([]));
        let mut f = c.facts();
        f.connection = ConnectionStatus::NeedsReauth;
        assert_eq!(reason(&f), Some(Reason::NotAuthorized));

        let off = Case::new(ReviewSettings::default(), json!([]));
        assert_eq!(reason(&off.facts()), Some(Reason::Inactive));
        let mut f = c.facts();
        f.trigger = Trigger::Pending;
        assert_eq!(reason(&f), Some(Reason::Inactive), "a trigger not chosen");

        let mut f = c.facts();
        f.custom_fields_forbidden = true;
        assert_eq!(reason(&f), Some(Reason::CustomFieldsForbidden));

        let mut f = c.facts();
        f.email = Some("not an email");
        f.phone = Some("12");
        assert_eq!(reason(&f), Some(Reason::NoContactPoint));
        f.phone = Some("+44 20 7946 0958");
        assert_eq!(reason(&f), None, "a phone alone will do");

        let mut f = c.facts();
        f.now = at(2);
        assert_eq!(reason(&f), Some(Reason::TooOld));
        f.stage = Stage::Due;
        assert_eq!(reason(&f), None, "age is judged at creation only");

        let mut f = c.facts();
        f.stage = Stage::Due;
        f.matter_status = Some(&MatterStatus::Open);
        assert_eq!(reason(&f), Some(Reason::StatusChanged));
        f.connection = ConnectionStatus::Disconnected;
        assert_eq!(
            reason(&f),
            Some(Reason::StatusChanged),
            "a reopened matter is cancelled, whatever else holds it"
        );

        let mut f = c.facts();
        f.last_asked = Some(at(-89));
        assert_eq!(reason(&f), Some(Reason::Cooldown));
        f.force = true;
        assert_eq!(reason(&f), None, "forced");
        f.force = false;
        f.last_asked = Some(at(-91));
        assert_eq!(reason(&f), None, "the cooldown is over");
        let off = Case::new(
            ReviewSettings {
                cooldown_days: 0,
                ..on()
            },
            json!([]),
        );
        let mut f = off.facts();
        f.last_asked = Some(at(3));
        assert_eq!(
            reason(&f),
            None,
            "no cooldown, even behind a request still to come"
        );
    }

    #[test]
    fn a_multi_location_firm_routes_by_the_trimmed_picklist_label() {
        let settings = ReviewSettings {
            location_field: Some("Office".into()),
            locations: vec![
                Location {
                    name: "boston".into(),
                    business_id: "biz-bos".into(),
                    active: true,
                    delay_days: Some(3),
                },
                Location {
                    name: "Denver".into(),
                    business_id: "biz-den".into(),
                    active: false,
                    delay_days: None,
                },
            ],
            ..on()
        };
        let routed = |value: Value| {
            let c = Case::new(
                settings.clone(),
                json!([{"field_name": "Office", "value": value}]),
            );
            let e = eligibility(&c.facts());
            (e.restricted, e.location.map(|l| l.business_id.clone()))
        };
        assert_eq!(routed(json!(7)), (None, Some("biz-bos".into())));
        assert_eq!(routed(json!("7")), (None, Some("biz-bos".into())));
        assert_eq!(routed(json!(8)), (Some(Reason::Inactive), None));
        assert_eq!(routed(json!(9)), (Some(Reason::LocationUnmapped), None));
        assert_eq!(routed(json!(null)), (Some(Reason::LocationUnmapped), None));
        let boston = &settings.locations[0];
        assert_eq!(due_at(&settings, Some(boston), at(0)), at(3));
        assert_eq!(due_at(&settings, None, at(0)), at(0));
    }
}
