//! Which deliveries a change causes, following Clio's webhook rules.

use serde_json::{json, Value};

use crate::{
    delivery::{DeliveryLog, Outgoing},
    records::Change,
    render::render,
    state::State,
};

/// The events a model's webhook may subscribe to.
pub(crate) fn model_events(model: &str) -> &'static [&'static str] {
    match model {
        "matter" => &[
            "created",
            "updated",
            "deleted",
            "matter_opened",
            "matter_pended",
            "matter_closed",
        ],
        "clio_payments_payment" => &["created", "updated"],
        _ => &["created", "updated", "deleted"],
    }
}

/// Every model Clio accepts for a webhook.
pub(crate) const WEBHOOK_MODELS: [&str; 10] = [
    "matter",
    "contact",
    "bill",
    "activity",
    "calendar_entry",
    "communication",
    "task",
    "document",
    "folder",
    "clio_payments_payment",
];

/// Builds the deliveries for `change` and records them in the delivery log as pending.
///
/// Only enabled, unexpired webhooks of the record's account and model deliver. `updated` goes out
/// only when a watched field (a top-level name in the webhook's `fields`) changed, except the first
/// update for a record, which goes out for any change.
pub(crate) fn deliveries_for(state: &mut State, change: &Change) -> Vec<Outgoing> {
    let Some(model) = change.kind.webhook_model() else {
        return vec![];
    };
    let now = state.now();
    let Some(rec) = state
        .table(change.kind)
        .and_then(|t| t.get(&change.id))
        .cloned()
    else {
        return vec![];
    };
    let hooks: Vec<_> = state
        .hooks
        .values()
        .filter(|h| {
            h.account_id == change.account_id
                && h.model == model
                && h.status == "enabled"
                && h.expires_at > now
        })
        .cloned()
        .collect();
    let mut out = Vec::new();
    for hook in hooks {
        for event in &change.events {
            if !hook.events.iter().any(|e| e == event) {
                continue;
            }
            if *event == "updated" {
                let first = state.updates_sent.insert((hook.id, change.id));
                let watched = hook.selection.top_level_names();
                if !first && !change.changed.iter().any(|c| watched.contains(&c.as_str())) {
                    continue;
                }
            }
            let data = if rec.deleted {
                json!({"id": change.id, "etag": rec.data.get("etag").cloned().unwrap_or(Value::Null)})
            } else {
                hook.selection
                    .project(&render(state, change.kind, &rec, None))
            };
            let body =
                json!({"data": data, "meta": {"event": event, "webhook_id": hook.id}}).to_string();
            let log = DeliveryLog::new(
                state.deliveries.len(),
                hook.id,
                event,
                Some(change.id),
                &body,
            );
            state.deliveries.push(log);
            out.push(Outgoing {
                log_index: state.deliveries.len() - 1,
                webhook_id: hook.id,
                url: hook.url.clone(),
                secret: hook.shared_secret.clone(),
                body: body.into_bytes().into(),
            });
        }
    }
    out
}
