//! Row types both engines decode. One declaration gives a sqlx `FromRow` and a rusqlite
//! decoder, so a store read is written once whichever connection runs it (see `read`), and
//! the store hands out domain records, not rows.

use crate::domain::authorization::{ExpireMode, PrincipalType};
use crate::domain::limits::LimitPolicy;
use crate::domain::quotas::{QuotaMetric, QuotaPeriod};
use crate::domain::records::{Role, TokenScope};
use sqlx::any::AnyRow;

/// A row type both engines can produce: declare it with [`row!`].
pub trait Row: for<'r> sqlx::FromRow<'r, AnyRow> + Send + Unpin + Sized {
    /// The columns its fields are read from, in the order of the fields.
    const FIELDS: &'static [&'static str];

    /// Reads the fields from the columns at `at` (the positions of `FIELDS` in the query's
    /// columns, looked up once per query: a lookup by name per row would compare names for
    /// every field of millions of rows).
    fn from_lite_at(row: &rusqlite::Row<'_>, at: &[usize]) -> rusqlite::Result<Self>;

    /// Reads one row, looking its columns up by name.
    fn from_lite(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Self::from_lite_at(row, &positions::<Self>(row.as_ref())?)
    }
}

/// Where the query of `stmt` returns each of `T`'s fields.
pub fn positions<T: Row>(stmt: &rusqlite::Statement<'_>) -> rusqlite::Result<Vec<usize>> {
    T::FIELDS.iter().map(|f| stmt.column_index(f)).collect()
}

