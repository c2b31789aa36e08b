/// A resource type the service accepts: the name callers send, and the qualified name answers show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceType {
    pub name: String,
    pub qualified: String,
}

/// The configured resource types.
#[derive(Debug, Clone)]
pub struct Catalog {
    types: Vec<ResourceType>,
}

/// The seeds' types: ACK clusters and the three SMN resource kinds.
pub const DEFAULT_CATALOG: &str = "CLUSTER=ALIYUN::CS::CLUSTER,smn_topic,smn_sms,smn_application";

impl Catalog {
    /// Parses `name[=qualified],…`; a type without a qualified name is shown by its name.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let mut types: Vec<ResourceType> = Vec::new();
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (name, qualified) = match entry.split_once('=') {
                Some((n, q)) => (n.trim(), q.trim()),
                None => (entry, entry),
            };
            if name.is_empty() || qualified.is_empty() {
                return Err(format!("entry `{entry}` has an empty name"));
            }
            if name.chars().count() > 64 || qualified.chars().count() > 128 {
                return Err(format!("entry `{entry}` is too long"));
            }
            if types
                .iter()
                .any(|t| t.name == name || t.qualified == qualified)
            {
                return Err(format!("resource type `{name}` is listed twice"));
            }
            types.push(ResourceType {
                name: name.to_owned(),
                qualified: qualified.to_owned(),
            });
        }
        if types.is_empty() {
            return Err("the catalog names no resource type".into());
        }
        Ok(Self { types })
    }

    /// Finds a type by its name or by its qualified name.
    pub fn resolve(&self, input: &str) -> Option<&ResourceType> {
        self.types
            .iter()
            .find(|t| t.name == input || t.qualified == input)
    }

    /// The qualified name of a stored type name.
    pub fn qualified<'a>(&'a self, name: &'a str) -> &'a str {
        self.resolve(name).map_or(name, |t| t.qualified.as_str())
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.types.iter().map(|t| t.name.as_str())
    }
}

impl Default for Catalog {
    fn default() -> Self {
        Self::parse(DEFAULT_CATALOG).expect("the default catalog parses")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_catalog_resolves_names_and_qualified_names() {
        let c = Catalog::default();
        assert_eq!(
            c.resolve("CLUSTER").unwrap().qualified,
            "ALIYUN::CS::CLUSTER"
        );
        assert_eq!(c.resolve("ALIYUN::CS::CLUSTER").unwrap().name, "CLUSTER");
        assert_eq!(c.qualified("smn_topic"), "smn_topic");
        assert!(c.resolve("cluster").is_none());
    }

    #[test]
    fn parse_refuses_duplicates_and_empty_entries() {
        assert!(Catalog::parse("a,a").is_err());
        assert!(Catalog::parse("=x").is_err());
        assert!(Catalog::parse(" , ").is_err());
    }
}
