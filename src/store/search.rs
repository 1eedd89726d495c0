//! Indexed substring search over consumer names, so `nameLike` stays fast at a million
//! consumers. The two engines do it differently, each in its own migration
//! (`migrations/{sqlite,postgres}/0001_consumer_search.sql`):
//! - SQLite: an FTS5 table with the trigram tokenizer over `consumers.name_key`, kept in step
//!   by triggers; a search of three or more characters is driven by the rows holding all its
//!   trigrams.
//! - PostgreSQL: a `pg_trgm` GIN index, which `LIKE '%…%'` uses as it is. Creating the
//!   extension needs the right to; without it the search still works, unindexed, and
//!   `check_index` says so at every start.

use super::{like_pattern, Arg, Backend};
use sqlx::AnyPool;

/// Narrows `conditions`, a WHERE clause over `consumers` that begins `instance_id = $1`, to
/// names containing `needle` (already trimmed and lowercased), each engine by its own index:
/// SQLite by the FTS5 trigram table first, PostgreSQL by the trigram index the LIKE uses.
pub fn narrow_to_name(
    backend: Backend,
    needle: &str,
    conditions: &mut String,
    args: &mut Vec<Arg>,
) {
    args.push(Arg::Text(like_pattern(needle)));
    conditions.push_str(&format!(" AND name_key LIKE ${} ESCAPE '\\'", args.len()));
    if backend != Backend::Sqlite {
        return;
    }
    if let Some(query) = narrowing_query(needle) {
        // Drive the query from the index's matches: the unary `+` keeps SQLite from walking
        // the instance's whole (instance, created) index instead.
        conditions.replace_range(.."instance_id".len(), "+instance_id");
        args.push(Arg::Text(query));
        conditions.push_str(&format!(
            " AND rowid IN (SELECT rowid FROM consumers_search WHERE consumers_search MATCH ${})",
            args.len()
        ));
    }
}

/// Warns, with the statements that fix it, when PostgreSQL's name search is not indexed
/// (the migration could not create `pg_trgm`). SQLite's index is always there.
pub async fn check_index(pool: &AnyPool, backend: Backend) -> Result<(), sqlx::Error> {
    if backend == Backend::Postgres {
        let indexed: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_indexes WHERE indexname = 'consumers_name_trigram'",
        )
        .fetch_one(pool)
        .await?;
        if indexed == 0 {
            tracing::warn!(
                "consumer name search is not indexed (pg_trgm could not be created); as a superuser run: \
                 CREATE EXTENSION pg_trgm; CREATE INDEX consumers_name_trigram ON consumers USING gin (name_key gin_trgm_ops);"
            );
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
    use super::*;

    #[test]
    fn only_sqlite_narrows_by_its_trigram_table() {
        let narrowed = |backend| {
            let (mut conditions, mut args) = ("instance_id = $1".to_owned(), vec![Arg::from("gw")]);
            narrow_to_name(backend, "team", &mut conditions, &mut args);
            (conditions, args.len())
        };
        let (sql, n) = narrowed(Backend::Sqlite);
        assert!(
            sql.starts_with("+instance_id = $1 AND name_key LIKE $2"),
            "{sql}"
        );
        assert!(sql.contains("MATCH $3") && n == 3, "{sql}");
        let (sql, n) = narrowed(Backend::Postgres);
        assert_eq!(sql, "instance_id = $1 AND name_key LIKE $2 ESCAPE '\\'");
        assert_eq!(n, 2);
    }

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
