//! The gRPC face: the tagging service, server reflection and health, over the shared core.

mod api;
mod authenticate_first;
mod codec;
mod status;
mod trailers;

pub use api::TaggingApi;
pub use authenticate_first::AuthenticateFirstLayer;
pub use codec::TaggingCodec;
use status::code_of;
