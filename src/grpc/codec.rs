//! The Protobuf codec of the generated service and client: tonic-prost's, except that a message
//! that cannot be decoded (a string that is not UTF-8, a truncated field) is the caller's
//! INVALID_ARGUMENT naming the field. tonic-prost answers INTERNAL, which would blame the service
//! for its caller's bytes. (A client of ours reading an undecodable answer gets the same code.)

use prost::Message;
use tonic::{
    Status,
    codec::{BufferSettings, Codec, DecodeBuf, Decoder},
};
use tonic_prost::{ProstCodec, ProstDecoder, ProstEncoder};

use crate::domain::Error;

pub struct TaggingCodec<T, U>(ProstCodec<T, U>);

impl<T, U> Default for TaggingCodec<T, U> {
    fn default() -> Self {
        Self(ProstCodec::default())
    }
}

impl<T, U> Codec for TaggingCodec<T, U>
where
    T: Message + Send + 'static,
    U: Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = ProstEncoder<T>;
    type Decoder = TaggingDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        self.0.encoder()
    }

    fn decoder(&mut self) -> Self::Decoder {
        TaggingDecoder(self.0.decoder())
    }
}

pub struct TaggingDecoder<U>(ProstDecoder<U>);

impl<U: Message + Default> Decoder for TaggingDecoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        self.0.decode(buf).map_err(|s| undecodable(s.message()))
    }

    fn buffer_settings(&self) -> BufferSettings {
        self.0.buffer_settings()
    }
}

/// Reads prost's `failed to decode Protobuf message: Tag.key: TagResourcesRequest.tags: <why>`,
/// which names the innermost field first, into the field path `tags.key`.
fn undecodable(message: &str) -> Status {
    let mut rest = message
        .strip_prefix("failed to decode Protobuf message: ")
        .unwrap_or(message);
    let mut path = Vec::new();
    while let Some((head, tail)) = rest.split_once(": ") {
        match head.split_once('.') {
            Some((_, field)) if !head.contains(' ') => {
                path.push(field);
                rest = tail;
            }
            _ => break,
        }
    }
    path.reverse();
    let field = if path.is_empty() {
        "request".to_owned()
    } else {
        path.join(".")
    };
    Error::invalid(field, format!("cannot be decoded: {rest}")).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic::Code;

    #[test]
    fn the_field_path_is_read_outermost_first() {
        let status = undecodable(
            "failed to decode Protobuf message: Tag.key: TagResourcesRequest.tags: invalid string value: data is not UTF-8 encoded",
        );
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(
            status.message(),
            "tags.key: cannot be decoded: invalid string value: data is not UTF-8 encoded"
        );
        let status = undecodable("failed to decode Protobuf message: buffer underflow");
        assert_eq!(
            status.message(),
            "request: cannot be decoded: buffer underflow"
        );
    }
}
