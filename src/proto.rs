//! Code generated from `proto/` by `build.rs`.

pub mod tagging {
    pub mod v1 {
        tonic::include_proto!("tagging.v1");
    }
}

pub use tagging::v1 as pb;

/// The encoded descriptors of `proto/` and its imports, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/tagging_descriptor.bin"));
