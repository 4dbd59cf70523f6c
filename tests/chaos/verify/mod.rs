//! The end of the run: what Clio saw accepted is in the journal, the mirror equals Clio, and
//! every effect exists exactly once. Each check counts what it expected, what is lost and what is
//! doubled, and names the first few cases that failed.

use std::collections::{HashMap, HashSet};

use clio_sim::Sim;
use diesel::{
    sql_types::{BigInt, Nullable, Text},
    QueryableByName,
};
use diesel_async::RunQueryDsl;
use matterhook_store::PgPool;

use crate::{
    firms::Firm,
    load::{Case, Step},
};

mod effects;
mod ingest;

use effects::{activities, drafts, new_clients, referrals, review_requests, timeline, watches};
use ingest::{journal, mirror, webhooks};

/// One line of the table.
#[derive(Debug, Clone)]
pub struct Check {
    /// What is checked.
    pub name: &'static str,
    /// How many were expected.
    pub expected: usize,
    /// Expected but missing (or stale).
    pub lost: usize,
    /// Present more than once (or present and not expected).
    pub doubled: usize,
    /// The first cases that failed.
    pub examples: Vec<String>,
}

impl Check {
    pub(super) fn new(name: &'static str) -> Self {
        Self {
            name,
            expected: 0,
            lost: 0,
            doubled: 0,
            examples: Vec::new(),
        }
    }

    pub(super) fn lose(&mut self, what: String) {
        self.lost += 1;
        self.example(what);
    }

    pub(super) fn double(&mut self, what: String) {
        self.doubled += 1;
        self.example(what);
    }

    fn example(&mut self, what: String) {
        if self.examples.len() < 5 {
            self.examples.push(what);
        }
    }

    /// Neither lost nor doubled.
    pub fn passed(&self) -> bool {
        self.lost == 0 && self.doubled == 0
    }

    /// Exactly one row of `found` for each `(label, key)` of `wanted` (none is lost, none
    /// doubled), and none under a key nobody wanted (an effect for the firm's history, or for
    /// something the run never did: counted as doubled).
    pub(super) fn one_each(
        &mut self,
        found: &HashMap<String, i64>,
        wanted: impl Iterator<Item = (String, String)>,
        what: &str,
    ) {
        let mut expected = HashSet::new();
        for (label, key) in wanted {
            self.counted(label, found.get(&key).copied().unwrap_or(0));
            expected.insert(key);
        }
        for (key, n) in found {
            if !expected.contains(key) {
                self.double(format!("unexpected {what} {key} ×{n}"));
            }
        }
    }

    /// "expected n; found n once" or the count for each count.
    pub(super) fn counted(&mut self, what: String, found: i64) {
        self.expected += 1;
        match found {
            0 => self.lose(what),
            1 => {}
            _ => self.double(format!("{what} ×{found}")),
        }
    }
}

#[derive(QueryableByName)]
struct IdText {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Nullable<Text>)]
    text: Option<String>,
}

#[derive(QueryableByName)]
struct Keyed {
    #[diesel(sql_type = Text)]
    key: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Rows of `(id, text)`.
pub(super) async fn id_text(
    pool: &PgPool,
    sql: &str,
) -> anyhow::Result<Vec<(i64, Option<String>)>> {
    let mut conn = pool.get().await?;
    let rows: Vec<IdText> = diesel::sql_query(sql).load(&mut conn).await?;
    Ok(rows.into_iter().map(|r| (r.id, r.text)).collect())
}

/// `key → count` of a `SELECT key, count(*) AS n ... GROUP BY key`.
pub(super) async fn counts(pool: &PgPool, sql: &str) -> anyhow::Result<HashMap<String, i64>> {
    let mut conn = pool.get().await?;
    let rows: Vec<Keyed> = diesel::sql_query(sql).load(&mut conn).await?;
    Ok(rows.into_iter().map(|r| (r.key, r.n)).collect())
}

/// Every check, in the table's order.
pub async fn all(
    sim: &Sim,
    pool: &PgPool,
    firms: &[Firm],
    cases: &[Case],
) -> anyhow::Result<Vec<Check>> {
    let done = |c: &Case, step: Step| c.step > step;
    Ok(vec![
        journal(sim, pool).await?,
        mirror(sim, pool, firms).await?,
        referrals(pool, cases, done).await?,
        timeline(pool).await?,
        drafts(pool, cases, done).await?,
        review_requests(pool, firms, cases, done).await?,
        new_clients(pool, firms, cases, done).await?,
        watches(sim, pool, firms, cases, done).await?,
        activities(sim, pool, firms, cases, done).await?,
        webhooks(sim, firms),
    ])
}

#[derive(QueryableByName)]
struct Dead {
    #[diesel(sql_type = Text)]
    line: String,
}

/// Every dead letter still dead: its queue, event and reason.
pub async fn dead_letters(pool: &PgPool) -> anyhow::Result<Vec<String>> {
    let mut conn = pool.get().await?;
    let rows: Vec<Dead> = diesel::sql_query(
        "SELECT queue || ' ' || routing_key || ' after ' || attempts || ' attempts: ' || reason \
         || ' (' || left(error, 200) || ')' AS line FROM dead_letters WHERE state = 'dead' \
         ORDER BY id",
    )
    .load(&mut conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.line).collect())
}
