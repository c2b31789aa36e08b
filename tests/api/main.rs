//! The conformance suite: every test runs against a real server on a random port, once over SQLite
//! and once over PostgreSQL (`TEST_DATABASE_URL`, default the local server; unreachable = failure).

#[macro_use]
mod helpers;

mod abandoned_work;
mod auth;
mod backup;
mod binary;
mod changes;
mod cli;
mod clients;
mod configuration_docs;
mod deadlines;
mod faults;
mod filter_drivers;
mod grpc_web_and_cors;
mod hardening;
mod health;
mod hostile_messages;
mod injection;
mod isolation;
mod lifecycle;
mod limits;
mod master_key_rotation;
mod message_limits;
mod metrics;
mod monitoring;
mod openapi;
mod pagination;
mod pg_cluster;
mod queries;
mod query_plans;
mod raw_http;
mod replicas;
mod request_ids;
mod rest_ack;
mod rest_smn;
mod revisions;
mod routes;
mod schema_versions;
mod schemathesis;
mod sdks;
mod shedding_and_shutdown;
mod signatures;
mod signed_writes;
mod slow_clients;
mod smn_resources;
mod store_statements;
mod system_tags;
mod tag_counts;
mod tags;
mod tls;
mod traces;
mod two_processes;
mod upgrade;
mod validation;
