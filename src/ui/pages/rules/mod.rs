//! The Authorization page of an instance (its rules) and the dialogs.

mod dialogs;
mod list;

pub use list::{expiry_text, AuthorizationPage};
