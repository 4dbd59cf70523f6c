//! The `watches` section of a connection's settings, and when an automatic sync is due.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::ConflictPolicy;

/// How often watches re-sync on their own.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, strum::Display)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Frequency {
    /// Once a day.
    #[default]
    Daily,
    /// Once a week.
    Weekly,
    /// Only when asked (a button, a login).
    Manual,
}

/// The `watches` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WatchSettings {
    /// Whose value wins when the user edited a field Clio also changed.
    pub conflict: ConflictPolicy,
    /// Practice area -> case type (matched without regard to case); unmapped areas keep their
    /// name.
    pub mapping: BTreeMap<String, String>,
    /// Whether watches re-sync on their own at `frequency`.
    pub auto_sync: bool,
    /// How often, when `auto_sync` is on.
    pub frequency: Frequency,
    /// A login (`POST /api/sessions`) syncs when the last sync is over an hour old.
    pub sync_on_login: bool,
}

impl Default for WatchSettings {
    fn default() -> Self {
        Self {
            conflict: ConflictPolicy::KeepLocal,
            mapping: BTreeMap::new(),
            auto_sync: false,
            frequency: Frequency::Daily,
            sync_on_login: false,
        }
    }
}

/// The most entries a mapping table may hold.
pub const MAX_MAPPING: usize = 500;

/// How old the last sync must be for a login to start one.
pub const LOGIN_STALE_AFTER: Duration = Duration::hours(1);

impl WatchSettings {
    /// What is wrong with the section, as (field under `watches.`, message).
    pub fn problem(&self) -> Option<(String, &'static str)> {
        if self.mapping.len() > MAX_MAPPING {
            return Some(("mapping".into(), "at most 500 entries"));
        }
        let mut seen = std::collections::BTreeSet::new();
        for (from, to) in &self.mapping {
            let bad = |s: &str| s.trim().is_empty() || s.chars().count() > 255;
            if bad(from) || bad(to) {
                return Some((
                    format!("mapping.{from}"),
                    "practice area and case type must be 1 to 255 characters",
                ));
            }
            // Matching ignores case: two keys differing only in case would be ambiguous.
            if !seen.insert(from.trim().to_lowercase()) {
                return Some((
                    format!("mapping.{from}"),
                    "maps a practice area already mapped (names match without regard to case)",
                ));
            }
        }
        None
    }

    /// Whether an automatic sync is due, the last having run at `last` (never: `None`).
    pub fn auto_sync_due(&self, last: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
        let every = match (self.auto_sync, self.frequency) {
            (false, _) | (true, Frequency::Manual) => return false,
            (true, Frequency::Daily) => Duration::days(1),
            (true, Frequency::Weekly) => Duration::weeks(1),
        };
        last.is_none_or(|last| now - last >= every)
    }

    /// Whether a login at `now` starts a sync, the last having run at `last`.
    pub fn login_sync_due(&self, last: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
        self.sync_on_login && last.is_none_or(|last| now - last > LOGIN_STALE_AFTER)
    }
}
