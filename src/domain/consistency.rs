//! Consistency tokens: what a write answers so that a later read, whichever server reads it, sees
//! that write or a later state (read-your-writes over read replicas).
//!
//! A token names the project and the project revision the write answered: a server that has
//! reached that revision of the project has every write up to it, since a project's revisions are
//! taken in commit order. It proves nothing and grants nothing: a forged one can only make a read
//! wait for a replica, or go to the primary.

use super::{Error, check_project_id};

/// The header (gRPC metadata, HTTP header, gRPC trailer) that carries a token.
pub const CONSISTENCY_HEADER: &str = "x-consistency-token";

/// A project revision a read must reflect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsistencyToken {
    project_id: String,
    revision: i64,
}

impl ConsistencyToken {
    pub fn new(project_id: &str, revision: i64) -> Self {
        Self {
            project_id: project_id.to_owned(),
            revision,
        }
    }

    /// The token as sent: `<project>@<revision>`, to be handed back as it is.
    pub fn encode(&self) -> String {
        format!("{}@{}", self.project_id, self.revision)
    }

    /// Reads the token a caller sent as `field`.
    pub fn parse(field: &str, raw: &str) -> Result<Self, Error> {
        let bad = || {
            Error::invalid(
                field,
                "must be a consistency token as a write answered it (`<project>@<revision>`)",
            )
        };
        let (project_id, revision) = raw.rsplit_once('@').ok_or_else(bad)?;
        if revision.is_empty() || !revision.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let revision = revision.parse().map_err(|_| bad())?;
        check_project_id(project_id).map_err(|_| bad())?;
        Ok(Self::new(project_id, revision))
    }

    /// The revision a read of `project_id` must reflect; a token of another project says
    /// nothing about it, and is refused rather than silently ignored.
    pub fn revision_for(&self, field: &str, project_id: &str) -> Result<i64, Error> {
        if self.project_id == project_id {
            Ok(self.revision)
        } else {
            Err(Error::invalid(
                field,
                format!(
                    "is a token of project `{}`, not of `{project_id}`",
                    self.project_id
                ),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_reads_back_as_it_was_written() {
        let token = ConsistencyToken::new("team.a-1", 42);
        assert_eq!(token.encode(), "team.a-1@42");
        let read = ConsistencyToken::parse("t", &token.encode()).unwrap();
        assert_eq!(read.revision_for("t", "team.a-1").unwrap(), 42);
    }

    #[test]
    fn malformed_tokens_are_refused_naming_the_field() {
        for raw in [
            "",
            "42",
            "p@",
            "@1",
            "p@-1",
            "p@1x",
            "p@99999999999999999999",
            "p q@1",
        ] {
            let e = ConsistencyToken::parse("consistency_token", raw).unwrap_err();
            assert!(e.to_string().contains("consistency_token"), "{raw}: {e}");
        }
    }

    #[test]
    fn a_token_of_another_project_is_refused() {
        let token = ConsistencyToken::parse("t", "a@3").unwrap();
        assert!(token.revision_for("t", "b").is_err());
    }
}
