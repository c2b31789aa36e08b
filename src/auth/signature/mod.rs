//! AK/SK request signatures as the two clouds' official SDKs send them: Alibaba Cloud's V3
//! (`ACS3-HMAC-SHA256`) and Huawei Cloud API Gateway's (`SDK-HMAC-SHA256`). Both sign an HMAC-SHA256
//! of a canonical request: method, path, sorted query, the signed headers, and the body's SHA-256.
//!
//! This part is pure: it rebuilds the canonical request from the request as received and checks
//! what needs no key (shape, signed headers, body hash, date). Looking up the key, comparing the
//! signature and spending the nonce happen in [`super::Authenticator`].

mod authorization;
mod canonical;
mod date;

use axum::http::HeaderMap;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

pub use date::format_date;

use crate::domain::{Error, SignatureFault};
use authorization::Authorization;
use canonical::canonical_request;
use date::parse_date;

/// How far a request's date may be from the server's clock, either way.
pub const MAX_SKEW_SECS: i64 = 15 * 60;
const MAX_NONCE_CHARS: usize = 128;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Alibaba Cloud V3.
    Acs3,
    /// Huawei Cloud API Gateway.
    SdkHmac,
}

impl Scheme {
    fn name(self) -> &'static str {
        match self {
            Self::Acs3 => "ACS3-HMAC-SHA256",
            Self::SdkHmac => "SDK-HMAC-SHA256",
        }
    }

    fn date_header(self) -> &'static str {
        match self {
            Self::Acs3 => "x-acs-date",
            Self::SdkHmac => "x-sdk-date",
        }
    }

    fn key_field(self) -> &'static str {
        match self {
            Self::Acs3 => "Credential",
            Self::SdkHmac => "Access",
        }
    }
}

/// A signed request, checked as far as it can be without the key.
#[derive(Debug, Clone)]
pub struct SignedRequest {
    pub access_key_id: String,
    /// Lower-case hex, as sent.
    pub signature: String,
    pub string_to_sign: String,
    /// Unix seconds.
    pub date: i64,
    /// ACS3's `x-acs-signature-nonce`: each is accepted once.
    pub nonce: Option<String>,
}

/// The request parts a signature covers, as received.
pub struct Received<'a> {
    pub method: &'a str,
    /// The path as sent, percent-encoding included.
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// The scheme of an `Authorization` value, when it is a signature rather than a token.
pub fn scheme_of(authorization: &str) -> Option<Scheme> {
    [Scheme::Acs3, Scheme::SdkHmac].into_iter().find(|s| {
        authorization
            .strip_prefix(s.name())
            .is_some_and(|rest| rest.starts_with(' '))
    })
}

/// Checks a signed request's shape, signed headers, body hash and date (against `now`), and
/// rebuilds what it signed. `None` when the request carries no signature.
pub fn inspect(request: &Received<'_>, now: i64) -> Option<Result<SignedRequest, Error>> {
    let authorization = request.headers.get("authorization")?.to_str().ok()?;
    let scheme = scheme_of(authorization)?;
    Some(inspect_signed(scheme, authorization, request, now))
}

/// Headers, beside the path, query and body, that change what a request does: left unsigned, a
/// captured request could be sent again with one added to act on something else.
const CHANGES_THE_REQUEST: [&str; 2] = ["x-smn-resourceid-type", "x-project-id"];

fn inspect_signed(
    scheme: Scheme,
    authorization: &str,
    request: &Received<'_>,
    now: i64,
) -> Result<SignedRequest, Error> {
    let parts = Authorization::parse(scheme, authorization)?;
    if scheme == Scheme::SdkHmac && has_encoded_slash(request.path) {
        // Huawei's signer decodes the whole path before splitting it, so `a%2Fb` and `a/b` sign
        // the same: the signature cannot say which segments were meant, and the router would
        // take them one way or the other.
        return Err(incomplete(
            "an SDK-HMAC-SHA256 signature cannot tell an encoded `/` (%2F) in a path segment from a separator: address such an id or key with a token, or in a request body (`tags/action`)".into(),
        ));
    }
    let date_header = scheme.date_header();
    for required in ["host", date_header] {
        if !parts.signed_headers.iter().any(|h| h == required) {
            return Err(incomplete(format!(
                "`{required}` must be among the signed headers"
            )));
        }
    }
    for name in CHANGES_THE_REQUEST {
        if request.headers.contains_key(name) && !parts.signed_headers.iter().any(|h| h == name) {
            return Err(incomplete(format!(
                "`{name}` changes what the request does and must be among the signed headers"
            )));
        }
    }
    let body_sha256 = hex(&Sha256::digest(request.body));
    let nonce = match scheme {
        Scheme::Acs3 => Some(acs3_checks(&parts, request.headers, &body_sha256)?),
        Scheme::SdkHmac => None,
    };
    let date_text = header_text(request.headers, date_header)
        .ok_or_else(|| incomplete(format!("the `{date_header}` header is missing")))?;
    let date = parse_date(scheme, date_text).ok_or_else(|| {
        incomplete(format!(
            "`{date_header}` must be a UTC time like {}",
            match scheme {
                Scheme::Acs3 => "2026-11-23T20:43:50Z",
                Scheme::SdkHmac => "20261123T204350Z",
            }
        ))
    })?;
    if (now - date).abs() > MAX_SKEW_SECS {
        return Err(Error::BadSignature(
            SignatureFault::TimeSkewed,
            format!(
                "`{date_header}` is more than {} minutes from the server's clock",
                MAX_SKEW_SECS / 60
            ),
        ));
    }
    let canonical = canonical_request(scheme, request, &parts.signed_headers, &body_sha256)?;
    let hashed = hex(&Sha256::digest(canonical.as_bytes()));
    let string_to_sign = match scheme {
        Scheme::Acs3 => format!("{}\n{hashed}", scheme.name()),
        Scheme::SdkHmac => format!("{}\n{date_text}\n{hashed}", scheme.name()),
    };
    Ok(SignedRequest {
        access_key_id: parts.access_key_id,
        signature: parts.signature,
        string_to_sign,
        date,
        nonce,
    })
}