/// A value read from a column, by name from sqlx and by position from rusqlite.
pub trait Column: Sized {
    fn from_any(row: &AnyRow, name: &str) -> Result<Self, sqlx::Error>;
    fn from_lite(row: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Self>;
}

macro_rules! column_as_is {
    ($($ty:ty),*) => {$(
        impl Column for $ty {
            fn from_any(row: &AnyRow, name: &str) -> Result<Self, sqlx::Error> {
                sqlx::Row::try_get(row, name)
            }
            fn from_lite(row: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Self> {
                row.get(at)
            }
        }
    )*};
}
column_as_is!(String, i64, Option<String>, Option<i64>);

/// Text that repeats across the rows of a query (the API, environment and expiry mode of a
/// million rules): each distinct value is allocated once per thread and shared, instead of
/// a million copies to allocate and free.
impl Column for std::sync::Arc<str> {
    fn from_any(row: &AnyRow, name: &str) -> Result<Self, sqlx::Error> {
        String::from_any(row, name).map(Into::into)
    }

    fn from_lite(row: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Self> {
        let text = row.get_ref(at)?.as_str()?;
        Ok(RECENT.with(|recent| shared(&mut recent.borrow_mut(), text)))
    }
}

/// How many distinct values each thread keeps for sharing.
const RECENT_VALUES: usize = 16;

thread_local! {
    static RECENT: std::cell::RefCell<Vec<std::sync::Arc<str>>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// `text`, shared with an equal value read recently, or allocated and remembered in place of
/// the oldest.
fn shared(recent: &mut Vec<std::sync::Arc<str>>, text: &str) -> std::sync::Arc<str> {
    if let Some(i) = recent.iter().position(|r| &**r == text) {
        let hit = recent.remove(i);
        recent.push(hit.clone());
        return hit;
    }
    let new: std::sync::Arc<str> = text.into();
    if recent.len() == RECENT_VALUES {
        recent.remove(0);
    }
    recent.push(new.clone());
    new
}

/// Booleans are stored as integers, 0 or 1 (the one type both engines index alike); any
/// other value is a decoding error, not a guess.
impl Column for bool {
    fn from_any(row: &AnyRow, name: &str) -> Result<Self, sqlx::Error> {
        let n: i64 = sqlx::Row::try_get(row, name)?;
        flag(n).ok_or_else(|| sqlx::Error::ColumnDecode {
            index: name.to_owned(),
            source: not_a_flag(n),
        })
    }

    fn from_lite(row: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Self> {
        let n: i64 = row.get(at)?;
        flag(n).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                at,
                rusqlite::types::Type::Integer,
                not_a_flag(n),
            )
        })
    }
}

/// Enums stored by name: an unknown name is a decoding error, not a default.
macro_rules! column_by_name {
    ($($ty:ty),*) => {$(
        impl Column for $ty {
            fn from_any(row: &AnyRow, name: &str) -> Result<Self, sqlx::Error> {
                let stored = String::from_any(row, name)?;
                <$ty>::parse(&stored).ok_or_else(|| sqlx::Error::ColumnDecode {
                    index: name.to_owned(),
                    source: unknown(stringify!($ty), &stored),
                })
            }

            fn from_lite(row: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Self> {
                let stored = String::from_lite(row, at)?;
                <$ty>::parse(&stored).ok_or_else(|| {
                    rusqlite::Error::FromSqlConversionFailure(
                        at,
                        rusqlite::types::Type::Text,
                        unknown(stringify!($ty), &stored),
                    )
                })
            }
        }
    )*};
}
column_by_name!(
    Role,
    ExpireMode,
    PrincipalType,
    TokenScope,
    LimitPolicy,
    QuotaMetric,
    QuotaPeriod
);

fn unknown(kind: &str, stored: &str) -> Box<dyn std::error::Error + Send + Sync> {
    format!("{stored:?} is not a {kind}").into()
}

fn flag(n: i64) -> Option<bool> {
    match n {
        0 => Some(false),
        1 => Some(true),
        _ => None,
    }
}

fn not_a_flag(n: i64) -> Box<dyn std::error::Error + Send + Sync> {
    format!("{n} is not a stored boolean (0 or 1)").into()
}

/// Declares a row struct decodable from both a sqlx `AnyRow` and a `rusqlite::Row`, each
/// field read from the column of its name (a `bool` from an integer 0 or 1). The second form,
/// `row!(impl Record { field, … })`, makes an existing record (a domain type) a row.
macro_rules! row {
    ($(#[$m:meta])* $vis:vis struct $name:ident {
        $($(#[$fm:meta])* $fvis:vis $field:ident : $ty:ty),* $(,)?
    }) => {
        $(#[$m])*
        $vis struct $name { $($(#[$fm])* $fvis $field: $ty),* }
        $crate::store::row::row!(impl $name { $($field),* });
    };
    (impl $name:path { $($field:ident),* $(,)? }) => {
        impl<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> for $name {
            fn from_row(row: &'r sqlx::any::AnyRow) -> Result<Self, sqlx::Error> {
                Ok(Self {
                    $($field: $crate::store::row::Column::from_any(row, stringify!($field))?),*
                })
            }
        }

        impl $crate::store::row::Row for $name {
            const FIELDS: &'static [&'static str] = &[$(stringify!($field)),*];

            fn from_lite_at(row: &rusqlite::Row<'_>, at: &[usize]) -> rusqlite::Result<Self> {
                // Fields are initialised in the order written, which is the order of FIELDS.
                let mut at = at.iter().copied();
                Ok(Self {
                    $($field: $crate::store::row::Column::from_lite(
                        row,
                        at.next().unwrap_or(usize::MAX),
                    )?),*
                })
            }
        }
    };
}
pub(crate) use row;

// The references records carry, read from `id` and `name` columns.
row!(impl crate::domain::records::ConsumerRef { id, name });
row!(impl crate::domain::records::GroupRef { id, name });
row!(impl crate::domain::records::ApiRef { id, name });
row!(impl crate::domain::records::EnvironmentRef { id, name });

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::read::Read;

    row! {
        #[derive(Debug, PartialEq)]
        struct Toggle {
            name: String,
            lit: bool,
        }
    }

    async fn sqlx_read(sql: &str) -> Result<Vec<Toggle>, sqlx::Error> {
        sqlx::any::install_default_drivers();
        let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect("sqlite::memory:")
            .await
            .unwrap();
        conn.all::<Toggle>(sql, &[]).await
    }

    fn lite_read(sql: &str) -> rusqlite::Result<Vec<Toggle>> {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let mut stmt = conn.prepare(sql).unwrap();
        let mut rows = stmt.query([])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push(Toggle::from_lite(row)?);
        }
        Ok(out)
    }

    #[test]
    fn repeated_text_is_shared_and_the_remembered_values_are_bounded() {
        let mut recent = Vec::new();
        let a = shared(&mut recent, "api-1");
        let again = shared(&mut recent, "api-1");
        assert!(std::sync::Arc::ptr_eq(&a, &again));
        for i in 0..100 {
            assert_eq!(
                &*shared(&mut recent, &format!("api-{i}")),
                format!("api-{i}")
            );
        }
        assert_eq!(recent.len(), RECENT_VALUES);
        // Forgotten values are read anew, still equal.
        assert_eq!(&*shared(&mut recent, "api-1"), "api-1");
    }

    #[tokio::test]
    async fn booleans_are_read_from_zero_and_one_on_both_paths() {
        let sql = "SELECT 'a' AS name, 1 AS lit UNION ALL SELECT 'b', 0";
        let want = vec![
            Toggle {
                name: "a".into(),
                lit: true,
            },
            Toggle {
                name: "b".into(),
                lit: false,
            },
        ];
        assert_eq!(sqlx_read(sql).await.unwrap(), want);
        assert_eq!(lite_read(sql).unwrap(), want);
    }

    #[test]
    fn an_unknown_stored_name_is_an_error() {
        row! {
            #[derive(Debug)]
            struct Holder {
                role: Role,
            }
        }
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let read = |sql: &str| conn.query_row(sql, [], Holder::from_lite).map(|h| h.role);
        assert_eq!(read("SELECT 'Viewer' AS role").unwrap(), Role::Viewer);
        let err = read("SELECT 'Root' AS role").unwrap_err().to_string();
        assert!(err.contains("\"Root\" is not a Role"), "{err}");
    }

    #[tokio::test]
    async fn any_other_stored_boolean_is_an_error_on_both_paths() {
        let sql = "SELECT 'a' AS name, 2 AS lit";
        let err = sqlx_read(sql).await.unwrap_err().to_string();
        assert!(err.contains("2 is not a stored boolean"), "{err}");
        let err = lite_read(sql).unwrap_err().to_string();
        assert!(err.contains("2 is not a stored boolean"), "{err}");
    }
}
