//! Configuration as code: a gateway's whole configuration as one YAML document (`document`),
//! exported from the store (`export`).

pub mod document;
mod export;

pub use document::{from_yaml, json_schema, to_yaml, GatewayConfig};
pub use export::export_gateway;
