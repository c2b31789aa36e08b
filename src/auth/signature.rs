//! AK/SK request signatures as the two clouds' official SDKs send them: Alibaba Cloud's V3
//! (`ACS3-HMAC-SHA256`) and Huawei Cloud API Gateway's (`SDK-HMAC-SHA256`). Both sign an HMAC-SHA256
//! of a canonical request: method, path, sorted query, the signed headers, and the body's SHA-256.
//!
//! This part is pure: it rebuilds the canonical request from the request as received and checks
//! what needs no key (shape, signed headers, body hash, date). Looking up the key, comparing the
//! signature and spending the nonce happen in [`super::Authenticator`].

use axum::http::HeaderMap;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::domain::{Error, SignatureFault};

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

fn inspect_signed(
    scheme: Scheme,
    authorization: &str,
    request: &Received<'_>,
    now: i64,
) -> Result<SignedRequest, Error> {
    let parts = Authorization::parse(scheme, authorization)?;
    let date_header = scheme.date_header();
    for required in ["host", date_header] {
        if !parts.signed_headers.iter().any(|h| h == required) {
            return Err(incomplete(format!(
                "`{required}` must be among the signed headers"
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

/// The fields of a signature's `Authorization` header.
#[derive(Debug, PartialEq, Eq)]
struct Authorization {
    access_key_id: String,
    signed_headers: Vec<String>,
    signature: String,
}

impl Authorization {
    /// `ACS3-HMAC-SHA256 Credential=AK,SignedHeaders=a;b,Signature=hex`, or the Huawei form with
    /// `Access=AK` and `, ` between fields.
    fn parse(scheme: Scheme, value: &str) -> Result<Self, Error> {
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

fn canonical_request(
    scheme: Scheme,
    request: &Received<'_>,
    signed_headers: &[String],
    body_sha256: &str,
) -> Result<String, Error> {
    let mut headers = String::new();
    for name in signed_headers {
        let values: Vec<&str> = request
            .headers
            .get_all(name.as_str())
            .iter()
            .map(|v| v.to_str().map(str::trim))
            .collect::<Result<_, _>>()
            .map_err(|_| incomplete(format!("signed header `{name}` is not visible ASCII")))?;
        if values.is_empty() {
            return Err(incomplete(format!(
                "signed header `{name}` is missing from the request"
            )));
        }
        headers.push_str(&format!("{name}:{}\n", values.join(",")));
    }
    Ok(format!(
        "{}\n{}\n{}\n{headers}\n{}\n{body_sha256}",
        request.method.to_ascii_uppercase(),
        canonical_uri(scheme, request.path),
        canonical_query(request.query.unwrap_or_default()),
        signed_headers.join(";"),
    ))
}

/// Each path segment decoded and encoded again, so any encoding a client chose gives the same
/// text. ACS3 keeps an encoded `/` inside its segment; Huawei's signer decodes the whole path before
/// splitting it, so there `%2F` separates segments, and the path ends with `/`.
fn canonical_uri(scheme: Scheme, path: &str) -> String {
    let segments: Vec<Vec<u8>> = match scheme {
        Scheme::Acs3 => path.split('/').map(|s| percent_decode(s, false)).collect(),
        Scheme::SdkHmac => percent_decode(path, false)
            .split(|b| *b == b'/')
            .map(<[u8]>::to_vec)
            .collect(),
    };
    let mut uri = segments
        .iter()
        .map(|s| percent_encode(s))
        .collect::<Vec<_>>()
        .join("/");
    if uri.is_empty() {
        uri.push('/');
    }
    if scheme == Scheme::SdkHmac && !uri.ends_with('/') {
        uri.push('/');
    }
    uri
}

/// Every parameter decoded, sorted by name then value, and encoded again; a bare `name` counts
/// as `name=`, and `+` is a space, as the handlers read it, so what is signed is what is acted on.
fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(Vec<u8>, Vec<u8>)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (name, value) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(name, true), percent_decode(value, true))
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(n, v)| format!("{}={}", percent_encode(n), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// RFC 3986: unreserved characters stay, every other byte is `%XX` in upper case.
fn percent_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `%XX` escapes decoded (and `+` as a space, in a query); a `%` not followed by two hex digits
/// stays as it is.
fn percent_decode(text: &str, plus_is_space: bool) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match escaped {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(match bytes[i] {
                    b'+' if plus_is_space => b' ',
                    b => b,
                });
                i += 1;
            }
        }
    }
    out
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

/// `2026-11-23T20:43:50Z` (ACS3) or `20261123T204350Z` (Huawei) as Unix seconds.
fn parse_date(scheme: Scheme, text: &str) -> Option<i64> {
    let digits: String = match scheme {
        Scheme::Acs3 => {
            let b = text.as_bytes();
            let shaped = b.len() == 20
                && b[4] == b'-'
                && b[7] == b'-'
                && b[10] == b'T'
                && b[13] == b':'
                && b[16] == b':'
                && b[19] == b'Z';
            shaped.then(|| text.chars().filter(char::is_ascii_digit).collect())?
        }
        Scheme::SdkHmac => {
            let b = text.as_bytes();
            let shaped = b.len() == 16 && b[8] == b'T' && b[15] == b'Z';
            shaped.then(|| text.chars().filter(char::is_ascii_digit).collect())?
        }
    };
    if digits.len() != 14 {
        return None;
    }
    let field = |from: usize, to: usize| digits[from..to].parse::<i64>().ok();
    let (year, month, day) = (field(0, 4)?, field(4, 6)?, field(6, 8)?);
    let (hour, minute, second) = (field(8, 10)?, field(10, 12)?, field(12, 14)?);
    let valid = (1..=12).contains(&month)
        && (1..=days_in_month(year, month)).contains(&day)
        && hour < 24
        && minute < 60
        && second < 60;
    valid.then(|| days_since_epoch(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second)
}

/// Unix seconds (from 1970 on) as the date header `scheme` signs: the inverse of `parse_date`.
/// The service only reads these; its own clients (the tests, the fuzzer) write them.
pub fn format_date(scheme: Scheme, unix: i64) -> String {
    let (mut days, secs) = (unix.div_euclid(86_400), unix.rem_euclid(86_400));
    let mut year = 1970;
    while days >= days_in_year(year) {
        days -= days_in_year(year);
        year += 1;
    }
    let mut month = 1;
    while days >= days_in_month(year, month) {
        days -= days_in_month(year, month);
        month += 1;
    }
    let (day, hour, minute, second) = (days + 1, secs / 3600, secs % 3600 / 60, secs % 60);
    match scheme {
        Scheme::Acs3 => {
            format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z")
        }
        Scheme::SdkHmac => format!("{year:04}{month:02}{day:02}T{hour:02}{minute:02}{second:02}Z"),
    }
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_year(year: i64) -> i64 {
    if is_leap(year) { 366 } else { 365 }
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to the given date of the proleptic Gregorian calendar (year ≥ 1970).
fn days_since_epoch(year: i64, month: i64, day: i64) -> i64 {
    let whole_years: i64 = (1970..year).map(days_in_year).sum();
    let whole_months: i64 = (1..month).map(|m| days_in_month(year, m)).sum();
    whole_years + whole_months + day - 1
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Requests signed by the official SDKs' own code (and, for what no SDK sends, by the documented
    /// algorithm), from `tests/clients/make_signature_vectors.py`.
    #[test]
    fn the_sdks_signatures_are_rebuilt_exactly() {
        let file: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/fixtures/signature_vectors.json"))
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
            let signed = inspect(&received, now)
                .expect("a signed request")
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            let parts = Authorization::parse(scheme, text("authorization")).unwrap();
            let body_sha256 = hex(&Sha256::digest(received.body));
            let canonical =
                canonical_request(scheme, &received, &parts.signed_headers, &body_sha256).unwrap();
            assert_eq!(canonical, text("canonical_request"), "{name}");
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
        let file: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/fixtures/signature_vectors.json"))
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
        assert!(inspect_altered(&smn, "host;x-sdk-date", body, 0).is_ok());
        let refused = inspect_altered(&smn, "host;x-project-id", body, 0);
        assert_fault(refused, SignatureFault::Incomplete, "x-sdk-date");
        let skewed = inspect_altered(&smn, "host;x-sdk-date", body, MAX_SKEW_SECS + 1);
        assert_fault(skewed, SignatureFault::TimeSkewed, "x-sdk-date");
    }

    #[test]
    fn dates_format_as_each_scheme_signs_them_and_parse_back() {
        assert_eq!(format_date(Scheme::Acs3, 0), "1970-01-01T00:00:00Z");
        assert_eq!(
            format_date(Scheme::Acs3, 1_795_466_630),
            "2026-11-23T20:43:50Z"
        );
        assert_eq!(
            format_date(Scheme::SdkHmac, 1_709_164_800),
            "20240229T000000Z"
        );
        // Year, month and leap-day edges, both ways.
        for unix in [
            59,
            86_399,
            951_782_399,
            951_782_400,
            1_709_251_199,
            4_102_444_800,
        ] {
            for scheme in [Scheme::Acs3, Scheme::SdkHmac] {
                assert_eq!(parse_date(scheme, &format_date(scheme, unix)), Some(unix));
            }
        }
    }

    #[test]
    fn dates_of_both_schemes_parse_to_unix_seconds() {
        assert_eq!(parse_date(Scheme::Acs3, "1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_date(Scheme::Acs3, "2026-11-23T20:43:50Z"),
            Some(1_795_466_630)
        );
        assert_eq!(
            parse_date(Scheme::SdkHmac, "20261123T204350Z"),
            Some(1_795_466_630)
        );
        assert_eq!(
            parse_date(Scheme::SdkHmac, "20240229T000000Z"),
            Some(1_709_164_800)
        );
        for bad in [
            "2026-11-23 20:43:50Z",
            "2026-13-01T00:00:00Z",
            "2026-02-29T00:00:00Z",
            "2026-11-23T24:00:00Z",
            "2026-11-23T20:43:50",
            "",
        ] {
            assert_eq!(parse_date(Scheme::Acs3, bad), None, "{bad}");
        }
        assert_eq!(parse_date(Scheme::SdkHmac, "2026-11-23T20:43:50Z"), None);
        assert_eq!(parse_date(Scheme::SdkHmac, "20261123T2043+0Z"), None);
    }

    #[test]
    fn queries_are_decoded_sorted_and_encoded_again() {
        assert_eq!(canonical_query(""), "");
        assert_eq!(
            canonical_query("b=2&a=x%20y&a=%7e&c&d=&&e=%E6%A0%87+"),
            "a=x%20y&a=~&b=2&c=&d=&e=%E6%A0%87%20"
        );
        assert_eq!(canonical_query("x=%zz%4"), "x=%25zz%254");
    }

    #[test]
    fn paths_keep_their_segments_and_huawei_adds_a_slash() {
        assert_eq!(canonical_uri(Scheme::Acs3, "/tags"), "/tags");
        assert_eq!(canonical_uri(Scheme::Acs3, ""), "/");
        assert_eq!(
            canonical_uri(Scheme::SdkHmac, "/v2/p/t/a%20b*%2Fc/tags"),
            "/v2/p/t/a%20b%2A/c/tags/"
        );
        assert_eq!(canonical_uri(Scheme::Acs3, "/c/a%2fb*"), "/c/a%2Fb%2A");
        assert_eq!(canonical_uri(Scheme::SdkHmac, "/"), "/");
    }

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
