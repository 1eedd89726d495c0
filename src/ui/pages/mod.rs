//! One module per console page; a resource whose page is more than one file is a folder
//! (its list, its details panel, its dialogs).

pub mod access;
pub mod accounts;
pub mod audit;
pub mod consumers;
pub mod environments;
pub mod groups;
pub mod import;
pub mod instances;
pub mod keys;
pub mod limits;
pub mod login;
pub mod model_apis;
pub mod quotas;
pub mod rules;
pub mod tokens;
pub mod usage;
