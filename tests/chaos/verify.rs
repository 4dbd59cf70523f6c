//! The end of the run: what Clio saw accepted is in the journal, the mirror equals Clio, and
//! every effect exists exactly once. Each check counts what it expected, what is lost and what is
//! doubled, and names the first few cases that failed.

use std::collections::{BTreeMap, HashMap, HashSet};

use clio_sim::{Kind, Sim};
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
    fn new(name: &'static str) -> Self {
        Self {
            name,
            expected: 0,
            lost: 0,
            doubled: 0,
            examples: Vec::new(),
        }
    }

    fn lose(&mut self, what: String) {
        self.lost += 1;
        self.example(what);
    }

    fn double(&mut self, what: String) {
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

    /// Rows of `found` under keys nobody expected (an effect for the firm's history, or for
    /// something the run never did): counted as doubled.
    fn unexpected(&mut self, found: &HashMap<String, i64>, expected: &HashSet<String>, what: &str) {
        for (key, n) in found {
            if !expected.contains(key) {
                self.double(format!("unexpected {what} {key} ×{n}"));
            }
        }
    }

    /// "expected n; found n once" or the count for each count.
    fn counted(&mut self, what: String, found: i64) {
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
async fn id_text(pool: &PgPool, sql: &str) -> anyhow::Result<Vec<(i64, Option<String>)>> {
    let mut conn = pool.get().await?;
    let rows: Vec<IdText> = diesel::sql_query(sql).load(&mut conn).await?;
    Ok(rows.into_iter().map(|r| (r.id, r.text)).collect())
}

/// `key → count` of a `SELECT key, count(*) AS n ... GROUP BY key`.
async fn counts(pool: &PgPool, sql: &str) -> anyhow::Result<HashMap<String, i64>> {
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

/// Every delivery the simulator saw answered 2xx is in the journal.
async fn journal(sim: &Sim, pool: &PgPool) -> anyhow::Result<Check> {
    let mut check = Check::new("deliveries answered 2xx are in the journal");
    let subscriptions: HashMap<i64, i64> = id_text(
        pool,
        "SELECT id, clio_webhook_id::text AS text FROM webhook_subscriptions \
         WHERE clio_webhook_id IS NOT NULL",
    )
    .await?
    .into_iter()
    .filter_map(|(id, hook)| Some((hook?.parse().ok()?, id)))
    .collect();
    let journaled: HashSet<String> = id_text(
        pool,
        "SELECT 0::int8 AS id, event_id AS text FROM event_journal",
    )
    .await?
    .into_iter()
    .filter_map(|(_, e)| e)
    .collect();
    for d in sim.deliveries() {
        let accepted = d
            .attempts
            .iter()
            .any(|a| a.status.is_some_and(|s| (200..300).contains(&s)));
        // A handshake is not an event: it is answered, not journaled.
        if !accepted || d.event == "handshake" {
            continue;
        }
        let Some(subscription) = subscriptions.get(&d.webhook_id) else {
            check.expected += 1;
            check.lose(format!(
                "delivery {} to an unknown webhook {}",
                d.id, d.webhook_id
            ));
            continue;
        };
        check.expected += 1;
        if !journaled.contains(&matterhook_receiver::parse::event_id(
            *subscription,
            d.body.as_bytes(),
        )) {
            check.lose(format!("delivery {} ({} {:?})", d.id, d.event, d.record_id));
        }
    }
    Ok(check)
}

/// The mirror holds exactly Clio's matters, contacts and bills, at Clio's etags.
async fn mirror(sim: &Sim, pool: &PgPool, firms: &[Firm]) -> anyhow::Result<Check> {
    let mut check = Check::new("mirror equals Clio (ids and etags)");
    for firm in firms {
        let account = firm.seeded.account_id;
        for (kind, table) in [
            (Kind::Matter, "clio_matters"),
            (Kind::Contact, "clio_contacts"),
            (Kind::Bill, "clio_bills"),
        ] {
            let clio: BTreeMap<i64, String> = sim
                .records(kind, account)
                .into_iter()
                .map(|(id, v)| (id, v["etag"].as_str().unwrap_or_default().to_owned()))
                .collect();
            let ours: BTreeMap<i64, Option<String>> = id_text(
                pool,
                &format!(
                    "SELECT clio_id AS id, etag AS text FROM {table} \
                     WHERE clio_account_id = {account} AND deleted_at IS NULL"
                ),
            )
            .await?
            .into_iter()
            .collect();
            for (id, etag) in &clio {
                check.expected += 1;
                match ours.get(id) {
                    None => check.lose(format!("{table} {id} missing")),
                    Some(e) if e.as_deref() != Some(etag.as_str()) => {
                        check.lose(format!("{table} {id} at {e:?}, Clio at {etag}"))
                    }
                    Some(_) => {}
                }
            }
            for id in ours.keys().filter(|id| !clio.contains_key(id)) {
                check.double(format!("{table} {id} not in Clio"));
            }
        }
    }
    Ok(check)
}

/// Each referral is linked once, to its client's matter.
async fn referrals(
    pool: &PgPool,
    cases: &[Case],
    done: impl Fn(&Case, Step) -> bool,
) -> anyhow::Result<Check> {
    let mut check = Check::new("referrals linked to their matter, once");
    let linked: HashMap<i64, Option<String>> =
        id_text(pool, "SELECT id, matter_id::text AS text FROM referrals")
            .await?
            .into_iter()
            .collect();
    let links = counts(
        pool,
        "SELECT referral_id::text AS key, count(*) AS n FROM referral_events \
         WHERE kind = 'linked' GROUP BY referral_id",
    )
    .await?;
    for c in cases.iter().filter(|c| done(c, Step::Matter)) {
        let (Some(referral), Some(matter)) = (c.referral_id, c.matter_id) else {
            continue;
        };
        check.expected += 1;
        if linked.get(&referral).cloned().flatten() != Some(matter.to_string()) {
            check.lose(format!(
                "{}: referral {referral} not linked to matter {matter}",
                c.tag()
            ));
        }
        let n = links.get(&referral.to_string()).copied().unwrap_or(0);
        if n > 1 {
            check.double(format!("{}: referral {referral} linked ×{n}", c.tag()));
        }
    }
    Ok(check)
}

/// No timeline entry is written twice.
async fn timeline(pool: &PgPool) -> anyhow::Result<Check> {
    let mut check = Check::new("referral timeline entries, once each");
    let entries = counts(
        pool,
        "SELECT referral_id || ' ' || kind || ': ' || message AS key, count(*) AS n \
         FROM referral_events GROUP BY referral_id, kind, message",
    )
    .await?;
    for (entry, n) in entries {
        check.expected += 1;
        if n > 1 {
            check.double(format!("{entry} ×{n}"));
        }
    }
    Ok(check)
}

/// Each paid bill of a referred client's matter gives one thank-you draft.
async fn drafts(
    pool: &PgPool,
    cases: &[Case],
    done: impl Fn(&Case, Step) -> bool,
) -> anyhow::Result<Check> {
    let mut check = Check::new("thank-you drafts, one per paid bill");
    let drafts = counts(
        pool,
        "SELECT referral_id || '/' || bill_id AS key, count(*) AS n FROM action_items \
         WHERE kind = 'thank_you_draft' GROUP BY referral_id, bill_id",
    )
    .await?;
    let mut expected = HashSet::new();
    for c in cases.iter().filter(|c| done(c, Step::Pay)) {
        let (Some(referral), Some(bill)) = (c.referral_id, c.bill_id) else {
            continue;
        };
        let key = format!("{referral}/{bill}");
        check.counted(
            format!("{}: bill {bill}", c.tag()),
            drafts.get(&key).copied().unwrap_or(0),
        );
        expected.insert(key);
    }
    check.unexpected(&drafts, &expected, "draft");
    Ok(check)
}

/// Each closed matter gives one review request.
async fn review_requests(
    pool: &PgPool,
    firms: &[Firm],
    cases: &[Case],
    done: impl Fn(&Case, Step) -> bool,
) -> anyhow::Result<Check> {
    let mut check = Check::new("review requests, one per closed matter");
    let requests = counts(
        pool,
        "SELECT connection_id || '/' || matter_id AS key, count(*) AS n FROM review_requests \
         GROUP BY connection_id, matter_id",
    )
    .await?;
    // None held back: no case gives a reason to (no opt-out, no cooldown, no age).
    let held = counts(
        pool,
        "SELECT connection_id || '/' || matter_id || ' ' || state || ' ' || coalesce(reason, '') \
         AS key, count(*) AS n FROM review_requests \
         WHERE state NOT IN ('scheduled', 'due', 'sent') GROUP BY 1",
    )
    .await?;
    let mut expected = HashSet::new();
    for c in cases.iter().filter(|c| done(c, Step::Close)) {
        let Some(matter) = c.matter_id else { continue };
        let key = format!("{}/{matter}", firms[c.firm].connection_id);
        check.counted(
            format!("{}: matter {matter}", c.tag()),
            requests.get(&key).copied().unwrap_or(0),
        );
        expected.insert(key);
    }
    check.unexpected(&requests, &expected, "review request");
    for what in held.keys() {
        check.lose(format!("held back: {what}"));
    }
    Ok(check)
}

/// Each client whose first matter opened is announced to the CRM once.
async fn new_clients(
    pool: &PgPool,
    firms: &[Firm],
    cases: &[Case],
    done: impl Fn(&Case, Step) -> bool,
) -> anyhow::Result<Check> {
    let mut check = Check::new("CRM new-client events, one per new client");
    let events = counts(
        pool,
        "SELECT connection_id || '/' || contact_id AS key, count(*) AS n FROM crm_events \
         WHERE kind = 'contact.new_client' AND NOT baseline GROUP BY connection_id, contact_id",
    )
    .await?;
    let mut expected = HashSet::new();
    for c in cases.iter().filter(|c| done(c, Step::Matter)) {
        let Some(contact) = c.contact_id else {
            continue;
        };
        let key = format!("{}/{contact}", firms[c.firm].connection_id);
        check.counted(
            format!("{}: contact {contact}", c.tag()),
            events.get(&key).copied().unwrap_or(0),
        );
        expected.insert(key);
    }
    check.unexpected(&events, &expected, "new-client event");
    Ok(check)
}

/// Each imported matter is one watch, in step with Clio's status, and no change of a watch's
/// field is recorded twice.
async fn watches(
    sim: &Sim,
    pool: &PgPool,
    firms: &[Firm],
    cases: &[Case],
    done: impl Fn(&Case, Step) -> bool,
) -> anyhow::Result<Check> {
    let mut check = Check::new("watches in step with Clio; each change once");
    let statuses: HashMap<String, Vec<Option<String>>> = {
        let mut m: HashMap<String, Vec<Option<String>>> = HashMap::new();
        let mut conn = pool.get().await?;
        #[derive(QueryableByName)]
        struct Row {
            #[diesel(sql_type = Text)]
            key: String,
            #[diesel(sql_type = Nullable<Text>)]
            status: Option<String>,
        }
        let rows: Vec<Row> = diesel::sql_query(
            "SELECT connection_id || '/' || matter_id AS key, clio_status AS status FROM watches",
        )
        .load(&mut conn)
        .await?;
        for r in rows {
            m.entry(r.key).or_default().push(r.status);
        }
        m
    };
    for c in cases.iter().filter(|c| done(c, Step::Watch) && c.watched) {
        let Some(matter) = c.matter_id else { continue };
        let connection = firms[c.firm].connection_id;
        let key = format!("{connection}/{matter}");
        check.expected += 1;
        let clio = sim
            .get(Kind::Matter, matter)
            .and_then(|m| m["status"].as_str().map(str::to_owned));
        match statuses.get(&key).map(Vec::as_slice) {
            None | Some([]) => check.lose(format!("{}: no watch of matter {matter}", c.tag())),
            Some([status]) => {
                if status.as_deref().map(str::to_lowercase)
                    != clio.as_deref().map(str::to_lowercase)
                {
                    check.lose(format!(
                        "{}: watch at {status:?}, Clio at {clio:?}",
                        c.tag()
                    ));
                }
            }
            Some(many) => check.double(format!(
                "{}: {} watches of matter {matter}",
                c.tag(),
                many.len()
            )),
        }
    }
    let changes = counts(
        pool,
        "SELECT watch_id || ' ' || field || ': ' || coalesce(from_value, '∅') || ' → ' || \
         coalesce(to_value, '∅') AS key, count(*) AS n FROM watch_changes \
         GROUP BY watch_id, field, from_value, to_value",
    )
    .await?;
    for (change, n) in changes {
        if n > 1 {
            check.double(format!("{change} ×{n}"));
        }
    }
    Ok(check)
}

/// Each activity posted is written to Clio once: one note (or communication) in the simulator.
async fn activities(
    sim: &Sim,
    pool: &PgPool,
    firms: &[Firm],
    cases: &[Case],
    done: impl Fn(&Case, Step) -> bool,
) -> anyhow::Result<Check> {
    let mut check = Check::new("activities written to Clio, once each");
    let states: HashMap<i64, Option<String>> =
        id_text(pool, "SELECT id, state AS text FROM activities")
            .await?
            .into_iter()
            .collect();
    let mut in_clio: HashMap<(i64, String), i64> = HashMap::new();
    for firm in firms {
        for kind in [Kind::Note, Kind::Communication] {
            for (_, record) in sim.records(kind, firm.seeded.account_id) {
                if let Some(subject) = record["subject"].as_str() {
                    *in_clio
                        .entry((firm.seeded.account_id, subject.to_owned()))
                        .or_default() += 1;
                }
            }
        }
    }
    for c in cases.iter().filter(|c| done(c, Step::Activity)) {
        let account = firms[c.firm].seeded.account_id;
        let subject = c.activity_subject();
        let n: i64 = in_clio
            .iter()
            .filter(|((a, s), _)| *a == account && s.ends_with(&subject))
            .map(|(_, n)| n)
            .sum();
        check.counted(format!("{}: \"{subject}\"", c.tag()), n);
        if let Some(id) = c.activity_id {
            let state = states.get(&id).cloned().flatten();
            if state.as_deref() != Some("written") && n == 1 {
                check.lose(format!("{}: activity {id} is {state:?}", c.tag()));
            }
        }
    }
    Ok(check)
}

/// Each firm ends subscribed: an enabled webhook for each of its matters, contacts and bills in
/// Clio (the lapsed ones replaced by the scheduler, not only swept around).
fn webhooks(sim: &Sim, firms: &[Firm]) -> Check {
    let mut check = Check::new("each firm's webhooks enabled again");
    let hooks = sim.webhooks();
    for firm in firms {
        for model in ["matter", "contact", "bill"] {
            let n = hooks
                .iter()
                .filter(|h| {
                    h.account_id == firm.seeded.account_id
                        && h.model == model
                        && h.status == "enabled"
                })
                .count();
            check.counted(format!("firm {}: {model}", firm.index), n as i64);
        }
    }
    check
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
