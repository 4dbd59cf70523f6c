//! The kinds of Clio record matterhook mirrors.

use serde::{Deserialize, Serialize};

/// A kind of Clio record the sync stage mirrors.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    strum::Display,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
#[cfg_attr(feature = "diesel", derive(diesel::AsExpression, diesel::FromSqlRow))]
#[cfg_attr(feature = "diesel", diesel(sql_type = diesel::sql_types::Text))]
#[cfg_attr(
    feature = "clap",
    derive(clap::ValueEnum),
    value(rename_all = "snake_case")
)]
pub enum Model {
    /// A matter (Clio sends webhooks for it).
    Matter,
    /// A contact, person or company (Clio sends webhooks for it).
    Contact,
    /// A bill (Clio sends webhooks for it).
    Bill,
    /// A Clio user of the firm (swept, no webhooks).
    User,
    /// A custom field definition (swept, no webhooks).
    CustomField,
}

/// A model name outside the vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no such model {0:?}")]
pub struct UnknownModel(pub String);

impl Model {
    /// The models Clio sends webhooks for, in the order subscriptions are made.
    pub const WEBHOOK: [Model; 3] = [Model::Matter, Model::Contact, Model::Bill];

    /// The events Clio sends for this model, and that matterhook subscribes to: `created`,
    /// `updated`, `deleted`, and a matter's status events. A finite set, so that every Clio
    /// event's routing key is bound explicitly (the events exchange is a direct exchange).
    pub const fn webhook_events(self) -> &'static [&'static str] {
        match self {
            Model::Matter => &[
                "created",
                "updated",
                "deleted",
                "matter_opened",
                "matter_pended",
                "matter_closed",
            ],
            Model::Contact | Model::Bill => &["created", "updated", "deleted"],
            Model::User | Model::CustomField => &[],
        }
    }

    /// The order a full sweep reads them in: users and custom fields first (matters refer to
    /// them), contacts before the matters whose clients they are, bills last.
    pub const SWEEP_ORDER: [Model; 5] = [
        Model::User,
        Model::CustomField,
        Model::Contact,
        Model::Matter,
        Model::Bill,
    ];

    /// The stored and routed spelling: `matter`, `custom_field`, ...
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Whether Clio sends webhooks for it (and so whether it has per-record events).
    pub fn has_webhooks(self) -> bool {
        Self::WEBHOOK.contains(&self)
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Result<Self, UnknownModel> {
        s.parse().map_err(|_| UnknownModel(s.to_owned()))
    }

    /// Clio's collection name: `matters`, `contacts`, `bills`, `users`, `custom_fields`.
    pub fn collection(self) -> &'static str {
        match self {
            Model::Matter => "matters",
            Model::Contact => "contacts",
            Model::Bill => "bills",
            Model::User => "users",
            Model::CustomField => "custom_fields",
        }
    }
}

#[cfg(test)]
mod tests {
    use strum::VariantArray;

    use super::*;

    #[test]
    fn every_model_round_trips_through_its_spelling_and_nothing_else_parses() {
        for m in Model::VARIANTS {
            assert_eq!(Model::parse(m.as_str()), Ok(*m));
            assert_eq!(m.to_string(), m.as_str());
            let json = serde_json::to_string(m).expect("json");
            assert_eq!(json, format!("\"{}\"", m.as_str()));
        }
        assert_eq!(Model::CustomField.as_str(), "custom_field");
        assert!(Model::parse("Matter").is_err());
        assert!(Model::parse("activity").is_err());
    }

    #[test]
    fn only_matters_contacts_and_bills_have_webhooks() {
        let with: Vec<Model> = Model::VARIANTS
            .iter()
            .copied()
            .filter(|m| m.has_webhooks())
            .collect();
        assert_eq!(with, Model::WEBHOOK);
        assert_eq!(Model::SWEEP_ORDER.len(), Model::VARIANTS.len());
    }
}
