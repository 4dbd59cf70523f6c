//! The Diesel schema, matching `migrations/`.

diesel::table! {
    /// matterhook's own users.
    users (id) {
        /// Row id.
        id -> Int8,
        /// Lower-cased email.
        email -> Text,
        /// SHA-256 of the API token.
        token_hash -> Bytea,
        /// May use the admin endpoints.
        is_admin -> Bool,
        /// Created.
        created_at -> Timestamptz,
        /// Last logged in to the product (`POST /api/sessions`).
        last_login_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    /// A user's link to a Clio user.
    connections (id) {
        /// Row id.
        id -> Int8,
        /// Our user.
        user_id -> Int8,
        /// Clio region code.
        region -> Text,
        /// The Clio user.
        clio_user_id -> Int8,
        /// The Clio account (firm).
        clio_account_id -> Int8,
        /// The firm's name.
        account_name -> Text,
        /// Encrypted access token.
        access_token_enc -> Nullable<Bytea>,
        /// Encrypted refresh token.
        refresh_token_enc -> Nullable<Bytea>,
        /// When the access token expires.
        token_expires_at -> Nullable<Timestamptz>,
        /// connected, needs_reauth or disconnected.
        status -> Text,
        /// Last successful sync.
        last_synced_at -> Nullable<Timestamptz>,
        /// Created.
        created_at -> Timestamptz,
        /// Last changed.
        updated_at -> Timestamptz,
        /// Bumped whenever the access token changes.
        token_version -> Int8,
        /// The Clio user's name.
        clio_user_name -> Nullable<Text>,
        /// Why the status is what it is (a refresh's refusal, ...).
        status_reason -> Nullable<Text>,
        /// When the user disconnected.
        disconnected_at -> Nullable<Timestamptz>,
        /// A 429 or an open circuit holds this connection's sync work until then.
        sync_not_before -> Nullable<Timestamptz>,
        /// When Clio refused to show custom field definitions (403).
        custom_fields_forbidden_at -> Nullable<Timestamptz>,
        /// Consecutive failed reads of this connection (the sync circuit).
        sync_failures -> Int4,
        /// When Clio last accepted the grant (the connect, or the daily probe).
        verified_at -> Nullable<Timestamptz>,
        /// The Clio user's own time zone (IANA), from `who_am_i`.
        clio_time_zone -> Nullable<Text>,
        /// Since when the connection's CRM projection is current (its first job finished).
        crm_projected_at -> Nullable<Timestamptz>,
    }
}

diesel::joinable!(connections -> users (user_id));

diesel::table! {
    /// One Clio webhook of one connection.
    webhook_subscriptions (id) {
        /// Row id.
        id -> Int8,
        /// The unguessable URL segment.
        token -> Text,
        /// The connection.
        connection_id -> Int8,
        /// Clio's webhook id, once known.
        clio_webhook_id -> Nullable<Int8>,
        /// matter, contact or bill.
        model -> Text,
        /// Subscribed events.
        events -> Array<Text>,
        /// The `fields` given to Clio.
        fields -> Text,
        /// The encrypted handshake secret.
        secret_enc -> Nullable<Bytea>,
        /// awaiting_handshake, active or deleted.
        status -> Text,
        /// When Clio stops delivering.
        expires_at -> Nullable<Timestamptz>,
        /// Created.
        created_at -> Timestamptz,
        /// Last changed.
        updated_at -> Timestamptz,
        /// The public base URL it was created under.
        public_url -> Text,
        /// When Clio last confirmed it enabled and unexpired.
        checked_at -> Nullable<Timestamptz>,
        /// Why it was deleted.
        deleted_reason -> Nullable<Text>,
    }
}

diesel::table! {
    /// Events each consumer has applied.
    processed_events (consumer, event_id) {
        /// The consumer (queue) name.
        consumer -> Text,
        /// The event id.
        event_id -> Text,
        /// When.
        processed_at -> Timestamptz,
    }
}

diesel::table! {
    /// Messages workers gave up on.
    dead_letters (id) {
        /// Row id.
        id -> Int8,
        /// The dead-lettering's id.
        dead_letter_id -> Text,
        /// The queue that failed.
        queue -> Text,
        /// The message's routing key.
        routing_key -> Text,
        /// The event id.
        event_id -> Text,
        /// The envelope as published.
        envelope -> Jsonb,
        /// Model, for filtering.
        model -> Nullable<Text>,
        /// Event, for filtering.
        event -> Nullable<Text>,
        /// Connection, for filtering.
        connection_id -> Nullable<Int8>,
        /// Why it was dead-lettered.
        reason -> Text,
        /// The error chain.
        error -> Text,
        /// Attempts made.
        attempts -> Int4,
        /// First failure.
        first_failed_at -> Timestamptz,
        /// Last failure.
        last_failed_at -> Timestamptz,
        /// dead, replayed or discarded.
        state -> Text,
        /// Times replayed.
        replays -> Int4,
        /// Who last replayed or discarded it.
        state_changed_by -> Nullable<Text>,
        /// When.
        state_changed_at -> Nullable<Timestamptz>,
        /// Recorded.
        created_at -> Timestamptz,
        /// The message's properties and AMQP headers when it was given up on.
        headers -> Jsonb,
    }
}

diesel::table! {
    /// Each replay or discard of each dead letter.
    dead_letter_history (id) {
        /// Row id.
        id -> Int8,
        /// The dead letter.
        dead_letter_id -> Int8,
        /// replay or discard.
        action -> Text,
        /// Who.
        actor -> Text,
        /// When.
        at -> Timestamptz,
    }
}

diesel::table! {
    /// Support console sessions.
    console_sessions (token_hash) {
        /// SHA-256 of the cookie's value (hex).
        token_hash -> Text,
        /// The admin.
        user_id -> Int8,
        /// The token every form posts back.
        csrf_token -> Text,
        /// Created.
        created_at -> Timestamptz,
        /// Ends.
        expires_at -> Timestamptz,
    }
}

diesel::table! {
    /// Bulk-action confirmations already used.
    console_confirmations (nonce) {
        /// The confirmation form's one-time token.
        nonce -> Text,
        /// Used.
        created_at -> Timestamptz,
    }
}

diesel::table! {
    /// How far each worker queue's consumers have got.
    queue_progress (queue) {
        /// The queue.
        queue -> Text,
        /// The newest sent-at of a message taken.
        last_sent_at -> Timestamptz,
        /// When a message was last taken.
        last_taken_at -> Timestamptz,
    }
}

diesel::table! {
    /// Replays and discards, for the record.
    dead_letter_actions (id) {
        /// Row id.
        id -> Int8,
        /// replay or discard.
        action -> Text,
        /// Who.
        actor -> Text,
        /// Which rows (ids or filter).
        selection -> Jsonb,
        /// How many rows.
        count -> Int4,
        /// When.
        at -> Timestamptz,
    }
}

diesel::table! {
    /// Clio events as the journal worker recorded them.
    event_journal (event_id) {
        /// The event id.
        event_id -> Text,
        /// The subscription.
        subscription_id -> Int8,
        /// The connection.
        connection_id -> Int8,
        /// matter, contact or bill.
        model -> Text,
        /// The Clio event.
        event -> Text,
        /// The record.
        record_id -> Nullable<Int8>,
        /// When the receiver accepted it.
        received_at -> Timestamptz,
        /// When the worker recorded it.
        recorded_at -> Timestamptz,
    }
}

diesel::joinable!(webhook_subscriptions -> connections (connection_id));
diesel::joinable!(notifications -> users (user_id));
diesel::joinable!(dead_letter_history -> dead_letters (dead_letter_id));
diesel::joinable!(console_sessions -> users (user_id));
diesel::joinable!(sweep_requests -> connections (connection_id));
diesel::joinable!(connection_settings -> connections (connection_id));
diesel::allow_tables_to_appear_in_same_query!(
    users,
    connections,
    webhook_subscriptions,
    processed_events,
    dead_letters,
    dead_letter_actions,
    dead_letter_history,
    console_sessions,
    console_confirmations,
    queue_progress,
    event_journal,
    oauth_states,
    notifications,
    sweep_requests,
    sync_queue,
    sync_cursors,
    clio_matters,
    clio_contacts,
    clio_contact_emails,
    clio_contact_phones,
    clio_bills,
    clio_users,
    clio_custom_fields,
    outbox,
    outbox_published,
    referrals,
    referral_events,
    referral_suggestions,
    action_items,
    connection_settings,
    connection_settings_history,
    review_requests,
    review_reconciliations,
    custom_actions,
    activities,
    crm_contacts,
    crm_events,
    jobs,
    lookup_keys,
    watches,
    watch_changes,
);

diesel::table! {
    /// Single-use OAuth states.
    oauth_states (state_hash) {
        /// SHA-256 of the state.
        state_hash -> Bytea,
        /// The user who started the connect.
        user_id -> Int8,
        /// The region they chose.
        region -> Text,
        /// Issued.
        created_at -> Timestamptz,
        /// No longer accepted after.
        expires_at -> Timestamptz,
        /// When the callback used it.
        used_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    /// What a user should know about their connections.
    notifications (id) {
        /// Row id.
        id -> Int8,
        /// The user.
        user_id -> Int8,
        /// The connection concerned.
        connection_id -> Nullable<Int8>,
        /// What happened (`needs_reauth`, ...).
        kind -> Text,
        /// For the user to read.
        message -> Text,
        /// Created.
        created_at -> Timestamptz,
        /// When the user read it.
        read_at -> Nullable<Timestamptz>,
        /// The referral it is about.
        referral_id -> Nullable<Int8>,
        /// The suggestion it offers to confirm.
        suggestion_id -> Nullable<Int8>,
        /// The review request it is about.
        review_request_id -> Nullable<Int8>,
    }
}

diesel::table! {
    /// Requests to re-read what webhooks may have missed.
    sweep_requests (id) {
        /// Row id.
        id -> Int8,
        /// The connection.
        connection_id -> Int8,
        /// matter, contact or bill.
        model -> Text,
        /// Re-read records changed since.
        since -> Timestamptz,
        /// Why.
        reason -> Text,
        /// Requested.
        requested_at -> Timestamptz,
        /// Completed.
        done_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    /// Clio records waiting to be re-read.
    sync_queue (id) {
        /// Row id.
        id -> Int8,
        /// The connection whose event it was.
        connection_id -> Int8,
        /// matter, contact or bill.
        model -> Text,
        /// The record's Clio id.
        record_id -> Int8,
        /// The event's id.
        event_id -> Text,
        /// The event as it arrived.
        envelope -> Jsonb,
        /// Appended.
        enqueued_at -> Timestamptz,
        /// Not taken before.
        due_at -> Timestamptz,
        /// Failed reads so far.
        attempts -> Int4,
        /// The first failed read.
        first_failed_at -> Nullable<Timestamptz>,
        /// The last failure.
        last_error -> Nullable<Text>,
    }
}

diesel::table! {
    /// Sweep progress per connection and model.
    sync_cursors (connection_id, model) {
        /// The connection.
        connection_id -> Int8,
        /// matter, contact, bill, user or custom_field.
        model -> Text,
        /// The start of the last complete sweep.
        swept_until -> Nullable<Timestamptz>,
        /// The start of the sweep under way.
        started_at -> Nullable<Timestamptz>,
        /// The next page of the sweep under way.
        next_page -> Nullable<Text>,
        /// Held by a sweeper until.
        lease_until -> Nullable<Timestamptz>,
        /// When the last sweep finished.
        last_finished_at -> Nullable<Timestamptz>,
        /// Records the last sweep read.
        last_seen -> Int4,
        /// Changes the last sweep found that the mirror lacked.
        last_missed -> Int4,
        /// The last sweep's failure.
        last_error -> Nullable<Text>,
        /// The start of the last complete listing (a full sweep or the baseline).
        last_full_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    /// Mirrored Clio matters.
    clio_matters (clio_account_id, clio_id) {
        /// The firm.
        clio_account_id -> Int8,
        /// Clio id.
        clio_id -> Int8,
        /// Clio's version tag.
        etag -> Nullable<Text>,
        /// Clio's last change.
        clio_updated_at -> Nullable<Timestamptz>,
        /// Shown number.
        display_number -> Nullable<Text>,
        /// Description.
        description -> Nullable<Text>,
        /// Open, Pending or Closed.
        status -> Nullable<Text>,
        /// Opened.
        open_date -> Nullable<Date>,
        /// Pended.
        pending_date -> Nullable<Date>,
        /// Closed.
        close_date -> Nullable<Date>,
        /// The client contact.
        client_id -> Nullable<Int8>,
        /// The client's name.
        client_name -> Nullable<Text>,
        /// The client's primary email, normalised.
        client_email -> Nullable<Text>,
        /// Responsible attorney.
        responsible_attorney_id -> Nullable<Int8>,
        /// Originating attorney.
        originating_attorney_id -> Nullable<Int8>,
        /// Responsible staff.
        responsible_staff_id -> Nullable<Int8>,
        /// Practice area.
        practice_area -> Nullable<Text>,
        /// Matter stage.
        matter_stage -> Nullable<Text>,
        /// Custom field values.
        custom_field_values -> Jsonb,
        /// The record as read.
        data -> Jsonb,
        /// Deleted in Clio.
        deleted_at -> Nullable<Timestamptz>,
        /// Last written.
        synced_at -> Timestamptz,
    }
}

diesel::table! {
    /// Mirrored Clio contacts.
    clio_contacts (clio_account_id, clio_id) {
        /// The firm.
        clio_account_id -> Int8,
        /// Clio id.
        clio_id -> Int8,
        /// Clio's version tag.
        etag -> Nullable<Text>,
        /// Clio's last change.
        clio_updated_at -> Nullable<Timestamptz>,
        /// Person or Company.
        kind -> Nullable<Text>,
        /// Full name.
        name -> Nullable<Text>,
        /// First name.
        first_name -> Nullable<Text>,
        /// Middle name.
        middle_name -> Nullable<Text>,
        /// Last name.
        last_name -> Nullable<Text>,
        /// Job title.
        title -> Nullable<Text>,
        /// Company contact.
        company_id -> Nullable<Int8>,
        /// Company name.
        company_name -> Nullable<Text>,
        /// Date of birth.
        date_of_birth -> Nullable<Date>,
        /// Whether a client.
        is_client -> Nullable<Bool>,
        /// Primary email, normalised.
        primary_email -> Nullable<Text>,
        /// Custom field values.
        custom_field_values -> Jsonb,
        /// The record as read.
        data -> Jsonb,
        /// Deleted in Clio.
        deleted_at -> Nullable<Timestamptz>,
        /// Last written.
        synced_at -> Timestamptz,
    }
}

diesel::table! {
    /// Normalised contact emails.
    clio_contact_emails (clio_account_id, contact_id, email) {
        /// The firm.
        clio_account_id -> Int8,
        /// The contact.
        contact_id -> Int8,
        /// Lower-cased, trimmed.
        email -> Text,
    }
}

diesel::table! {
    /// Normalised contact phone numbers.
    clio_contact_phones (clio_account_id, contact_id, position) {
        /// The firm.
        clio_account_id -> Int8,
        /// The contact.
        contact_id -> Int8,
        /// Order on the contact.
        position -> Int4,
        /// As typed in Clio.
        raw -> Text,
        /// E.164, when the country is known.
        e164 -> Nullable<Text>,
        /// National significant digits.
        national -> Text,
        /// Last four digits.
        last_four -> Text,
    }
}

diesel::table! {
    /// Mirrored Clio bills.
    clio_bills (clio_account_id, clio_id) {
        /// The firm.
        clio_account_id -> Int8,
        /// Clio id.
        clio_id -> Int8,
        /// Clio's version tag.
        etag -> Nullable<Text>,
        /// Clio's last change.
        clio_updated_at -> Nullable<Timestamptz>,
        /// Bill number.
        number -> Nullable<Text>,
        /// Clio's state.
        state -> Nullable<Text>,
        /// Total, in minor units of `currency`.
        total_minor -> Nullable<Int8>,
        /// Paid, in minor units of `currency`.
        paid_minor -> Nullable<Int8>,
        /// Outstanding, in minor units of `currency`.
        balance_minor -> Nullable<Int8>,
        /// Paid in full at.
        paid_at -> Nullable<Timestamptz>,
        /// The billed client.
        client_id -> Nullable<Int8>,
        /// The matters covered.
        matter_ids -> Array<Int8>,
        /// The record as read.
        data -> Jsonb,
        /// Deleted in Clio.
        deleted_at -> Nullable<Timestamptz>,
        /// Last written.
        synced_at -> Timestamptz,
        /// The bill's currency (ISO 4217).
        currency -> Text,
        /// The sign Clio shows for it.
        currency_sign -> Nullable<Text>,
    }
}

diesel::table! {
    /// Mirrored Clio users.
    clio_users (clio_account_id, clio_id) {
        /// The firm.
        clio_account_id -> Int8,
        /// Clio id.
        clio_id -> Int8,
        /// Name.
        name -> Nullable<Text>,
        /// Email.
        email -> Nullable<Text>,
        /// Whether enabled.
        enabled -> Nullable<Bool>,
        /// Attorney or NonAttorney.
        subscription_type -> Nullable<Text>,
        /// Last written.
        synced_at -> Timestamptz,
        /// Phone number, as typed in Clio.
        phone_number -> Nullable<Text>,
    }
}

diesel::table! {
    /// Mirrored custom field definitions.
    clio_custom_fields (clio_account_id, clio_id) {
        /// The firm.
        clio_account_id -> Int8,
        /// Clio id.
        clio_id -> Int8,
        /// Matter or Contact.
        parent_type -> Text,
        /// Name.
        name -> Nullable<Text>,
        /// Field type.
        field_type -> Nullable<Text>,
        /// The definition as read.
        data -> Jsonb,
        /// Last written.
        synced_at -> Timestamptz,
    }
}

diesel::table! {
    /// Domain events waiting to be published.
    outbox (id) {
        /// Row id (publication order).
        id -> Int8,
        /// Where it goes.
        routing_key -> Text,
        /// The envelope.
        message -> Jsonb,
        /// Written.
        created_at -> Timestamptz,
    }
}

diesel::table! {
    /// Domain events the relay published, kept for republishing after a broker's data loss.
    outbox_published (id) {
        /// The outbox row's id (publication order).
        id -> Int8,
        /// Where it went.
        routing_key -> Text,
        /// The envelope.
        message -> Jsonb,
        /// Written to the outbox.
        created_at -> Timestamptz,
        /// Confirmed by the broker.
        published_at -> Timestamptz,
    }
}

diesel::joinable!(sync_queue -> connections (connection_id));
diesel::joinable!(sync_cursors -> connections (connection_id));

diesel::table! {
    /// Referrals, received or sent, and the matter each is linked to.
    referrals (id) {
        /// Row id.
        id -> Int8,
        /// Owner.
        user_id -> Int8,
        /// received or sent.
        direction -> Text,
        /// The referring (or receiving) partner.
        partner_name -> Text,
        /// Their email.
        partner_email -> Nullable<Text>,
        /// Client first name.
        client_first_name -> Nullable<Text>,
        /// Client last name.
        client_last_name -> Nullable<Text>,
        /// Client email.
        client_email -> Nullable<Text>,
        /// Client company.
        client_company -> Nullable<Text>,
        /// open, won or lost.
        status -> Text,
        /// Commission as an amount, in cents.
        commission_cents -> Nullable<Int8>,
        /// Commission as a share, in basis points.
        commission_bp -> Nullable<Int4>,
        /// Normalised client email.
        email_key -> Nullable<Text>,
        /// Normalised client name.
        name_key -> Nullable<Text>,
        /// Normalised client company.
        company_key -> Nullable<Text>,
        /// Words of the client's name.
        name_tokens -> Array<Text>,
        /// The linked matter's firm.
        clio_account_id -> Nullable<Int8>,
        /// The linked matter.
        matter_id -> Nullable<Int8>,
        /// When linked.
        linked_at -> Nullable<Timestamptz>,
        /// match or user.
        linked_by -> Nullable<Text>,
        /// When the status last changed, as its source saw it.
        status_changed_at -> Nullable<Timestamptz>,
        /// Created.
        created_at -> Timestamptz,
        /// Last changed.
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    /// A referral's timeline.
    referral_events (id) {
        /// Row id.
        id -> Int8,
        /// The referral.
        referral_id -> Int8,
        /// When.
        at -> Timestamptz,
        /// What kind of entry.
        kind -> Text,
        /// For the user to read.
        message -> Text,
    }
}

diesel::table! {
    /// Possible matches offered to the user.
    referral_suggestions (id) {
        /// Row id.
        id -> Int8,
        /// The referral.
        referral_id -> Int8,
        /// The matter's firm.
        clio_account_id -> Int8,
        /// The matter.
        matter_id -> Int8,
        /// Offered.
        created_at -> Timestamptz,
        /// Confirmed or otherwise settled.
        decided_at -> Nullable<Timestamptz>,
        /// confirmed, dismissed or superseded (set with `decided_at`).
        outcome -> Nullable<Text>,
    }
}

diesel::table! {
    /// Drafts waiting for the user's approval.
    action_items (id) {
        /// Row id.
        id -> Int8,
        /// Owner.
        user_id -> Int8,
        /// The referral.
        referral_id -> Int8,
        /// thank_you_draft.
        kind -> Text,
        /// The bill's firm.
        clio_account_id -> Int8,
        /// The bill.
        bill_id -> Int8,
        /// Recipient name.
        to_name -> Text,
        /// Recipient email.
        to_email -> Nullable<Text>,
        /// Subject.
        subject -> Text,
        /// Body.
        body -> Text,
        /// pending, approved or dismissed.
        state -> Text,
        /// Created.
        created_at -> Timestamptz,
        /// Approved or dismissed at.
        decided_at -> Nullable<Timestamptz>,
    }
}

diesel::joinable!(referrals -> users (user_id));
diesel::joinable!(referral_events -> referrals (referral_id));
diesel::joinable!(referral_suggestions -> referrals (referral_id));
diesel::joinable!(action_items -> referrals (referral_id));

diesel::table! {
    /// A connection's settings document.
    connection_settings (connection_id) {
        /// The connection.
        connection_id -> Int8,
        /// The document, validated (matterhook_domain::settings).
        document -> Jsonb,
        /// Last changed.
        updated_at -> Timestamptz,
        /// By whom.
        updated_by -> Int8,
    }
}

diesel::table! {
    /// Every change to a connection's settings.
    connection_settings_history (id) {
        /// Row id.
        id -> Int8,
        /// The connection.
        connection_id -> Int8,
        /// When.
        changed_at -> Timestamptz,
        /// Who.
        changed_by -> Int8,
        /// The document before.
        before -> Jsonb,
        /// The document after.
        after -> Jsonb,
    }
}

diesel::table! {
    /// Review requests.
    review_requests (id) {
        /// Row id.
        id -> Int8,
        /// The connection whose settings made it.
        connection_id -> Int8,
        /// The firm.
        clio_account_id -> Int8,
        /// The matter.
        matter_id -> Int8,
        /// closed, pending, open or manual.
        trigger -> Text,
        /// When the matter entered the trigger status (or the button was pressed).
        triggered_at -> Timestamptz,
        /// When it falls due.
        due_at -> Timestamptz,
        /// scheduled, due, sent, restricted or cancelled.
        state -> Text,
        /// Why it is restricted or cancelled.
        reason -> Nullable<Text>,
        /// The client contact.
        client_id -> Nullable<Int8>,
        /// The client's first name (a company's name for a company).
        first_name -> Nullable<Text>,
        /// The client's last name.
        last_name -> Nullable<Text>,
        /// The client's primary email, normalised.
        email -> Nullable<Text>,
        /// The client's phone, E.164.
        phone -> Nullable<Text>,
        /// The location's name.
        location -> Nullable<Text>,
        /// The location's business id.
        business_id -> Nullable<Text>,
        /// The matter's number.
        display_number -> Nullable<Text>,
        /// The responsible attorney.
        responsible_attorney_id -> Nullable<Int8>,
        /// A manual request made past the cooldown on purpose.
        forced -> Bool,
        /// Created.
        created_at -> Timestamptz,
        /// Last changed.
        updated_at -> Timestamptz,
        /// When the platform confirmed it sent it.
        sent_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    /// The daily reconciliation's progress per connection.
    review_reconciliations (connection_id) {
        /// The connection.
        connection_id -> Int8,
        /// The last local day it covered.
        covered_day -> Date,
        /// When.
        ran_at -> Timestamptz,
    }
}
diesel::joinable!(review_requests -> connections (connection_id));

diesel::table! {
    /// The custom actions (buttons inside Clio) each connection registered.
    custom_actions (connection_id, purpose) {
        /// The connection.
        connection_id -> Int8,
        /// What it is for.
        purpose -> Text,
        /// Clio's id.
        clio_id -> Int8,
        /// Where a click lands, as registered.
        target_url -> Text,
        /// Registered.
        created_at -> Timestamptz,
        /// When Clio last showed it registered.
        checked_at -> Timestamptz,
    }
}
diesel::joinable!(custom_actions -> connections (connection_id));

diesel::table! {
    /// Activities posted for writeback to Clio.
    activities (id) {
        /// Row id.
        id -> Int8,
        /// The user who posted it.
        user_id -> Int8,
        /// The connection it is written through.
        connection_id -> Int8,
        /// The caller's Idempotency-Key.
        idempotency_key -> Text,
        /// SHA-256 of the body posted with that key.
        request_hash -> Bytea,
        /// The firm.
        clio_account_id -> Int8,
        /// The Clio contact.
        contact_id -> Int8,
        /// The matter, if any.
        matter_id -> Nullable<Int8>,
        /// email, note, call, card or text.
        kind -> Text,
        /// Subject.
        subject -> Text,
        /// Text.
        body -> Text,
        /// When it happened.
        occurred_at -> Timestamptz,
        /// inbound or outbound.
        direction -> Nullable<Text>,
        /// queued, written, skipped or failed.
        state -> Text,
        /// note or communication.
        clio_record -> Nullable<Text>,
        /// Clio's id of it.
        clio_id -> Nullable<Int8>,
        /// Why it failed or was skipped.
        reason -> Nullable<Text>,
        /// Its dead letter.
        dead_letter_id -> Nullable<Int8>,
        /// Posted.
        created_at -> Timestamptz,
        /// Last changed.
        updated_at -> Timestamptz,
        /// When it is next due for writing.
        due_at -> Timestamptz,
        /// Writes tried.
        attempts -> Int4,
        /// Waiting for its connection to be reauthorized.
        parked -> Bool,
        /// Until when a worker holds it.
        lease_until -> Nullable<Timestamptz>,
        /// When a write went out whose answer was not seen.
        write_sent_at -> Nullable<Timestamptz>,
        /// When it was written (or adopted).
        written_at -> Nullable<Timestamptz>,
    }
}
diesel::joinable!(activities -> connections (connection_id));
diesel::joinable!(activities -> users (user_id));

diesel::table! {
    /// Each connection's projection of its firm's contacts for the CRM.
    crm_contacts (connection_id, contact_id) {
        /// The connection.
        connection_id -> Int8,
        /// The Clio contact.
        contact_id -> Int8,
        /// The firm.
        clio_account_id -> Int8,
        /// The contact as the CRM sees it; null once removed.
        projection -> Nullable<Jsonb>,
        /// Its tags.
        tags -> Array<Text>,
        /// Its owner (a Clio user).
        owner -> Nullable<Int8>,
        /// added, changed or removed.
        change -> Text,
        /// Its position in the change feed.
        seq -> Int8,
        /// Last written.
        updated_at -> Timestamptz,
    }
}
diesel::joinable!(crm_contacts -> connections (connection_id));

diesel::table! {
    /// `contact.new_client`, once per connection and contact.
    crm_events (id) {
        /// Row id: the feed's position.
        id -> Int8,
        /// The connection.
        connection_id -> Int8,
        /// The Clio contact.
        contact_id -> Int8,
        /// contact.new_client.
        kind -> Text,
        /// Recorded by the first projection (never shown).
        baseline -> Bool,
        /// When.
        at -> Timestamptz,
    }
}
diesel::joinable!(crm_events -> connections (connection_id));

diesel::table! {
    /// Long work a user started, with its progress.
    jobs (id) {
        /// Row id.
        id -> Int8,
        /// crm_projection.
        kind -> Text,
        /// The connection it works on.
        connection_id -> Int8,
        /// Who started it.
        user_id -> Int8,
        /// queued, running, done or failed.
        state -> Text,
        /// Items to do, once known.
        total -> Nullable<Int4>,
        /// Items done.
        done -> Int4,
        /// Why it failed.
        error -> Nullable<Text>,
        /// Until when a worker holds it.
        lease_until -> Nullable<Timestamptz>,
        /// Queued.
        created_at -> Timestamptz,
        /// Started.
        started_at -> Nullable<Timestamptz>,
        /// Finished.
        finished_at -> Nullable<Timestamptz>,
    }
}
diesel::joinable!(jobs -> connections (connection_id));
diesel::joinable!(jobs -> users (user_id));

diesel::table! {
    /// Keys that look up callers of one connection's firm.
    lookup_keys (id) {
        /// Row id.
        id -> Int8,
        /// The connection whose firm it sees.
        connection_id -> Int8,
        /// Who created it.
        created_by -> Int8,
        /// What it is for.
        name -> Text,
        /// SHA-256 of the key.
        key_hash -> Bytea,
        /// The key's first characters.
        key_prefix -> Text,
        /// Lookups per minute.
        per_minute -> Int4,
        /// Created.
        created_at -> Timestamptz,
        /// Revoked.
        revoked_at -> Nullable<Timestamptz>,
    }
}
diesel::joinable!(lookup_keys -> connections (connection_id));

diesel::table! {
    /// Matters imported from Clio as watches.
    watches (id) {
        /// Row id.
        id -> Int8,
        /// The connection it was imported through.
        connection_id -> Int8,
        /// Whose.
        user_id -> Int8,
        /// The firm.
        clio_account_id -> Int8,
        /// The Clio matter.
        matter_id -> Int8,
        /// The matter's client as last synced.
        client_id -> Nullable<Int8>,
        /// Clio-sourced fields by name.
        fields -> Jsonb,
        /// Fields the user edited since their last sync.
        edited -> Array<Text>,
        /// Clio values kept out by the user's edits.
        conflicts -> Jsonb,
        /// Local notes.
        notes -> Text,
        /// Local tags.
        tags -> Array<Text>,
        /// low, normal or high.
        priority -> Text,
        /// The matter's status in Clio.
        clio_status -> Nullable<Text>,
        /// When the matter was found deleted in Clio.
        clio_deleted_at -> Nullable<Timestamptz>,
        /// Last synced.
        last_synced_at -> Nullable<Timestamptz>,
        /// Imported.
        created_at -> Timestamptz,
        /// Last changed.
        updated_at -> Timestamptz,
    }
}
diesel::joinable!(watches -> connections (connection_id));
diesel::joinable!(watches -> users (user_id));

diesel::table! {
    /// Every change to a watch's Clio-sourced fields.
    watch_changes (id) {
        /// Row id.
        id -> Int8,
        /// The watch.
        watch_id -> Int8,
        /// When.
        at -> Timestamptz,
        /// import, sync, event, edit or accept.
        source -> Text,
        /// The field.
        field -> Text,
        /// Before.
        from_value -> Nullable<Text>,
        /// After.
        to_value -> Nullable<Text>,
    }
}
diesel::joinable!(watch_changes -> watches (watch_id));
