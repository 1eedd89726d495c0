//! The consumer groups of an instance: the list, the details panel, and the dialogs.

mod details;
mod dialogs;
mod list;

pub use list::GroupsPage;
