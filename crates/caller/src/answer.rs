//! What a lookup answers, from the mirror or from Clio alike.

use chrono::{DateTime, Utc};
use matterhook_domain::{
    caller::{self, CallerMatter, Key, MatchKind, Staff},
    MatterStatus,
};
use serde::Serialize;
use utoipa::ToSchema;

/// Where the answer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The mirror's phone index: no Clio call.
    Mirror,
    /// Clio itself, because the firm's first sync has not finished.
    Live,
}

/// A person on a matter: who a call may be handed to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Person {
    /// Clio user id.
    pub id: i64,
    /// Name.
    pub name: Option<String>,
    /// Email.
    pub email: Option<String>,
    /// Phone number, as typed in Clio.
    pub phone: Option<String>,
}

impl From<Staff> for Person {
    fn from(s: Staff) -> Self {
        Self {
            id: s.id,
            name: s.name,
            email: s.email,
            phone: s.phone,
        }
    }
}

/// One of a caller's matters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct MatterBody {
    /// Clio id.
    pub id: i64,
    /// Display number.
    pub display_number: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Open, Pending or Closed.
    pub status: Option<String>,
    /// Last changed in Clio.
    pub updated_at: Option<DateTime<Utc>>,
    /// Responsible staff.
    pub responsible_staff: Option<Person>,
    /// Responsible attorney.
    pub responsible_attorney: Option<Person>,
}

impl MatterBody {
    fn rules_view(&self) -> CallerMatter {
        let staff = |p: &Option<Person>| {
            p.clone().map(|p| Staff {
                id: p.id,
                name: p.name,
                email: p.email,
                phone: p.phone,
            })
        };
        CallerMatter {
            id: self.id,
            status: self.status.as_deref().map(MatterStatus::parse),
            updated_at: self.updated_at,
            responsible_staff: staff(&self.responsible_staff),
            responsible_attorney: staff(&self.responsible_attorney),
        }
    }
}

/// A contact the number matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Candidate {
    /// The Clio contact's id.
    pub id: i64,
    /// Name.
    pub name: Option<String>,
    /// Person or Company.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// The contact's number that matched, as typed in Clio.
    pub number: Option<String>,
    /// Its matters: open first (the most recently updated first), then pending, then closed.
    pub matters: Vec<MatterBody>,
}

/// A lookup's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Answer {
    /// exact, partial, ambiguous or none.
    #[serde(rename = "match")]
    #[schema(value_type = String)]
    pub match_kind: MatchKind,
    /// mirror, or live before the firm's first sync has finished.
    pub source: Source,
    /// The contacts the number matched (at most ten; `candidates_total` counts them all).
    pub candidates: Vec<Candidate>,
    /// How many contacts the number matched.
    pub candidates_total: i64,
    /// The staff member to hand the call to, or null.
    pub transfer_to: Option<Person>,
    /// Why `transfer_to` is who it is, or why nobody.
    pub reason: String,
}

impl Answer {
    /// The answer the rules give for candidates found by `key` (`None`: nobody).
    pub fn decide(
        key: Option<Key>,
        source: Source,
        mut candidates: Vec<Candidate>,
        total: i64,
    ) -> Self {
        let count = usize::try_from(total).unwrap_or(usize::MAX);
        let match_kind = key.map_or(MatchKind::None, |k| caller::match_kind(k, count));
        let mut all: Vec<CallerMatter> = Vec::new();
        for c in &mut candidates {
            let mut views: Vec<(CallerMatter, MatterBody)> =
                c.matters.drain(..).map(|m| (m.rules_view(), m)).collect();
            views.sort_by(|(a, _), (b, _)| caller::precedence(a, b));
            all.extend(views.iter().map(|(v, _)| v.clone()));
            c.matters = views.into_iter().map(|(_, m)| m).collect();
        }
        let transfer = match match_kind {
            MatchKind::None => caller::Transfer {
                to: None,
                reason: "no contact has this number".into(),
            },
            kind => caller::transfer_to(&all, kind == MatchKind::Ambiguous),
        };
        Self {
            match_kind,
            source,
            candidates,
            candidates_total: total,
            transfer_to: transfer.to.map(Person::from),
            reason: transfer.reason,
        }
    }
}
