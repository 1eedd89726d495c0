//! Building blocks shared by the pages.

pub mod console;
pub mod delete_dialog;
pub mod dependency_check;
pub mod dialog;
pub mod field;
pub mod form_dialog;
pub mod list_page;
pub mod list_query;
pub mod notice;
pub mod pager;
pub mod reveal;
pub mod search_select;
pub mod time;

pub use console::Console;
pub use delete_dialog::{DeleteDialog, TypedConfirmation};
pub use dependency_check::{is_clean, DependencyCheck};
pub use dialog::{save, send, Dialog};
pub use field::{description_error, typed_name_error, SelectMany, SelectOne, TextField};
pub use form_dialog::{Form, FormDialog};
pub use list_page::{columns, ListTable, Toolbar};
pub use list_query::ListQuery;
pub use notice::{notify, Notice, Notices};
pub use pager::Pager;
pub use reveal::{RotateDialog, Rotation, SecretReveal, GRACE_PERIODS};
pub use search_select::{Matches, SearchSelect};
pub use time::LocalTime;

use crate::domain::records::CurrentUser;
use leptos::prelude::*;

/// True when the signed-in account may change things (the server enforces it regardless).
pub fn can_write() -> bool {
    use_context::<CurrentUser>().is_some_and(|u| u.can_write())
}
