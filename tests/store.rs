//! The store against a real PostgreSQL: migrations, the start-up check, and the Diesel schema
//! matching the migrated tables.

use std::collections::BTreeMap;

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

/// Each table's columns as `schema.rs` declares them: name → (column → Diesel type), and the
/// primary key's columns.
type Declared = std::collections::BTreeMap<String, (Vec<String>, BTreeMap<String, String>)>;

/// Reads the `diesel::table!` blocks of `schema.rs` (doc comments and `joinable!` lines aside).
fn declared_tables(source: &str) -> Declared {
    let mut tables = Declared::new();
    let mut current: Option<String> = None;
    for line in source.lines().map(str::trim) {
        if line.starts_with("///") || line.is_empty() {
            continue;
        }
        if line.starts_with("diesel::table!") {
            current = None;
            continue;
        }
        match &current {
            None => {
                // `name (pk, ...) {` opens a table.
                if let Some((name, rest)) = line.split_once(" (") {
                    if let Some((pk, _)) = rest.split_once(") {") {
                        let pk = pk.split(',').map(|c| c.trim().to_owned()).collect();
                        tables.insert(name.to_owned(), (pk, BTreeMap::new()));
                        current = Some(name.to_owned());
                    }
                }
            }
            Some(table) => {
                if line == "}" {
                    current = None;
                } else if let Some((column, ty)) = line.split_once(" -> ") {
                    let ty = ty.trim_end_matches(',').to_owned();
                    if let Some((_, columns)) = tables.get_mut(table) {
                        columns.insert(column.to_owned(), ty);
                    }
                }
            }
        }
    }
    tables
}

/// PostgreSQL's name of a column's type, as Diesel spells it.
fn diesel_type(udt: &str, nullable: bool) -> String {
    let base = match udt {
        "int8" => "Int8".to_owned(),
        "int4" => "Int4".to_owned(),
        "int2" => "Int2".to_owned(),
        "text" | "varchar" => "Text".to_owned(),
        "bool" => "Bool".to_owned(),
        "bytea" => "Bytea".to_owned(),
        "jsonb" => "Jsonb".to_owned(),
        "date" => "Date".to_owned(),
        "timestamptz" => "Timestamptz".to_owned(),
        "uuid" => "Uuid".to_owned(),
        array if array.starts_with('_') => format!("Array<{}>", diesel_type(&array[1..], false)),
        other => format!("unmapped {other}"),
    };
    if nullable {
        format!("Nullable<{base}>")
    } else {
        base
    }
}

#[derive(diesel::QueryableByName)]
struct ColumnRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    table_name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    column_name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    udt_name: String,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    nullable: bool,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    in_primary_key: bool,
}

/// Every table the migrations make, every column with its type and nullability, and every
/// primary key, compared with `schema.rs`: a column added, dropped, retyped or made nullable on
/// either side fails here rather than at the first query that touches it.
#[tokio::test]
async fn every_table_of_the_diesel_schema_matches_the_migrated_database() {
    let db = TestDb::new().await.expect("database");
    let mut conn = AsyncPgConnection::establish(db.url())
        .await
        .expect("connect");
    let rows: Vec<ColumnRow> = diesel::sql_query(
        "SELECT c.table_name::text AS table_name, c.column_name::text AS column_name, \
                c.udt_name::text AS udt_name, c.is_nullable = 'YES' AS nullable, \
                EXISTS (SELECT 1 FROM information_schema.table_constraints t \
                        JOIN information_schema.key_column_usage k \
                          ON k.constraint_name = t.constraint_name \
                         AND k.table_name = t.table_name \
                        WHERE t.table_name = c.table_name AND t.constraint_type = 'PRIMARY KEY' \
                          AND k.column_name = c.column_name) AS in_primary_key \
         FROM information_schema.columns c \
         JOIN information_schema.tables t \
           ON t.table_name = c.table_name AND t.table_schema = c.table_schema \
         WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' \
           AND c.table_name <> '__diesel_schema_migrations' \
         ORDER BY c.table_name, c.ordinal_position",
    )
    .load(&mut conn)
    .await
    .expect("columns");
    let mut migrated = Declared::new();
    for r in rows {
        let (pk, columns) = migrated.entry(r.table_name).or_default();
        if r.in_primary_key {
            pk.push(r.column_name.clone());
        }
        columns.insert(r.column_name, diesel_type(&r.udt_name, r.nullable));
    }
    let declared = declared_tables(include_str!("../crates/store/src/schema.rs"));
    assert!(
        declared.len() >= 24,
        "schema.rs read: {:?}",
        declared.keys()
    );
    let names = |t: &Declared| t.keys().cloned().collect::<Vec<_>>();
    assert_eq!(names(&declared), names(&migrated), "the same tables");
    for (table, (declared_pk, declared_columns)) in &declared {
        let (migrated_pk, migrated_columns) = &migrated[table];
        assert_eq!(declared_columns, migrated_columns, "the columns of {table}");
        let mut declared_pk = declared_pk.clone();
        let mut migrated_pk = migrated_pk.clone();
        declared_pk.sort();
        migrated_pk.sort();
        assert_eq!(declared_pk, migrated_pk, "the primary key of {table}");
    }
}

#[test]
fn the_schema_reader_sees_a_column_that_differs() {
    let source = "diesel::table! {\n    /// t\n    t (id) {\n        id -> Int8,\n        \
                  name -> Nullable<Text>,\n    }\n}\n";
    let t = declared_tables(source);
    assert_eq!(t["t"].0, ["id"]);
    assert_eq!(t["t"].1["name"], "Nullable<Text>");
    assert_eq!(diesel_type("text", true), "Nullable<Text>");
    assert_eq!(diesel_type("_int8", false), "Array<Int8>");
}
