//! Row types both engines decode: one declaration derives sqlx's `FromRow` and a rusqlite
//! decoder, so a store read is written once whichever connection runs it.

use sqlx::any::AnyRow;

/// A row type both engines can produce: declare it with [`row!`].
pub trait Row: for<'r> sqlx::FromRow<'r, AnyRow> + Send + Unpin + Sized {
    fn from_lite(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self>;
}

/// Declares a row struct decodable from both a sqlx `AnyRow` and a `rusqlite::Row`, each
/// field read from the column of its name.
macro_rules! row {
    ($(#[$m:meta])* $vis:vis struct $name:ident {
        $($(#[$fm:meta])* $fvis:vis $field:ident : $ty:ty),* $(,)?
    }) => {
        $(#[$m])*
        #[derive(sqlx::FromRow)]
        $vis struct $name { $($(#[$fm])* $fvis $field: $ty),* }

        impl $crate::store::row::Row for $name {
            fn from_lite(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
                Ok(Self { $($field: row.get(stringify!($field))?),* })
            }
        }
    };
}
pub(crate) use row;
