//! One module per console page.

pub mod accounts;
pub mod audit;
pub mod authorization;
pub mod authorization_dialogs;
pub mod consumer_dialogs;
pub mod consumer_rules;
pub mod consumers;
pub mod environments;
pub mod group_details;
pub mod group_dialogs;
pub mod groups;
pub mod instance_dialogs;
pub mod instances;
pub mod key_dialogs;
pub mod keys;
pub mod login;
pub mod model_apis;
pub mod tokens;
