//! The store against a real PostgreSQL: migrations, the start-up check, and the Diesel schema
//! matching the migrated tables.

use diesel::{ExpressionMethods, QueryDsl};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use matterhook_store::{ensure_schema_current, run_migrations, schema, MigrationError};
use matterhook_test_support::TestDb;

#[tokio::test]
async fn an_outdated_schema_is_refused_until_migrated() {
    let db = TestDb::empty().await.expect("database");
    match ensure_schema_current(db.url()).await {
        Err(MigrationError::Outdated { pending }) => assert!(!pending.is_empty()),
        other => panic!("expected Outdated, got {other:?}"),
    }
    let applied = run_migrations(db.url()).await.expect("migrate");
    assert!(!applied.is_empty());
    assert!(
        run_migrations(db.url()).await.expect("again").is_empty(),
        "migrating is idempotent"
    );
    ensure_schema_current(db.url())
        .await
        .expect("current after migrating");
}

#[tokio::test]
async fn the_diesel_schema_matches_the_tables() {
    let db = TestDb::new().await.expect("database");
    let mut conn = AsyncPgConnection::establish(db.url())
        .await
        .expect("connect");
    let user_id: i64 = diesel::insert_into(schema::users::table)
        .values((
            schema::users::email.eq("alice@example.com"),
            schema::users::token_hash.eq(vec![7u8; 32]),
        ))
        .returning(schema::users::id)
        .get_result(&mut conn)
        .await
        .expect("insert user");
    let connection_id: i64 = diesel::insert_into(schema::connections::table)
        .values((
            schema::connections::user_id.eq(user_id),
            schema::connections::region.eq("eu"),
            schema::connections::clio_user_id.eq(11),
            schema::connections::clio_account_id.eq(22),
            schema::connections::account_name.eq("Firm"),
        ))
        .returning(schema::connections::id)
        .get_result(&mut conn)
        .await
        .expect("insert connection");
    let (status, region): (String, String) = schema::connections::table
        .find(connection_id)
        .select((schema::connections::status, schema::connections::region))
        .first(&mut conn)
        .await
        .expect("read back");
    assert_eq!((status.as_str(), region.as_str()), ("connected", "eu"));

    let bad_region = diesel::insert_into(schema::connections::table)
        .values((
            schema::connections::user_id.eq(user_id),
            schema::connections::region.eq("uk"),
            schema::connections::clio_user_id.eq(12),
            schema::connections::clio_account_id.eq(22),
            schema::connections::account_name.eq("Firm"),
        ))
        .execute(&mut conn)
        .await;
    assert!(
        bad_region.is_err(),
        "the database refuses an unknown region"
    );
    let shouty = diesel::insert_into(schema::users::table)
        .values((
            schema::users::email.eq("Bob@Example.com"),
            schema::users::token_hash.eq(vec![8u8; 32]),
        ))
        .execute(&mut conn)
        .await;
    assert!(shouty.is_err(), "emails are stored normalised");
}
