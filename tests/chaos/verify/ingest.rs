//! What Clio sent is kept: every delivery answered 2xx in the journal, the mirror equal to Clio,
//! and each firm subscribed again after its webhooks lapsed.

use std::collections::{BTreeMap, HashMap, HashSet};

use clio_sim::{Kind, Sim};
use matterhook_store::PgPool;

use super::{id_text, Check};
use crate::firms::Firm;

/// Every delivery the simulator saw answered 2xx is in the journal.
pub(super) async fn journal(sim: &Sim, pool: &PgPool) -> anyhow::Result<Check> {
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
pub(super) async fn mirror(sim: &Sim, pool: &PgPool, firms: &[Firm]) -> anyhow::Result<Check> {
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

/// Each firm ends subscribed: an enabled webhook for each of its matters, contacts and bills in
/// Clio (the lapsed ones replaced by the scheduler, not only swept around).
pub(super) fn webhooks(sim: &Sim, firms: &[Firm]) -> Check {
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
