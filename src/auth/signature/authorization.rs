//! The `Authorization` header of a signed request, read strictly: a loosely read header could
//! let two different texts name the same key and signed headers.

use super::{Scheme, incomplete};
use crate::domain::Error;

/// The fields of a signature's `Authorization` header.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Authorization {
    pub(super) access_key_id: String,
    pub(super) signed_headers: Vec<String>,
    pub(super) signature: String,
}

impl Authorization {
    /// `ACS3-HMAC-SHA256 Credential=AK,SignedHeaders=a;b,Signature=hex`, or the Huawei form with
    /// `Access=AK` and `, ` between fields.
    pub(super) fn parse(scheme: Scheme, value: &str) -> Result<Self, Error> {
        let shape = || {
            incomplete(format!(
                "the Authorization header must read `{} {}=<access key id>, SignedHeaders=<names>, Signature=<hex>`",
                scheme.name(),
                scheme.key_field()
            ))
        };
        let fields = value[scheme.name().len()..].trim();
        let (mut key, mut headers, mut signature) = (None, None, None);
        for field in fields.split(',') {
            let (name, v) = field.trim().split_once('=').ok_or_else(shape)?;
            let slot = match name {
                n if n == scheme.key_field() => &mut key,
                "SignedHeaders" => &mut headers,
                "Signature" => &mut signature,
                _ => return Err(shape()),
            };
            if slot.replace(v.trim()).is_some() {
                return Err(shape());
            }
        }
        let (Some(key), Some(headers), Some(signature)) = (key, headers, signature) else {
            return Err(shape());
        };
        let signed_headers: Vec<String> = headers.split(';').map(str::to_ascii_lowercase).collect();
        let hex_signature =
            signature.len() == 64 && signature.bytes().all(|b| b.is_ascii_hexdigit());
        if key.is_empty() || signed_headers.iter().any(String::is_empty) || !hex_signature {
            return Err(shape());
        }
        Ok(Self {
            access_key_id: key.to_owned(),
            signed_headers,
            signature: signature.to_ascii_lowercase(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{auth::signature::scheme_of, domain::SignatureFault};

    #[test]
    fn authorization_fields_are_read_strictly() {
        let sig = "a".repeat(64);
        let acs3 = format!(
            "ACS3-HMAC-SHA256 Credential=AK1,SignedHeaders=host;x-acs-date,Signature={sig}"
        );
        assert_eq!(
            Authorization::parse(Scheme::Acs3, &acs3).unwrap(),
            Authorization {
                access_key_id: "AK1".into(),
                signed_headers: vec!["host".into(), "x-acs-date".into()],
                signature: sig.clone(),
            }
        );
        let huawei =
            format!("SDK-HMAC-SHA256 Access=AK2, SignedHeaders=host;x-sdk-date, Signature={sig}");
        assert_eq!(
            Authorization::parse(Scheme::SdkHmac, &huawei)
                .unwrap()
                .access_key_id,
            "AK2"
        );
        for bad in [
            "ACS3-HMAC-SHA256 Credential=AK1,SignedHeaders=host".to_owned(),
            format!(
                "ACS3-HMAC-SHA256 Credential=AK1,Credential=AK2,SignedHeaders=host,Signature={sig}"
            ),
            format!("ACS3-HMAC-SHA256 Access=AK1,SignedHeaders=host,Signature={sig}"),
            "ACS3-HMAC-SHA256 Credential=AK1,SignedHeaders=host,Signature=zz".to_owned(),
            format!("ACS3-HMAC-SHA256 Credential=,SignedHeaders=host,Signature={sig}"),
            format!("ACS3-HMAC-SHA256 Credential=AK1,SignedHeaders=host;;a,Signature={sig}"),
        ] {
            let err = Authorization::parse(Scheme::Acs3, &bad).unwrap_err();
            assert!(
                matches!(err, Error::BadSignature(SignatureFault::Incomplete, _)),
                "{bad}: {err:?}"
            );
        }
        assert_eq!(scheme_of("Bearer x"), None);
        assert_eq!(scheme_of("SDK-HMAC-SHA256x"), None);
        assert_eq!(scheme_of(&huawei), Some(Scheme::SdkHmac));
    }
}
