//! The consumers of an instance: the list, the details panel with the consumer's rules, and
//! the dialogs.

mod credentials;
mod dialogs;
mod list;
mod rules;

pub use list::ConsumersPage;
