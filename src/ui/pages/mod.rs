//! One module per console page.

pub mod consumer_dialogs;
pub mod consumers;
pub mod groups;
pub mod instances;
pub mod keys;
pub mod login;
