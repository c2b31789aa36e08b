//! Compiles `proto/` without a system `protoc`: protox parses the files into a descriptor set, which
//! feeds both the tonic/prost code generator and server reflection.

use std::{env, fs, path::PathBuf};

const PROTO_ROOT: &str = "proto";
const PROTOS: &[&str] = &[
    "proto/tagging/v1/tagging.proto",
    // Not used by the generated code: compiled so reflection can describe our error details.
    "proto/google/rpc/error_details.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Cargo only watches files we name; a directory would miss edits inside it. The migrations
    // are embedded by `sqlx::migrate!`, which a new file would not otherwise rebuild; the
    // directories themselves are named so that adding a file is a change.
    let dirs = ["proto/tagging/v1", "proto/google/api", "proto/google/rpc"];
    for dir in dirs
        .into_iter()
        .chain(["migrations/postgres", "migrations/sqlite"])
    {
        println!("cargo:rerun-if-changed={dir}");
        for entry in fs::read_dir(dir)? {
            println!("cargo:rerun-if-changed={}", entry?.path().display());
        }
    }

    let mut compiler = protox::Compiler::new([PROTO_ROOT])?;
    compiler
        .include_source_info(true)
        .include_imports(true)
        .open_files(PROTOS)?;
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    // Encoded by protox itself, which keeps the `google.api.http` options: the REST routes are read
    // back from them. prost's own types would drop every extension option.
    fs::write(
        out_dir.join("tagging_descriptor.bin"),
        compiler.encode_file_descriptor_set(),
    )?;
    let descriptors = compiler.file_descriptor_set();

    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        // Undecodable requests are INVALID_ARGUMENT, not tonic-prost's INTERNAL.
        .codec_path("crate::grpc::TaggingCodec")
        .compile_fds(descriptors)?;
    Ok(())
}
