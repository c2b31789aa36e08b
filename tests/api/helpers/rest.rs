//! The REST client: a handle on a server's HTTP face, and the answer type the tests read.

use reqwest::{Client, Method, RequestBuilder, StatusCode, header::HeaderMap};
use serde_json::Value;
/// The served REST routes as (method, path template), from the service itself.
pub use tagging_service::rest::ROUTES;

/// A fresh HTTP client that never goes through a proxy.
pub fn http() -> Client {
    Client::builder().no_proxy().build().expect("HTTP client")
}

/// The REST face of one server: requests to `path` (which starts with `/`) on its address. Each
/// handle has a client of its own, so no connection is shared between handles.
pub struct Rest {
    client: Client,
    base: String,
}

impl Rest {
    pub fn at(addr: std::net::SocketAddr) -> Self {
        Self {
            client: http(),
            base: format!("http://{addr}"),
        }
    }

    /// The absolute URL of `path`.
    pub fn url(&self, path: impl AsRef<str>) -> String {
        format!("{}{}", self.base, path.as_ref())
    }

    pub fn request(&self, method: Method, path: impl AsRef<str>) -> RequestBuilder {
        self.client.request(method, self.url(path))
    }

    pub fn get(&self, path: impl AsRef<str>) -> RequestBuilder {
        self.request(Method::GET, path)
    }

    pub fn put(&self, path: impl AsRef<str>) -> RequestBuilder {
        self.request(Method::PUT, path)
    }

    pub fn post(&self, path: impl AsRef<str>) -> RequestBuilder {
        self.request(Method::POST, path)
    }

    pub fn delete(&self, path: impl AsRef<str>) -> RequestBuilder {
        self.request(Method::DELETE, path)
    }
}

/// A REST answer (shared with the SMN tests): status, the `X-Request-Id` header and the JSON body (`Null` when empty).
pub struct Answer {
    pub status: StatusCode,
    pub request_id: String,
    pub grpc_status: Option<String>,
    pub body: Value,
}

pub async fn answer(req: RequestBuilder) -> Answer {
    let res = req.send().await.expect("the request is answered");
    let status = res.status();
    let header = |name: &str| {
        res.headers()
            .get(name)
            .map(|v| v.to_str().expect("visible ASCII header").to_owned())
    };
    let request_id = header("x-request-id").expect("every answer carries X-Request-Id");
    let grpc_status = header("grpc-status");
    let text = res.text().await.expect("the body is read");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("body is not JSON ({e}): {text}"))
    };
    Answer {
        status,
        request_id,
        grpc_status,
        body,
    }
}

/// The sorted keys of a JSON object.
pub fn keys(v: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = v
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

/// Asserts an error answer: `status`, exactly `{request_id, code, message}` (and, on the ACK form,
/// whose codes lack SMN's `SMN.` prefix, `requestId`, where ACK's SDK reads it), the request id of
/// the header, `code`, and a message that mentions `names`.
#[track_caller]
pub fn assert_error(a: &Answer, status: u16, code: &str, names: &str) {
    assert_eq!(a.status.as_u16(), status, "{}", a.body);
    let expected: &[&str] = if code.starts_with("SMN.") {
        &["code", "message", "request_id"]
    } else {
        assert_eq!(a.body["requestId"], a.request_id.as_str(), "{}", a.body);
        &["code", "message", "requestId", "request_id"]
    };
    assert_eq!(keys(&a.body), expected, "{}", a.body);
    assert_eq!(a.body["code"], code, "{}", a.body);
    assert_eq!(a.body["request_id"], a.request_id.as_str(), "{}", a.body);
    let message = a.body["message"].as_str().expect("message is a string");
    assert!(
        message.contains(names),
        "message should name `{names}`: {message}"
    );
}

/// The value of header `name`, which must be visible ASCII.
pub fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .map(|v| v.to_str().expect("visible ASCII"))
}

/// [`ROUTES`] as a set of owned (method, path template) pairs.
pub fn served_routes() -> std::collections::BTreeSet<(String, String)> {
    ROUTES
        .iter()
        .map(|r| (r.method.to_owned(), r.path.to_owned()))
        .collect()
}
