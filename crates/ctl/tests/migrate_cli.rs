//! `matterhook migrate` and `matterhook check-schema` as an operator runs them.

use std::process::Command;

use matterhook_test_support::TestDb;

fn matterhook(args: &[&str], database_url: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_matterhook"))
        .args(args)
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "warn")
        .output()
        .expect("the binary runs")
}

#[tokio::test]
async fn migrate_brings_a_fresh_database_up_to_date_once() {
    let db = TestDb::empty().await.expect("empty database");

    let check = matterhook(&["check-schema"], db.url());
    assert!(!check.status.success(), "an empty database is out of date");
    let stderr = String::from_utf8_lossy(&check.stderr);
    assert!(
        stderr.contains("run `matterhook migrate`"),
        "says what to do: {stderr}"
    );

    let first = matterhook(&["migrate"], db.url());
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(String::from_utf8_lossy(&first.stdout).contains("applied migration"));

    let second = matterhook(&["migrate"], db.url());
    assert!(second.status.success());
    assert!(String::from_utf8_lossy(&second.stdout).contains("schema already up to date"));

    assert!(matterhook(&["check-schema"], db.url()).status.success());
}

#[tokio::test]
async fn migrate_creates_a_missing_database() {
    let db = TestDb::empty().await.expect("database");
    // A sibling name on the same server that does not exist yet.
    let missing = format!("{}_new", db.url());
    let out = matterhook(&["migrate"], &missing);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("created the database") && stdout.contains("applied migration"),
        "{stdout}"
    );
    matterhook_test_support::drop_database(&missing)
        .await
        .expect("cleanup");
}
