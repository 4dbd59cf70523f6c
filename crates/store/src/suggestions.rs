//! Possible matches offered to a user (a referral and a matter), and what the user decided.

use chrono::{DateTime, Utc};
use diesel::{prelude::*, QueryResult};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::schema::{referral_suggestions as s, referrals as r};

/// A suggestion row.
#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = s)]
pub struct Suggestion {
    /// Row id.
    pub id: i64,
    /// The referral.
    pub referral_id: i64,
    /// The matter's firm.
    pub clio_account_id: i64,
    /// The matter.
    pub matter_id: i64,
    /// Offered.
    pub created_at: DateTime<Utc>,
    /// Settled.
    pub decided_at: Option<DateTime<Utc>>,
    /// [`CONFIRMED`], [`DISMISSED`] or [`SUPERSEDED`], once settled.
    pub outcome: Option<String>,
}

/// A suggestion made to `user_id`.
pub async fn suggestion(
    conn: &mut AsyncPgConnection,
    user_id: i64,
    id: i64,
) -> QueryResult<Option<Suggestion>> {
    s::table
        .inner_join(r::table)
        .filter(s::id.eq(id).and(r::user_id.eq(user_id)))
        .select(Suggestion::as_select())
        .first(conn)
        .await
        .optional()
}

/// A referral's open suggestions, newest first.
pub async fn open_suggestions(
    conn: &mut AsyncPgConnection,
    referral_id: i64,
) -> QueryResult<Vec<Suggestion>> {
    s::table
        .filter(s::referral_id.eq(referral_id).and(s::decided_at.is_null()))
        .order(s::id.desc())
        .select(Suggestion::as_select())
        .load(conn)
        .await
}

/// Offers a possible match; the suggestion's id when it is new.
pub async fn suggest(
    conn: &mut AsyncPgConnection,
    referral_id: i64,
    account: i64,
    matter_id: i64,
) -> QueryResult<Option<i64>> {
    diesel::insert_into(s::table)
        .values((
            s::referral_id.eq(referral_id),
            s::clio_account_id.eq(account),
            s::matter_id.eq(matter_id),
        ))
        .on_conflict_do_nothing()
        .returning(s::id)
        .get_result(conn)
        .await
        .optional()
}

/// `referral_suggestions.outcome`: linked by its one click.
pub const CONFIRMED: &str = "confirmed";
/// `referral_suggestions.outcome`: the user said it is not the referral's matter.
pub const DISMISSED: &str = "dismissed";
/// `referral_suggestions.outcome`: the referral was linked otherwise.
pub const SUPERSEDED: &str = "superseded";

/// Settles a referral's open suggestions as superseded (it was linked, by hand or by a
/// confirm), and marks the notifications offering them read.
pub async fn settle_suggestions(conn: &mut AsyncPgConnection, referral_id: i64) -> QueryResult<()> {
    diesel::update(s::table.filter(s::referral_id.eq(referral_id).and(s::decided_at.is_null())))
        .set((s::decided_at.eq(Utc::now()), s::outcome.eq(SUPERSEDED)))
        .execute(conn)
        .await?;
    crate::notifications::read_suggestions(conn, referral_id, None).await
}

/// Records the user's decision on a suggestion and marks its notification read. Only an
/// undecided suggestion is dismissed; a confirm overrides any earlier outcome (the user may
/// change their mind). False when nothing changed.
pub async fn decide_suggestion(
    conn: &mut AsyncPgConnection,
    suggestion: &Suggestion,
    outcome: &str,
) -> QueryResult<bool> {
    let mut target = diesel::update(s::table)
        .filter(s::id.eq(suggestion.id))
        .into_boxed();
    target = if outcome == CONFIRMED {
        target.filter(s::outcome.is_distinct_from(CONFIRMED))
    } else {
        target.filter(s::decided_at.is_null())
    };
    let n = target
        .set((s::decided_at.eq(Utc::now()), s::outcome.eq(outcome)))
        .execute(conn)
        .await?;
    crate::notifications::read_suggestions(conn, suggestion.referral_id, Some(suggestion.id))
        .await?;
    Ok(n == 1)
}
