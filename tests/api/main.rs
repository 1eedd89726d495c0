//! The integration tests, one binary (the application is linked once): each module drives the
//! real server, on a random port, against a fresh database: a temporary SQLite file, or a new
//! PostgreSQL database when `TEST_DATABASE_URL` is set.

mod common;

mod access;
mod accounts;
mod assets;
mod audit;
mod config;
mod console;
mod contention;
mod credentials;
mod durability;
mod enforcement;
mod gateways;
mod import;
mod jwt;
mod limits;
mod metrics;
mod outage;
mod quotas;
mod replicas;
mod rest;
mod rest_status;
mod routes;
mod search;
mod security;
mod usage;
mod usage_page;
mod writer;