fn has_encoded_slash(path: &str) -> bool {
    path.as_bytes()
        .windows(3)
        .any(|w| w[0] == b'%' && w[1] == b'2' && w[2].eq_ignore_ascii_case(&b'f'))
}

/// ACS3 also binds the body through `x-acs-content-sha256` and needs a signed nonce, else a
/// replay could simply change it.
fn acs3_checks(
    parts: &Authorization,
    headers: &HeaderMap,
    body_sha256: &str,
) -> Result<String, Error> {
    let sent = header_text(headers, "x-acs-content-sha256")
        .ok_or_else(|| incomplete("the `x-acs-content-sha256` header is missing".into()))?;
    if !sent.eq_ignore_ascii_case(body_sha256) {
        return Err(Error::BadSignature(
            SignatureFault::Mismatch,
            "`x-acs-content-sha256` is not the SHA-256 of the body".into(),
        ));
    }
    if !parts
        .signed_headers
        .iter()
        .any(|h| h == "x-acs-signature-nonce")
    {
        return Err(incomplete(
            "`x-acs-signature-nonce` must be among the signed headers".into(),
        ));
    }
    let nonce = header_text(headers, "x-acs-signature-nonce").unwrap_or_default();
    if nonce.is_empty() || nonce.chars().count() > MAX_NONCE_CHARS {
        return Err(incomplete(format!(
            "`x-acs-signature-nonce` must have 1 to {MAX_NONCE_CHARS} characters"
        )));
    }
    Ok(nonce.to_owned())
}

/// The signature of `string_to_sign` under `secret`, in lower-case hex.
pub fn sign(secret: &[u8], string_to_sign: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(string_to_sign.as_bytes());
    hex(&mac.finalize().into_bytes())
}

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name)?.to_str().ok().map(str::trim)
}

