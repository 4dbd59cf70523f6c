//! What a change to the mirror of a Clio record means for the product: the domain events the
//! sync stage writes to its outbox, in the same transaction as the change.
//!
//! A webhook is only a hint, so these rules compare what the mirror held before with the record
//! as Clio shows it now. A *baseline* read (the first full sweep of a firm) fills the mirror with
//! history: records first seen then imply no event, or every open matter and paid bill of the
//! firm's past would look new.

/// A domain event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DomainEvent {
    /// A matter was created, or first seen open or pending.
    MatterOpened,
    /// A matter's status changed.
    MatterStatusChanged {
        /// The status before (`Open`, `Pending`, `Closed`).
        from: String,
        /// The status now.
        to: String,
    },
    /// A contact changed (or was first seen).
    ContactChanged,
    /// A bill's state became `paid`.
    BillPaid,
}

impl DomainEvent {
    /// The model it is about: `matter`, `contact` or `bill`.
    pub fn model(&self) -> &'static str {
        match self {
            DomainEvent::MatterOpened | DomainEvent::MatterStatusChanged { .. } => "matter",
            DomainEvent::ContactChanged => "contact",
            DomainEvent::BillPaid => "bill",
        }
    }

    /// Its name within the model: `opened`, `status_changed`, `changed`, `paid`.
    pub fn name(&self) -> &'static str {
        match self {
            DomainEvent::MatterOpened => "opened",
            DomainEvent::MatterStatusChanged { .. } => "status_changed",
            DomainEvent::ContactChanged => "changed",
            DomainEvent::BillPaid => "paid",
        }
    }
}

/// How a record was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Read {
    /// Re-read after a webhook, or by an incremental sweep.
    Live,
    /// By the first full sweep of a firm: history, not news.
    Baseline,
}

/// What the mirror held of a record before this read: `None` when never seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Before<'a> {
    /// The matter's status or the bill's state.
    pub state: Option<&'a str>,
    /// Whether the mirror had it as deleted.
    pub deleted: bool,
}

fn is_open(status: &str) -> bool {
    status.eq_ignore_ascii_case("open") || status.eq_ignore_ascii_case("pending")
}

/// A matter read with `status`, the mirror having held `before`.
pub fn matter(before: Option<Before<'_>>, status: Option<&str>, read: Read) -> Vec<DomainEvent> {
    let Some(to) = status else {
        return Vec::new();
    };
    match before {
        None if read == Read::Live && is_open(to) => vec![DomainEvent::MatterOpened],
        None => Vec::new(),
        Some(Before {
            state: Some(from), ..
        }) if !from.eq_ignore_ascii_case(to) => vec![DomainEvent::MatterStatusChanged {
            from: from.to_owned(),
            to: to.to_owned(),
        }],
        Some(_) => Vec::new(),
    }
}

/// A contact read, the mirror having held `before`; `changed` when its version differs.
pub fn contact(before: Option<Before<'_>>, changed: bool, read: Read) -> Vec<DomainEvent> {
    match before {
        None if read == Read::Baseline => Vec::new(),
        None => vec![DomainEvent::ContactChanged],
        Some(_) if changed => vec![DomainEvent::ContactChanged],
        Some(_) => Vec::new(),
    }
}

/// A bill read in `state`, the mirror having held `before`.
pub fn bill(before: Option<Before<'_>>, state: Option<&str>, read: Read) -> Vec<DomainEvent> {
    let paid = |s: Option<&str>| s.is_some_and(|s| s.eq_ignore_ascii_case("paid"));
    if !paid(state) {
        return Vec::new();
    }
    match before {
        None if read == Read::Baseline => Vec::new(),
        None => vec![DomainEvent::BillPaid],
        Some(b) if !paid(b.state) => vec![DomainEvent::BillPaid],
        Some(_) => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use DomainEvent::*;
    use Read::*;

    fn held(state: &str) -> Option<Before<'_>> {
        Some(Before {
            state: Some(state),
            deleted: false,
        })
    }

    #[test]
    fn a_matter_first_seen_open_or_pending_is_opened_live_but_not_in_the_baseline() {
        assert_eq!(matter(None, Some("Open"), Live), vec![MatterOpened]);
        assert_eq!(matter(None, Some("Pending"), Live), vec![MatterOpened]);
        assert_eq!(matter(None, Some("Closed"), Live), vec![]);
        assert_eq!(matter(None, Some("Open"), Baseline), vec![]);
        assert_eq!(matter(None, None, Live), vec![]);
    }

    #[test]
    fn a_matter_status_change_names_both_ends_in_any_read() {
        for read in [Live, Baseline] {
            assert_eq!(
                matter(held("Open"), Some("Closed"), read),
                vec![MatterStatusChanged {
                    from: "Open".into(),
                    to: "Closed".into()
                }]
            );
        }
        assert_eq!(matter(held("Open"), Some("Open"), Live), vec![]);
        assert_eq!(matter(held("open"), Some("Open"), Live), vec![]);
        assert_eq!(matter(held("Closed"), None, Live), vec![]);
        let unknown = Some(Before {
            state: None,
            deleted: false,
        });
        assert_eq!(matter(unknown, Some("Open"), Live), vec![]);
    }

    #[test]
    fn a_contact_is_changed_when_its_version_moved_or_it_is_new_live() {
        assert_eq!(contact(None, true, Live), vec![ContactChanged]);
        assert_eq!(contact(None, true, Baseline), vec![]);
        assert_eq!(contact(held(""), true, Baseline), vec![ContactChanged]);
        assert_eq!(contact(held(""), false, Live), vec![]);
    }

    #[test]
    fn a_bill_is_paid_once_when_its_state_becomes_paid() {
        assert_eq!(
            bill(held("awaiting_payment"), Some("paid"), Live),
            vec![BillPaid]
        );
        assert_eq!(bill(held("paid"), Some("paid"), Live), vec![]);
        assert_eq!(bill(held("draft"), Some("awaiting_payment"), Live), vec![]);
        assert_eq!(bill(None, Some("paid"), Live), vec![BillPaid]);
        assert_eq!(bill(None, Some("paid"), Baseline), vec![]);
        assert_eq!(bill(held("paid"), Some("void"), Live), vec![]);
    }

    #[test]
    fn names_and_models_are_the_routing_vocabulary() {
        let all = [
            MatterOpened,
            MatterStatusChanged {
                from: "Open".into(),
                to: "Closed".into(),
            },
            ContactChanged,
            BillPaid,
        ];
        let names: Vec<String> = all
            .iter()
            .map(|e| format!("{}.{}", e.model(), e.name()))
            .collect();
        assert_eq!(
            names,
            [
                "matter.opened",
                "matter.status_changed",
                "contact.changed",
                "bill.paid"
            ]
        );
    }
}
