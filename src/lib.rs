//! A multi-tenant tagging service: key/value tags on the resources of other services, served over
//! gRPC, stored in SQLite or PostgreSQL.

pub mod auth;
pub mod config;
pub mod connections;
pub mod domain;
pub mod grpc;
pub mod listener;
pub mod proto;
pub mod rest;
pub mod service;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod tls;
pub mod wire;
