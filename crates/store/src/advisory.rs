//! PostgreSQL advisory locks: every key matterhook uses, in one place, so no two uses collide.
//!
//! - [`take_turn`]: a transaction-level lock per firm and model, so two writers of one firm's
//!   mirror cannot interleave their version checks.
//! - [`try_scheduler_pass`] / [`end_scheduler_pass`]: a session-level lock, so however many
//!   schedulers run, one pass runs at a time.

use diesel::{define_sql_function, sql_types::BigInt, QueryResult};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use matterhook_domain::Model;

define_sql_function! {
    /// Waits for a transaction-level advisory lock.
    fn pg_advisory_xact_lock(key: BigInt);
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

/// The mirror lock's key of one firm and model: the firm's id times eight plus the model's slot.
/// (Firm ids are far below 2^60, so keys of different firms never meet.)
fn mirror_key(account: i64, model: Model) -> i64 {
    let slot = match model {
        Model::Matter => 1,
        Model::Contact => 2,
        Model::Bill => 3,
        Model::User => 4,
        Model::CustomField => 5,
    };
    account.wrapping_mul(8).wrapping_add(slot)
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
    fn every_firm_and_model_has_its_own_key() {
        let mut keys = std::collections::HashSet::new();
        for account in [1, 2, 3, 1_000_000_007] {
            for model in Model::VARIANTS {
                assert!(keys.insert(mirror_key(account, *model)));
            }
        }
        assert!(!keys.contains(&SCHEDULER_PASS));
    }
}
