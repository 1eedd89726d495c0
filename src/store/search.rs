//! Indexed substring search over consumer names, so `nameLike` stays fast at a million
//! consumers. The two engines do it differently, so this is set up in code at start-up
//! rather than in the shared migrations, idempotently:
//! - SQLite: an FTS5 table with the trigram tokenizer over `consumers.name_key`, kept in step
//!   by triggers; a search of three or more characters narrows by it first.
//! - PostgreSQL: a `pg_trgm` GIN index, which `LIKE '%…%'` uses as it is. Creating the
//!   extension needs the right to; without it the search still works, unindexed.

use super::Backend;
use sqlx::AnyPool;

const SQLITE: &[&str] = &[
    "CREATE VIRTUAL TABLE consumers_search USING fts5(name_key, content='consumers', content_rowid='rowid', tokenize='trigram')",
    "CREATE TRIGGER consumers_search_insert AFTER INSERT ON consumers BEGIN \
     INSERT INTO consumers_search (rowid, name_key) VALUES (new.rowid, new.name_key); END",
    "CREATE TRIGGER consumers_search_delete AFTER DELETE ON consumers BEGIN \
     INSERT INTO consumers_search (consumers_search, rowid, name_key) VALUES ('delete', old.rowid, old.name_key); END",
    "CREATE TRIGGER consumers_search_update AFTER UPDATE OF name_key ON consumers BEGIN \
     INSERT INTO consumers_search (consumers_search, rowid, name_key) VALUES ('delete', old.rowid, old.name_key); \
     INSERT INTO consumers_search (rowid, name_key) VALUES (new.rowid, new.name_key); END",
    "INSERT INTO consumers_search (consumers_search) VALUES ('rebuild')",
];

/// Creates the search index when it is missing (and fills it from the existing consumers).
pub async fn prepare(pool: &AnyPool, backend: Backend) -> Result<(), sqlx::Error> {
    match backend {
        Backend::Sqlite => {
            let present: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM sqlite_master WHERE name = 'consumers_search'",
            )
            .fetch_one(pool)
            .await?;
            if present == 0 {
                let mut tx = pool.begin().await?;
                for sql in SQLITE {
                    sqlx::query(sql).execute(&mut *tx).await?;
                }
                tx.commit().await?;
            }
        }
        Backend::Postgres => {
            if let Err(e) = sqlx::query("CREATE EXTENSION IF NOT EXISTS pg_trgm")
                .execute(pool)
                .await
            {
                tracing::warn!(error = %e, "pg_trgm is not available: consumer name search is not indexed");
                return Ok(());
            }
            sqlx::query(
                "CREATE INDEX IF NOT EXISTS consumers_name_trigram ON consumers USING gin (name_key gin_trgm_ops)",
            )
            .execute(pool)
            .await?;
        }
    }
    Ok(())
}

/// The FTS5 query matching `needle` as a substring (a quoted phrase of its trigrams), or
/// `None` when it is too short for trigrams.
pub fn trigram_phrase(needle: &str) -> Option<String> {
    (needle.chars().count() >= 3).then(|| format!("\"{}\"", needle.replace('"', "\"\"")))
}

#[cfg(test)]
mod tests {
    use super::trigram_phrase;

    #[test]
    fn a_search_of_fewer_than_three_characters_has_no_trigram_query() {
        assert_eq!(trigram_phrase("ab"), None);
        assert_eq!(trigram_phrase("abc").as_deref(), Some("\"abc\""));
    }

    #[test]
    fn quotes_in_the_search_are_doubled_inside_the_phrase() {
        assert_eq!(trigram_phrase("a\"b c").as_deref(), Some("\"a\"\"b c\""));
    }
}
