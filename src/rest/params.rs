//! A REST request's query parameters, decoded once for both forms.

use serde::de::DeserializeOwned;

use crate::domain::Error;

/// Decoded query parameters. Unknown ones are ignored, as grpc-gateway does; one given twice is
/// refused rather than silently picking one.
pub(super) struct Params(Vec<(String, String)>);

impl Params {
    /// Decodes `a=b&c=d` as forms do (`+` is a space). Unlike `form_urlencoded`, which replaces
    /// bytes that are not UTF-8 with U+FFFD and so would store or match another value, such a
    /// parameter is refused.
    pub(super) fn parse(raw: Option<&str>) -> Result<Self, Error> {
        let mut pairs = Vec::new();
        for pair in raw.unwrap_or_default().split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let name = String::from_utf8(form_decode(name)).map_err(|_| {
                Error::invalid(
                    "query",
                    "parameter names must be UTF-8 once percent-decoded",
                )
            })?;
            let value = String::from_utf8(form_decode(value))
                .map_err(|_| Error::invalid(name.as_str(), "must be UTF-8 once percent-decoded"))?;
            pairs.push((name, value));
        }
        Ok(Self(pairs))
    }

    pub(super) fn one(&self, name: &str) -> Result<Option<&str>, Error> {
        let mut values = self
            .0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str());
        let first = values.next();
        if values.next().is_some() {
            return Err(Error::invalid(name, "is given more than once"));
        }
        Ok(first)
    }

    pub(super) fn text(&self, name: &str) -> Result<String, Error> {
        Ok(self.one(name)?.unwrap_or_default().to_owned())
    }

    /// A parameter that carries JSON, as ACK's `resource_ids`, `tags` and `tag_keys` do.
    pub(super) fn json<T: DeserializeOwned + Default>(
        &self,
        name: &str,
        example: &str,
    ) -> Result<T, Error> {
        match self.one(name)? {
            None | Some("") => Ok(T::default()),
            Some(raw) => serde_json::from_str(raw)
                .map_err(|e| Error::invalid(name, format!("must be JSON such as {example}: {e}"))),
        }
    }

    /// A page size under `name` (ACK's `page_size`, SMN's `limit`). Absent means the default;
    /// an empty value or a sign is refused, as for any other non-integer.
    pub(super) fn page_size(&self, name: &str) -> Result<i32, Error> {
        match self.one(name)? {
            None => Ok(0),
            Some(raw) => Some(raw)
                .filter(|r| !r.starts_with('+'))
                .and_then(|r| r.parse().ok())
                .ok_or_else(|| Error::invalid(name, "must be an integer")),
        }
    }

    /// ACK's SDK sends `True`/`False`; absent is false, an empty value is refused.
    pub(super) fn flag(&self, name: &str) -> Result<bool, Error> {
        match self.one(name)? {
            None => Ok(false),
            Some("true" | "True") => Ok(true),
            Some("false" | "False") => Ok(false),
            Some(_) => Err(Error::invalid(name, "must be true or false")),
        }
    }
}

/// `+` as a space and `%XX` as its byte; a `%` not followed by two hex digits stays as it is.
fn form_decode(s: &str) -> Vec<u8> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |at: usize| bytes.get(at).and_then(|b| (*b as char).to_digit(16));
        match (bytes[i], hex(i + 1), hex(i + 2)) {
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (b'+', _, _) => {
                out.push(b' ');
                i += 1;
            }
            (b, _, _) => {
                out.push(b);
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
    fn parameters_decode_as_forms_do() {
        for raw in [
            "a=b+c&d=%22%E4%B8%AD%22",
            "x=100%&y=%zz&z&&w=",
            "k=%25_%5F%2B",
        ] {
            let theirs: Vec<(String, String)> = url::form_urlencoded::parse(raw.as_bytes())
                .into_owned()
                .collect();
            assert_eq!(Params::parse(Some(raw)).expect("UTF-8").0, theirs, "{raw}");
        }
    }

    #[test]
    fn a_parameter_that_is_not_utf8_is_refused_by_name() {
        for (raw, field) in [
            ("resource_ids=%5B%22%FF%22%5D", "resource_ids"),
            ("%C3=1", "query"),
        ] {
            match Params::parse(Some(raw)) {
                Err(Error::InvalidArgument(v)) => assert_eq!(v[0].field, field, "{raw}"),
                other => panic!("{raw}: {:?}", other.map(|p| p.0)),
            }
        }
    }
}
