//! Every effect exactly once: links, timeline entries, drafts, review requests, new-client
//! events, watches and activities written to Clio.

use std::collections::HashMap;

use clio_sim::{Kind, Sim};
use diesel::{
    sql_types::{Nullable, Text},
    QueryableByName,
};
use diesel_async::RunQueryDsl;
use matterhook_store::PgPool;

use super::{counts, id_text, Check};
use crate::{
    firms::Firm,
    load::{Case, Step},
};

/// Each referral is linked once, to its client's matter.
pub(super) async fn referrals(
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
pub(super) async fn timeline(pool: &PgPool) -> anyhow::Result<Check> {
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
pub(super) async fn drafts(
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
    let wanted = cases.iter().filter(|c| done(c, Step::Pay)).filter_map(|c| {
        let (referral, bill) = (c.referral_id?, c.bill_id?);
        Some((
            format!("{}: bill {bill}", c.tag()),
            format!("{referral}/{bill}"),
        ))
    });
    check.one_each(&drafts, wanted, "draft");
    Ok(check)
}

/// Each closed matter gives one review request.
pub(super) async fn review_requests(
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
    let wanted = cases
        .iter()
        .filter(|c| done(c, Step::Close))
        .filter_map(|c| {
            let matter = c.matter_id?;
            let key = format!("{}/{matter}", firms[c.firm].connection_id);
            Some((format!("{}: matter {matter}", c.tag()), key))
        });
    check.one_each(&requests, wanted, "review request");
    for what in held.keys() {
        check.lose(format!("held back: {what}"));
    }
    Ok(check)
}

/// Each client whose first matter opened is announced to the CRM once.
pub(super) async fn new_clients(
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
    let wanted = cases
        .iter()
        .filter(|c| done(c, Step::Matter))
        .filter_map(|c| {
            let contact = c.contact_id?;
            let key = format!("{}/{contact}", firms[c.firm].connection_id);
            Some((format!("{}: contact {contact}", c.tag()), key))
        });
    check.one_each(&events, wanted, "new-client event");
    Ok(check)
}

/// Each imported matter is one watch, in step with Clio's status, and no change of a watch's
/// field is recorded twice.
pub(super) async fn watches(
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
pub(super) async fn activities(
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