fn incomplete(message: String) -> Error {
    Error::BadSignature(SignatureFault::Incomplete, message)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Requests signed by the official SDKs' own code (and, for what no SDK sends, by the documented
    /// algorithm), from `tests/clients/make_signature_vectors.py`.
    #[test]
    fn the_sdks_signatures_are_rebuilt_exactly() {
        let file: serde_json::Value = serde_json::from_str(include_str!(
            "../../../tests/fixtures/signature_vectors.json"
        ))
        .expect("the vectors are JSON");
        let vectors = file["vectors"].as_array().expect("vectors");
        assert!(vectors.len() >= 16, "{}", vectors.len());
        for v in vectors {
            let text = |k: &str| v[k].as_str().unwrap_or_else(|| panic!("{k}"));
            let name = text("name");
            let headers = headers_of(v);
            let scheme = scheme_of(text("authorization")).expect("a signature scheme");
            let date_text = headers[scheme.date_header()].to_str().unwrap().to_owned();
            let query = text("query");
            let received = Received {
                method: text("method"),
                path: text("path"),
                query: (!query.is_empty()).then_some(query),
                headers: &headers,
                body: text("body").as_bytes(),
            };
            let now = parse_date(scheme, &date_text).expect("the vector's date");
            let parts = Authorization::parse(scheme, text("authorization")).unwrap();
            let body_sha256 = hex(&Sha256::digest(received.body));
            let canonical =
                canonical_request(scheme, &received, &parts.signed_headers, &body_sha256).unwrap();
            assert_eq!(canonical, text("canonical_request"), "{name}");
            if scheme == Scheme::SdkHmac && has_encoded_slash(received.path) {
                // What the SDK signs here is also what `/` in place of `%2F` would sign.
                assert_fault(
                    inspect(&received, now).unwrap(),
                    SignatureFault::Incomplete,
                    "%2F",
                );
                continue;
            }
            let signed = inspect(&received, now)
                .expect("a signed request")
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(signed.string_to_sign, text("string_to_sign"), "{name}");
            let secret = text("access_key_secret").as_bytes();
            assert_eq!(
                sign(secret, &signed.string_to_sign),
                text("signature"),
                "{name}"
            );
            assert_eq!(signed.signature, text("signature"), "{name}");
            assert_eq!(signed.access_key_id, text("access_key_id"), "{name}");
        }
    }

    /// A vector's headers, as its SDK sent them.
    fn headers_of(v: &serde_json::Value) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (k, value) in v["headers"].as_object().expect("headers") {
            let name = axum::http::HeaderName::from_bytes(k.as_bytes()).expect("header name");
            headers.append(name, value.as_str().expect("text").parse().expect("value"));
        }
        headers
    }

    fn vector(name: &str) -> serde_json::Value {
        let file: serde_json::Value = serde_json::from_str(include_str!(
            "../../../tests/fixtures/signature_vectors.json"
        ))
        .expect("the vectors are JSON");
        file["vectors"]
            .as_array()
            .expect("vectors")
            .iter()
            .find(|v| v["name"] == name)
            .unwrap_or_else(|| panic!("no vector {name}"))
            .clone()
    }

    /// A vector's request with its `Authorization` naming `signed` as the signed headers, inspected
    /// `late` seconds after its date.
    fn inspect_altered(
        v: &serde_json::Value,
        signed: &str,
        body: &str,
        late: i64,
    ) -> Result<SignedRequest, Error> {
        let mut headers = headers_of(v);
        let scheme = scheme_of(v["authorization"].as_str().unwrap()).unwrap();
        let (field, gap) = match scheme {
            Scheme::Acs3 => ("Credential", ","),
            Scheme::SdkHmac => ("Access", ", "),
        };
        let authorization = format!(
            "{} {field}=AK{gap}SignedHeaders={signed}{gap}Signature={}",
            scheme.name(),
            "0".repeat(64)
        );
        headers.insert("authorization", authorization.parse().unwrap());
        let date = parse_date(scheme, headers[scheme.date_header()].to_str().unwrap()).unwrap();
        let query = v["query"].as_str().unwrap();
        let received = Received {
            method: v["method"].as_str().unwrap(),
            path: v["path"].as_str().unwrap(),
            query: (!query.is_empty()).then_some(query),
            headers: &headers,
            body: body.as_bytes(),
        };
        inspect(&received, date + late).expect("a signed request")
    }

    #[track_caller]
    fn assert_fault(result: Result<SignedRequest, Error>, fault: SignatureFault, says: &str) {
        match result {
            Err(Error::BadSignature(f, message)) => {
                assert_eq!(f, fault, "{message}");
                assert!(message.contains(says), "`{says}` in {message}");
            }
            other => panic!("expected {fault:?}, got {other:?}"),
        }
    }

    /// What is checked before any key: the headers that must be signed, the body hash, the clock.
    #[test]
    fn unsigned_required_headers_an_altered_body_and_a_skewed_date_are_refused() {
        let ack = vector("ack_tag_resources_json_body");
        let body = ack["body"].as_str().unwrap();
        let all = "host;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce";
        assert!(inspect_altered(&ack, all, body, 0).is_ok());
        assert!(inspect_altered(&ack, all, body, MAX_SKEW_SECS).is_ok());
        assert!(inspect_altered(&ack, all, body, -MAX_SKEW_SECS).is_ok());
        for (signed, missing) in [
            (
                "x-acs-content-sha256;x-acs-date;x-acs-signature-nonce",
                "host",
            ),
            (
                "host;x-acs-content-sha256;x-acs-signature-nonce",
                "x-acs-date",
            ),
            (
                "host;x-acs-content-sha256;x-acs-date",
                "x-acs-signature-nonce",
            ),
        ] {
            let refused = inspect_altered(&ack, signed, body, 0);
            assert_fault(refused, SignatureFault::Incomplete, missing);
        }
        let altered = inspect_altered(&ack, all, &body.replace("dev", "prod"), 0);
        assert_fault(altered, SignatureFault::Mismatch, "x-acs-content-sha256");
        for late in [MAX_SKEW_SECS + 1, -MAX_SKEW_SECS - 1] {
            let skewed = inspect_altered(&ack, all, body, late);
            assert_fault(skewed, SignatureFault::TimeSkewed, "x-acs-date");
        }

        let smn = vector("smn_list_resource_tags");
        let body = smn["body"].as_str().unwrap();
        let signed = "host;x-project-id;x-sdk-date";
        assert!(inspect_altered(&smn, signed, body, 0).is_ok());
        let refused = inspect_altered(&smn, "host;x-project-id", body, 0);
        assert_fault(refused, SignatureFault::Incomplete, "x-sdk-date");
        // The SDK sends X-Project-Id and signs it; sent but unsigned, it could be changed.
        let refused = inspect_altered(&smn, "host;x-sdk-date", body, 0);
        assert_fault(refused, SignatureFault::Incomplete, "x-project-id");
        let skewed = inspect_altered(&smn, signed, body, MAX_SKEW_SECS + 1);
        assert_fault(skewed, SignatureFault::TimeSkewed, "x-sdk-date");
    }
}
