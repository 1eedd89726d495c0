//! The API keys of an instance: the list and the dialogs.

mod dialogs;
mod list;

pub use list::KeysPage;
