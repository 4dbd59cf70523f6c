//! Caller lookup's reads of the mirror: a phone number's candidates with their matters and the
//! people on them, in one statement (a receptionist's ring waits on it), the firm's staff, and
//! whether the firm's first sync has finished.

use chrono::{DateTime, Utc};
use diesel::{
    prelude::*,
    sql_types::{Array, BigInt, Nullable, Text, Timestamptz},
    QueryResult,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::schema::clio_users as u;

/// What a lookup asks for.
#[derive(Debug, Clone)]
pub struct LookupQuery<'a> {
    /// The firm.
    pub clio_account_id: i64,
    /// E.164 forms, tried first.
    pub e164: &'a [String],
    /// National forms, tried when no E.164 form matched.
    pub national: &'a [String],
    /// The last four digits, tried when nothing else matched (`None`: not at all).
    pub last_four: Option<&'a str>,
    /// The lookup key asking, whose revocation this statement checks.
    pub key_id: Option<i64>,
    /// Candidates returned at most (their total is counted regardless).
    pub max_contacts: i64,
    /// Matters per candidate at most (open first).
    pub max_matters: i64,
}

/// One row of a lookup: the gate's verdict, then a candidate and one of its matters (or none).
#[derive(Debug, Clone, QueryableByName)]
pub struct LookupRow {
    /// `ok`, or why the key may not look up: `revoked`, `disconnected`.
    #[diesel(sql_type = Text)]
    pub gate: String,
    /// How many contacts the number matched in all.
    #[diesel(sql_type = Nullable<BigInt>)]
    pub candidates: Option<i64>,
    /// `e164`, `national` or `last_four`.
    #[diesel(sql_type = Nullable<Text>)]
    pub matched_by: Option<String>,
    /// The contact.
    #[diesel(sql_type = Nullable<BigInt>)]
    pub contact_id: Option<i64>,
    /// Its name.
    #[diesel(sql_type = Nullable<Text>)]
    pub contact_name: Option<String>,
    /// Person or Company.
    #[diesel(sql_type = Nullable<Text>)]
    pub contact_kind: Option<String>,
    /// The number that matched, as typed in Clio.
    #[diesel(sql_type = Nullable<Text>)]
    pub number: Option<String>,
    /// A matter of the contact's.
    #[diesel(sql_type = Nullable<BigInt>)]
    pub matter_id: Option<i64>,
    /// Its display number.
    #[diesel(sql_type = Nullable<Text>)]
    pub display_number: Option<String>,
    /// Its description.
    #[diesel(sql_type = Nullable<Text>)]
    pub description: Option<String>,
    /// Its status.
    #[diesel(sql_type = Nullable<Text>)]
    pub status: Option<String>,
    /// Last changed in Clio.
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub matter_updated_at: Option<DateTime<Utc>>,
    /// Responsible staff.
    #[diesel(sql_type = Nullable<BigInt>)]
    pub staff_id: Option<i64>,
    /// Their name.
    #[diesel(sql_type = Nullable<Text>)]
    pub staff_name: Option<String>,
    /// Their email.
    #[diesel(sql_type = Nullable<Text>)]
    pub staff_email: Option<String>,
    /// Their phone.
    #[diesel(sql_type = Nullable<Text>)]
    pub staff_phone: Option<String>,
    /// Responsible attorney.
    #[diesel(sql_type = Nullable<BigInt>)]
    pub attorney_id: Option<i64>,
    /// Their name.
    #[diesel(sql_type = Nullable<Text>)]
    pub attorney_name: Option<String>,
    /// Their email.
    #[diesel(sql_type = Nullable<Text>)]
    pub attorney_email: Option<String>,
    /// Their phone.
    #[diesel(sql_type = Nullable<Text>)]
    pub attorney_phone: Option<String>,
}

