//! Indexed substring search over consumer names, so `nameLike` stays fast at a million
//! consumers. The two engines do it differently, so this is set up in code at start-up
//! rather than in the shared migrations, idempotently:
//! - SQLite: an FTS5 table with the trigram tokenizer over `consumers.name_key`, kept in step
//!   by triggers; a search of three or more characters is driven by the rows holding all its
//!   trigrams.
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
                    sqlx::query(*sql).execute(&mut *tx).await?;
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
            // Another replica starting at the same moment may win the race: not fatal.
            if let Err(e) = sqlx::query(
                "CREATE INDEX IF NOT EXISTS consumers_name_trigram ON consumers USING gin (name_key gin_trgm_ops)",
            )
            .execute(pool)
            .await
            {
                tracing::warn!(error = %e, "could not create the consumer name search index");
            }
        }
    }
    Ok(())
}

/// The distinct trigrams of `needle` (none when it is shorter than three characters).
pub fn trigrams(needle: &str) -> Vec<String> {
    let chars: Vec<char> = needle.chars().collect();
    let mut out: Vec<String> = chars.windows(3).map(|w| w.iter().collect()).collect();
    out.sort();
    out.dedup();
    out
}

/// The FTS5 query for rows holding every trigram of `needle` (a superset of those containing
/// it; the LIKE beside it checks the order), or `None` when the needle is too short for
/// trigrams. Separate terms rather than one phrase: FTS5 intersects their lists by seeking,
/// without reading positions.
pub fn narrowing_query(needle: &str) -> Option<String> {
    let terms = trigrams(needle);
    (!terms.is_empty()).then(|| {
        terms
            .iter()
            .map(|t| format!("\"{}\"", t.replace('"', "\"\"")))
            .collect::<Vec<_>>()
            .join(" AND ")
    })
}

#[cfg(test)]
mod tests {
    use super::trigrams;

    #[test]
    fn a_search_of_fewer_than_three_characters_has_no_trigrams() {
        assert!(trigrams("ab").is_empty());
        assert_eq!(trigrams("abc"), ["abc"]);
    }

    #[test]
    fn trigrams_are_distinct_and_overlapping() {
        assert_eq!(trigrams("aaaa"), ["aaa"]);
        assert_eq!(trigrams("abcd"), ["abc", "bcd"]);
    }
}
