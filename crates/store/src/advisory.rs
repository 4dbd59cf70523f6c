//! PostgreSQL advisory locks: every key matterhook uses, in one place, so no two uses collide.
//!
//! - [`take_turn`]: a transaction-level lock per firm and model, so two writers of one firm's
//!   mirror cannot interleave their version checks.
//! - [`try_scheduler_pass`] / [`end_scheduler_pass`]: a session-level lock, so however many
//!   schedulers run, one pass runs at a time.
//! - [`custom_actions_turn`]: a transaction-level lock per connection in the two-key space
//!   (which never meets the one-key space above), so two processes aligning one connection's
//!   custom actions cannot both register one.

use diesel::{define_sql_function, sql_types::BigInt, QueryResult};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use matterhook_domain::Model;

define_sql_function! {
    /// Waits for a transaction-level advisory lock.
    fn pg_advisory_xact_lock(key: BigInt);
}
define_sql_function! {
    /// Waits for a transaction-level advisory lock in the two-key space.
    #[sql_name = "pg_advisory_xact_lock"]
    fn pg_advisory_xact_lock2(class: diesel::sql_types::Integer, key: diesel::sql_types::Integer);
}
define_sql_function! {
    /// Takes a session-level advisory lock if free.
    fn pg_try_advisory_lock(key: BigInt) -> Bool;
}
define_sql_function! {
    /// Releases a session-level advisory lock.
    fn pg_advisory_unlock(key: BigInt) -> Bool;
}

/// The scheduled pass's key ("mhsched" in ASCII).
const SCHEDULER_PASS: i64 = 0x006d_6873_6368_6564;

/// The mirror lock's key of one firm and model: the firm's id times four plus the model's slot.
/// (Firm ids are far below 2^61, so keys of different firms never meet.) These are the keys the
/// sync stage has always used: during a rolling deploy old and new writers still exclude each
/// other.
fn mirror_key(account: i64, model: Model) -> i64 {
    let slot = match model {
        Model::Matter => 1,
        Model::Contact => 2,
        Model::Bill => 3,
        // Users and custom fields are replaced whole by their sweep, which takes no lock today;
        // should one be wanted, they share the firm's fourth slot.
        Model::User | Model::CustomField => 0,
    };
    account.wrapping_mul(4).wrapping_add(slot)
}

/// Waits for this firm's `model` writers' lock, held until the transaction ends.
pub async fn take_turn(
    conn: &mut AsyncPgConnection,
    account: i64,
    model: Model,
) -> QueryResult<()> {
    diesel::select(pg_advisory_xact_lock(mirror_key(account, model)))
        .execute(conn)
        .await
        .map(drop)
}

/// The custom-action lock's class ("ca" in ASCII).
const CUSTOM_ACTIONS: i32 = 0x6361;

/// Waits for the lock on one connection's custom actions, held until the transaction ends.
/// Connection ids past 2^31 share a key with a smaller one: they merely take turns.
pub async fn custom_actions_turn(
    conn: &mut AsyncPgConnection,
    connection_id: i64,
) -> QueryResult<()> {
    let key = connection_id as i32;
    diesel::select(pg_advisory_xact_lock2(CUSTOM_ACTIONS, key))
        .execute(conn)
        .await
        .map(drop)
}

/// Takes the scheduled pass's lock for this session, if no other holds it.
pub async fn try_scheduler_pass(conn: &mut AsyncPgConnection) -> QueryResult<bool> {
    diesel::select(pg_try_advisory_lock(SCHEDULER_PASS))
        .get_result(conn)
        .await
}

/// Releases the scheduled pass's lock.
pub async fn end_scheduler_pass(conn: &mut AsyncPgConnection) -> QueryResult<bool> {
    diesel::select(pg_advisory_unlock(SCHEDULER_PASS))
        .get_result(conn)
        .await
}

#[cfg(test)]
mod tests {
    use strum::VariantArray;

    use super::*;

    #[test]
    fn every_firm_and_record_model_has_its_own_key_and_the_keys_are_the_old_ones() {
        let mut keys = std::collections::HashSet::new();
        for account in [1, 2, 3, 1_000_000_007] {
            for model in Model::WEBHOOK {
                assert!(keys.insert(mirror_key(account, model)));
            }
            for model in Model::VARIANTS.iter().filter(|m| !m.has_webhooks()) {
                assert_eq!(mirror_key(account, *model), account * 4);
            }
        }
        assert_eq!(
            mirror_key(7, Model::Contact),
            30,
            "as before: account * 4 + 2"
        );
        assert!(!keys.contains(&SCHEDULER_PASS));
    }
}