/// The statement: each key tried only when the stronger ones found nobody; phones of deleted
/// contacts never match; the gate row is always there, so a revoked key is told apart from a
/// number nobody has.
const LOOKUP: &str = r#"
WITH gate AS (
    SELECT CASE
        WHEN $5::bigint IS NULL THEN 'ok'
        ELSE COALESCE((
            SELECT CASE WHEN k.revoked_at IS NOT NULL THEN 'revoked'
                        WHEN c.status = 'disconnected' THEN 'disconnected'
                        ELSE 'ok' END
            FROM lookup_keys k JOIN connections c ON c.id = k.connection_id
            WHERE k.id = $5), 'revoked')
    END AS gate
),
by_e164 AS (
    SELECT 'e164' AS matched_by, p.contact_id, p.raw, p.position
    FROM clio_contact_phones p
    JOIN clio_contacts ct ON ct.clio_account_id = p.clio_account_id AND ct.clio_id = p.contact_id
    WHERE p.clio_account_id = $1 AND p.e164 = ANY($2) AND ct.deleted_at IS NULL
),
by_national AS (
    SELECT 'national' AS matched_by, p.contact_id, p.raw, p.position
    FROM clio_contact_phones p
    JOIN clio_contacts ct ON ct.clio_account_id = p.clio_account_id AND ct.clio_id = p.contact_id
    WHERE p.clio_account_id = $1 AND p.national = ANY($3) AND ct.deleted_at IS NULL
      AND NOT EXISTS (SELECT 1 FROM by_e164)
),
by_last_four AS (
    SELECT 'last_four' AS matched_by, p.contact_id, p.raw, p.position
    FROM clio_contact_phones p
    JOIN clio_contacts ct ON ct.clio_account_id = p.clio_account_id AND ct.clio_id = p.contact_id
    WHERE p.clio_account_id = $1 AND $4::text IS NOT NULL AND p.last_four = $4
      AND ct.deleted_at IS NULL
      AND NOT EXISTS (SELECT 1 FROM by_e164) AND NOT EXISTS (SELECT 1 FROM by_national)
),
hits AS (
    SELECT DISTINCT ON (contact_id) matched_by, contact_id, raw
    FROM (SELECT * FROM by_e164 UNION ALL SELECT * FROM by_national
          UNION ALL SELECT * FROM by_last_four) h
    ORDER BY contact_id, position
),
picked AS (
    SELECT h.*, count(*) OVER () AS candidates FROM hits h ORDER BY h.contact_id LIMIT $6
)
SELECT g.gate, pk.candidates, pk.matched_by, pk.contact_id, ct.name AS contact_name,
       ct.kind AS contact_kind, pk.raw AS number,
       m.clio_id AS matter_id, m.display_number, m.description, m.status,
       m.clio_updated_at AS matter_updated_at,
       m.responsible_staff_id AS staff_id,
       COALESCE(rs.name, m.data->'responsible_staff'->>'name') AS staff_name,
       COALESCE(rs.email, m.data->'responsible_staff'->>'email') AS staff_email,
       rs.phone_number AS staff_phone,
       m.responsible_attorney_id AS attorney_id,
       COALESCE(ra.name, m.data->'responsible_attorney'->>'name') AS attorney_name,
       COALESCE(ra.email, m.data->'responsible_attorney'->>'email') AS attorney_email,
       ra.phone_number AS attorney_phone
FROM gate g
LEFT JOIN picked pk ON g.gate = 'ok'
LEFT JOIN clio_contacts ct ON ct.clio_account_id = $1 AND ct.clio_id = pk.contact_id
LEFT JOIN LATERAL (
    SELECT * FROM clio_matters mm
    WHERE mm.clio_account_id = $1 AND mm.client_id = pk.contact_id AND mm.deleted_at IS NULL
    ORDER BY CASE mm.status WHEN 'Open' THEN 0 WHEN 'Pending' THEN 1 WHEN 'Closed' THEN 2
             ELSE 3 END,
             mm.clio_updated_at DESC NULLS LAST, mm.clio_id DESC
    LIMIT $7
) m ON TRUE
LEFT JOIN clio_users rs ON rs.clio_account_id = $1 AND rs.clio_id = m.responsible_staff_id
LEFT JOIN clio_users ra ON ra.clio_account_id = $1 AND ra.clio_id = m.responsible_attorney_id
ORDER BY pk.contact_id, m.clio_updated_at DESC NULLS LAST
"#;

/// Looks a number up in the firm's mirror.
pub async fn lookup(
    conn: &mut AsyncPgConnection,
    q: &LookupQuery<'_>,
) -> QueryResult<Vec<LookupRow>> {
    diesel::sql_query(LOOKUP)
        .bind::<BigInt, _>(q.clio_account_id)
        .bind::<Array<Text>, _>(q.e164)
        .bind::<Array<Text>, _>(q.national)
        .bind::<Nullable<Text>, _>(q.last_four)
        .bind::<Nullable<BigInt>, _>(q.key_id)
        .bind::<BigInt, _>(q.max_contacts)
        .bind::<BigInt, _>(q.max_matters)
        .load(conn)
        .await
}

/// A firm's user, as `GET /api/staff` lists them.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = u)]
pub struct StaffMember {
    /// Clio id.
    pub clio_id: i64,
    /// Name.
    pub name: Option<String>,
    /// Email.
    pub email: Option<String>,
    /// Phone number.
    pub phone_number: Option<String>,
    /// Whether they may sign in.
    pub enabled: Option<bool>,
    /// Attorney or NonAttorney.
    pub subscription_type: Option<String>,
}

/// The firm's users, by name.
pub async fn staff(conn: &mut AsyncPgConnection, account: i64) -> QueryResult<Vec<StaffMember>> {
    u::table
        .filter(u::clio_account_id.eq(account))
        .order((u::name.asc(), u::clio_id.asc()))
        .select(StaffMember::as_select())
        .load(conn)
        .await
}

/// The firm's users among `ids`.
pub async fn staff_by_ids(
    conn: &mut AsyncPgConnection,
    account: i64,
    ids: &[i64],
) -> QueryResult<Vec<StaffMember>> {
    u::table
        .filter(u::clio_account_id.eq(account))
        .filter(u::clio_id.eq_any(ids))
        .select(StaffMember::as_select())
        .load(conn)
        .await
}

#[derive(QueryableByName)]
struct Done {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    done: bool,
}

/// Whether some connection of the firm has listed every contact and every matter once: before
/// then the mirror may not know a caller yet.
pub async fn first_sync_done(conn: &mut AsyncPgConnection, account: i64) -> QueryResult<bool> {
    diesel::sql_query(
        "SELECT count(DISTINCT s.model) = 2 AS done
         FROM sync_cursors s JOIN connections c ON c.id = s.connection_id
         WHERE c.clio_account_id = $1 AND s.model IN ('contact', 'matter')
           AND s.last_full_at IS NOT NULL",
    )
    .bind::<BigInt, _>(account)
    .get_result::<Done>(conn)
    .await
    .map(|d| d.done)
}
