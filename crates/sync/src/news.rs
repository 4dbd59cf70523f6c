//! What a firm's first sweep (its baseline) reads as news: what Clio created after the
//! connection was made. The rest of a baseline is history, announced to nobody.

use chrono::{DateTime, Utc};
use matterhook_domain::sync_events::Read as ReadKind;
use serde_json::Value;

/// How far back a baseline reads what the firm created after connecting as news.
pub(crate) const WINDOW: chrono::Duration = chrono::Duration::days(1);

/// A page of `kind` records, split in two when it is the baseline: what Clio created before
/// `news_since` (the connection's creation) is history, what it created since is news, read
/// [`ReadKind::Live`] so that its domain events are announced. A record without a readable
/// `created_at` stays history. Empty groups are left out.
pub(crate) fn split(
    raw: Vec<Value>,
    kind: ReadKind,
    news_since: Option<DateTime<Utc>>,
) -> Vec<(Vec<Value>, ReadKind)> {
    let Some(since) = news_since.filter(|_| kind == ReadKind::Baseline) else {
        return vec![(raw, kind)];
    };
    let (news, history): (Vec<Value>, Vec<Value>) = raw.into_iter().partition(|r| {
        r.get("created_at")
            .and_then(Value::as_str)
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .is_some_and(|t| t >= since)
    });
    [(history, ReadKind::Baseline), (news, ReadKind::Live)]
        .into_iter()
        .filter(|(records, _)| !records.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::{split, ReadKind};

    #[test]
    fn the_baseline_reads_what_was_created_after_connecting_as_news() {
        let since = chrono::DateTime::parse_from_rfc3339("2026-01-02T00:00:00Z")
            .expect("time")
            .to_utc();
        let page = vec![
            serde_json::json!({"id": 1, "created_at": "2026-01-01T23:59:59Z"}),
            serde_json::json!({"id": 2, "created_at": "2026-01-02T00:00:01+00:00"}),
            serde_json::json!({"id": 3}),
        ];
        let ids =
            |records: &Vec<Value>| records.iter().map(|r| r["id"].clone()).collect::<Vec<_>>();
        let parts = split(page.clone(), ReadKind::Baseline, Some(since));
        assert_eq!(parts.len(), 2);
        assert_eq!(
            (ids(&parts[0].0), parts[0].1),
            (vec![1.into(), 3.into()], ReadKind::Baseline)
        );
        assert_eq!(
            (ids(&parts[1].0), parts[1].1),
            (vec![2.into()], ReadKind::Live)
        );
        let live = split(page.clone(), ReadKind::Live, Some(since));
        assert_eq!(
            (live.len(), live[0].0.len(), live[0].1),
            (1, 3, ReadKind::Live)
        );
        let old = split(page[..1].to_vec(), ReadKind::Baseline, Some(since));
        assert_eq!(
            (old.len(), old[0].1),
            (1, ReadKind::Baseline),
            "no empty group"
        );
    }
}
