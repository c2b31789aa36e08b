//! The change log (issue 14): its history, compaction, and watching it over gRPC and as
//! Server-Sent Events.

mod compaction;
mod history;
mod sse;
mod watch;
