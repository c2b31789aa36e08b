use super::Error;

/// Which projects a caller may touch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProjectScope {
    One(String),
    /// Authentication is off: the caller names any project, and must name one.
    Any,
}

/// Who is calling, as established by authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub scope: ProjectScope,
    pub read_only: bool,
    /// May write and see tags under the reserved prefixes.
    pub system: bool,
    /// The id of a token recognised from memory rather than read from the database just now. A
    /// call of such a caller must find the token still live in its own statement, so a revocation
    /// takes effect on the next call; only reads do that, so it may not write.
    pub unconfirmed_token: Option<String>,
    /// Set for a signed request without a nonce of its own: the write it asks for is done once.
    pub once: Option<SignedOnce>,
    /// What the caller presented, by id (never a secret).
    pub credentials: CredentialIds,
}

/// The ids of the credentials a caller presented: the change log records who wrote, and a
/// stream that outlives its call checks them again, so a revocation ends it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CredentialIds {
    pub token: Option<String>,
    pub access_key: Option<String>,
}

impl CredentialIds {
    /// The id the change log records: the access key that signed, else the token; empty with
    /// authentication off.
    pub fn author(&self) -> &str {
        self.access_key
            .as_deref()
            .or(self.token.as_deref())
            .unwrap_or_default()
    }
}

/// A signed request that carries no nonce (SDK-HMAC-SHA256) can be sent again, unchanged, while
/// its date is accepted. Its signature is remembered with the write it made, in the write's own
/// transaction, until then: the same request again changes nothing and is answered as success,
/// so that a client's retry of a write whose answer it lost still succeeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedOnce {
    pub access_key_id: String,
    pub signature: String,
    /// Unix seconds after which the request's date is refused anyway.
    pub expires_at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

/// The longest project id, in characters.
pub const MAX_PROJECT_ID_CHARS: usize = 64;

impl Principal {
    /// The caller with authentication turned off.
    pub fn unauthenticated_local() -> Self {
        Self {
            scope: ProjectScope::Any,
            read_only: false,
            system: false,
            unconfirmed_token: None,
            once: None,
            credentials: CredentialIds::default(),
        }
    }

    /// The project a request acts on: the one it names, or the token's when it names none.
    pub fn project_for(&self, requested: &str, access: Access) -> Result<String, Error> {
        let project = match (&self.scope, requested) {
            (ProjectScope::One(own), "") => own.clone(),
            (ProjectScope::Any, "") => {
                return Err(Error::invalid(
                    "project_id",
                    "is required when the caller has no token to take it from",
                ));
            }
            (scope, requested) => {
                check_project_id(requested)?;
                if let ProjectScope::One(own) = scope
                    && own != requested
                {
                    return Err(Error::PermissionDenied(format!(
                        "the token is not valid for project `{requested}`"
                    )));
                }
                requested.to_owned()
            }
        };
        if access == Access::Write && self.read_only {
            return Err(Error::PermissionDenied(
                "the token is read-only and cannot change tags or resources".into(),
            ));
        }
        if access == Access::Write && self.unconfirmed_token.is_some() {
            return Err(Error::Internal(
                "a write was authorised by a token that was not read from the database".into(),
            ));
        }
        Ok(project)
    }
}

/// A principal calling one operation: each project it names is checked against the access level
/// the operation declares, so no operation states its level a second time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    principal: Principal,
    access: Access,
    /// The call's request id, which the change log records with each write.
    pub request_id: String,
    /// The consistency token the call's headers carry, unread (a read's request field wins).
    pub consistency_token: Option<String>,
}

impl Caller {
    pub fn new(principal: Principal, access: Access, request_id: String) -> Self {
        Self {
            principal,
            access,
            request_id,
            consistency_token: None,
        }
    }

    /// The caller, holding its reads to the consistency token its headers carry.
    pub fn with_consistency_token(self, token: Option<String>) -> Self {
        Self {
            consistency_token: token,
            ..self
        }
    }

    /// The project a request acts on, allowed for this operation's access level.
    pub fn project_for(&self, requested: &str) -> Result<String, Error> {
        self.principal.project_for(requested, self.access)
    }
}

impl std::ops::Deref for Caller {
    type Target = Principal;

    fn deref(&self) -> &Principal {
        &self.principal
    }
}

/// A project id: 1-64 letters, digits, `-`, `_` or `.`.
pub fn check_project_id(id: &str) -> Result<(), Error> {
    let ok = !id.is_empty()
        && id.chars().count() <= MAX_PROJECT_ID_CHARS
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            "project_id",
            "must be 1-64 characters of letters, digits, `-`, `_` or `.`",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token_of(project: &str, read_only: bool) -> Principal {
        Principal {
            scope: ProjectScope::One(project.into()),
            read_only,
            system: false,
            unconfirmed_token: None,
            once: None,
            credentials: CredentialIds::default(),
        }
    }

    #[test]
    fn empty_project_means_the_tokens_own() {
        assert_eq!(
            token_of("p1", false).project_for("", Access::Read).unwrap(),
            "p1"
        );
    }

    #[test]
    fn another_project_is_permission_denied() {
        let err = token_of("p1", false)
            .project_for("p2", Access::Read)
            .unwrap_err();
        assert!(matches!(err, Error::PermissionDenied(_)), "{err:?}");
    }

    #[test]
    fn read_only_tokens_cannot_write() {
        let p = token_of("p1", true);
        assert!(p.project_for("p1", Access::Read).is_ok());
        assert!(matches!(
            p.project_for("p1", Access::Write),
            Err(Error::PermissionDenied(_))
        ));
    }

    #[test]
    fn a_remembered_token_can_only_read() {
        let p = Principal {
            unconfirmed_token: Some("id".into()),
            ..token_of("p1", false)
        };
        assert!(p.project_for("p1", Access::Read).is_ok());
        assert!(matches!(
            p.project_for("p1", Access::Write),
            Err(Error::Internal(_))
        ));
    }

    #[test]
    fn without_auth_a_project_must_be_named_and_well_formed() {
        let p = Principal::unauthenticated_local();
        assert!(matches!(
            p.project_for("", Access::Read),
            Err(Error::InvalidArgument(_))
        ));
        assert!(matches!(
            p.project_for("a b", Access::Read),
            Err(Error::InvalidArgument(_))
        ));
        assert_eq!(
            p.project_for("any-project", Access::Write).unwrap(),
            "any-project"
        );
    }
}
