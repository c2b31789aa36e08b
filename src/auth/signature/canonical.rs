//! The canonical request both schemes sign. It is rebuilt from the request as received, with
//! path and query decoded and encoded again, so that any encoding a client chose signs the same.

use super::{Received, Scheme, incomplete};
use crate::domain::Error;

pub(super) fn canonical_request(
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
