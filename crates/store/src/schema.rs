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
    }
}

diesel::joinable!(connections -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(users, connections);
