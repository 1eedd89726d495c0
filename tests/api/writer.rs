//! The write path underneath every change (`Db::begin_write`): on SQLite one shared
//! connection with a savepoint per change and group commit; on PostgreSQL a transaction per
//! change. Either way a committed change is stored, and a change that fails, is dropped, or
//! is cancelled mid-way leaves nothing and does not disturb the changes around it. A
//! statement announced as slow (`expect_slow`, a batch of a usage flush) runs off the async
//! worker thread and behaves the same.

use crate::common::fresh_database_url;
use gateway_console::store::{Db, Read, Write};
use std::sync::Arc;
use std::time::Duration;

async fn insert(tx: &mut gateway_console::store::writer::WriteTx, subject: &str) {
    let sql = "INSERT INTO login_failures (subject, at) VALUES ($1, 1)";
    tx.execute(sql, &[subject.into()]).await.unwrap();
}

async fn stored(db: &Db) -> Vec<String> {
    let mut v: Vec<String> = sqlx::query_scalar("SELECT subject FROM login_failures")
        .fetch_all(&db.pool)
        .await
        .unwrap();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn committed_changes_stay_and_failed_dropped_or_cancelled_ones_leave_nothing() {
    let (url, _dir) = fresh_database_url().await;
    let db = Arc::new(Db::connect(&url).await.unwrap());
    let tasks: Vec<_> = (0..60)
        .map(|i| {
            let db = db.clone();
            tokio::spawn(async move {
                let subject = format!("s{i:02}");
                match i % 4 {
                    // Committed (every other one with its statement announced as slow).
                    0 | 1 => {
                        let mut tx = db.begin_write().await.unwrap();
                        if i % 8 == 0 {
                            tx.expect_slow();
                        }
                        insert(&mut tx, &subject).await;
                        tx.commit().await.unwrap();
                        Some(subject)
                    }
                    // Fails after writing: dropped without commit.
                    2 => {
                        let mut tx = db.begin_write().await.unwrap();
                        insert(&mut tx, &subject).await;
                        if i % 8 == 2 {
                            tx.expect_slow();
                        }
                        let broken = tx
                            .execute("INSERT INTO no_such_table VALUES (1)", &[])
                            .await;
                        assert!(broken.is_err());
                        None
                    }
                    // Cancelled while it holds its turn (its request went away).
                    _ => {
                        let work = async {
                            let mut tx = db.begin_write().await.unwrap();
                            insert(&mut tx, &subject).await;
                            tokio::time::sleep(Duration::from_secs(60)).await;
                            tx.commit().await.unwrap();
                        };
                        let cancelled = tokio::time::timeout(Duration::from_millis(20), work).await;
                        assert!(cancelled.is_err());
                        None
                    }
                }
            })
        })
        .collect();
    let mut want = vec![];
    for t in tasks {
        want.extend(t.await.unwrap());
    }
    want.sort();
    assert_eq!(stored(&db).await, want);

    // And the writer goes on: a change after all that commits.
    let mut tx = db.begin_write().await.unwrap();
    insert(&mut tx, "after").await;
    tx.commit().await.unwrap();
    assert!(stored(&db).await.contains(&"after".to_owned()));
}

#[tokio::test]
async fn a_change_that_is_dropped_alone_releases_the_write_lock() {
    let (url, _dir) = fresh_database_url().await;
    let db = Db::connect(&url).await.unwrap();
    {
        let mut tx = db.begin_write().await.unwrap();
        insert(&mut tx, "abandoned").await;
    }
    // A write outside the change path (sign-in bookkeeping) is not kept waiting by the
    // abandoned change's transaction.
    let direct = tokio::time::timeout(
        Duration::from_secs(2),
        sqlx::query("INSERT INTO login_failures (subject, at) VALUES ('direct', 1)")
            .execute(&db.pool),
    )
    .await;
    assert!(matches!(direct, Ok(Ok(_))), "{direct:?}");
    assert_eq!(stored(&db).await, ["direct"]);
}

/// A request may go away while its turn is being opened (between the writer's `BEGIN` and
/// its bookkeeping): the next change must still get a clean turn, and what was committed
/// around it must stay. Before the writer tracked this, the next change could meet a
/// transaction the writer did not know of and fail with "cannot start a transaction within a
/// transaction" (a 500).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_change_cancelled_while_its_turn_opens_leaves_the_writer_usable() {
    let (url, _dir) = fresh_database_url().await;
    let db = Arc::new(Db::connect(&url).await.unwrap());
    let mut want = Vec::new();
    for round in 0..300u64 {
        // Cancelled after a few microseconds: somewhere inside opening the turn, or before.
        let _ = tokio::time::timeout(Duration::from_micros(round % 60), db.begin_write()).await;
        let subject = format!("r{round:03}");
        let mut tx = db
            .begin_write()
            .await
            .expect("a clean turn after a cancelled one");
        insert(&mut tx, &subject).await;
        tx.commit().await.expect("committed");
        want.push(subject);
    }
    want.sort();
    assert_eq!(stored(&db).await, want);
}
