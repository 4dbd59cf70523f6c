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
diesel::joinable!(sweep_requests -> connections (connection_id));
diesel::allow_tables_to_appear_in_same_query!(
    users,
    connections,
    webhook_subscriptions,
    processed_events,
    dead_letters,
    dead_letter_actions,
    event_journal,
    oauth_states,
    notifications,
    sweep_requests,
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
