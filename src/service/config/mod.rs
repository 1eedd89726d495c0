//! Configuration as code: a gateway's whole configuration as one YAML document (`document`),
//! exported from the store (`export`), and imported into it (`import`, planned by `plan`).

pub mod document;
mod export;
mod import;
mod plan;

pub use document::{from_yaml, json_schema, to_yaml, GatewayConfig};
pub use export::export_gateway;
pub use import::{file_too_large, import_gateway, ImportOptions};
