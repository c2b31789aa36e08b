//! Compiles `proto/` without a system `protoc`: protox parses the files into a descriptor set, which
//! feeds both the tonic/prost code generator and server reflection.

use std::{env, fs, path::PathBuf};

use prost::Message;

const PROTO_ROOT: &str = "proto";
const PROTOS: &[&str] = &[
    "proto/tagging/v1/tagging.proto",
    // Not used by the generated code: compiled so reflection can describe our error details.
    "proto/google/rpc/error_details.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Cargo only watches files we name; a directory would miss edits inside it.
    for dir in ["proto/tagging/v1", "proto/google/api", "proto/google/rpc"] {
        for entry in fs::read_dir(dir)? {
            println!("cargo:rerun-if-changed={}", entry?.path().display());
        }
    }

    let descriptors = protox::compile(PROTOS, [PROTO_ROOT])?;
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    fs::write(
        out_dir.join("tagging_descriptor.bin"),
        descriptors.encode_to_vec(),
    )?;

    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        // Undecodable requests are INVALID_ARGUMENT, not tonic-prost's INTERNAL.
        .codec_path("crate::grpc::TaggingCodec")
        .compile_fds(descriptors)?;
    Ok(())
}
