//! Writes by construction. A change to the console's data is a [`Change`]: a transaction
//! that only an [`Admin`] can open (the role check is the only way to get one; a change to
//! one's own account opens with [`Actor::begin_own`]), and that can only be committed with the
//! [`Audit`] entry saying what it was. So a write without its role check or its audit entry
//! does not compile, and every audit entry names one [`AuditAction`].

use super::Actor;
use crate::domain::records::Dependency;
use crate::domain::IdKind;
use crate::error::{AppError, AppResult};
use crate::store::audit::AuditEntry;
use crate::store::read::Read;
use crate::store::write::Write;
use crate::store::writer::WriteTx;
use crate::store::Arg;
use crate::store::{now_ms, Db};

macro_rules! actions {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {
        /// What a change did, as the audit log names it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum AuditAction {
            $($(#[$doc])* $name),*
        }

        impl AuditAction {
            /// Every action, for listing and tests.
            pub const ALL: &[AuditAction] = &[$(AuditAction::$name),*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(AuditAction::$name => stringify!($name)),*
                }
            }
        }
    };
}

actions! {
    CreateAccount,
    EnableAccount,
    DisableAccount,
    ChangeAccountRole,
    ResetAccountPassword,
    CreateApiToken,
    RevokeApiToken,
    CreateGateway,
    UpdateGateway,
    DeleteGateway,
    CreateEnvironment,
    UpdateEnvironment,
    DeleteEnvironment,
    CreateConsumer,
    UpdateConsumer,
    EnableConsumer,
    DisableConsumer,
    DeleteConsumer,
    BindCredential,
    UnbindCredential,
    AddGroupMembership,
    RemoveGroupMembership,
    CreateConsumerGroup,
    UpdateConsumerGroup,
    EnableConsumerGroup,
    DisableConsumerGroup,
    DeleteConsumerGroup,
    CreateKey,
    UpdateKey,
    RotateKey,
    DeleteKey,
    /// A JWT or HMAC credential added to a consumer.
    CreateCredential,
    UpdateCredential,
    RotateCredential,
    DeleteCredential,
    /// A model API (the name the cloud API gateways use for it).
    CreateHttpApi,
    UpdateHttpApi,
    DeleteHttpApi,
    CreateConsumerAuthorizationRule,
    UpdateConsumerAuthorizationRule,
    DeleteConsumerAuthorizationRule,
    CreateRateLimit,
    UpdateRateLimit,
    DeleteRateLimit,
    CreateQuota,
    UpdateQuota,
    /// An Admin started a quota's count anew for its current period.
    ResetQuota,
    DeleteQuota,
    /// A configuration file applied to a gateway: one entry for the whole change set.
    ApplyConfiguration,
}

/// One audit entry: what was done to which resource, in which instance, and how.
#[derive(Debug)]
pub struct Audit<'a> {
    action: AuditAction,
    resource_type: IdKind,
    resource_id: &'a str,
    instance_id: Option<&'a str>,
    subject_id: Option<&'a str>,
    summary: String,
}

impl<'a> Audit<'a> {
    pub fn new(action: AuditAction, resource_type: IdKind, resource_id: &'a str) -> Audit<'a> {
        Audit {
            action,
            resource_type,
            resource_id,
            instance_id: None,
            subject_id: None,
            summary: String::new(),
        }
    }

    /// The instance the resource belongs to (none for accounts and tokens).
    pub fn instance(mut self, instance_id: &'a str) -> Audit<'a> {
        self.instance_id = Some(instance_id);
        self
    }

    /// The consumer or group the change concerns when it is not the resource itself (a
    /// rule), so enforcement knows what to re-read.
    pub fn subject(mut self, subject_id: Option<&'a str>) -> Audit<'a> {
        self.subject_id = subject_id;
        self
    }

    /// What changed, in words; never a secret.
    pub fn summary(mut self, summary: impl Into<String>) -> Audit<'a> {
        self.summary = summary.into();
        self
    }
}

/// Proof that the acting account may change things; only [`Actor::admin`] makes one.
pub struct Admin<'a>(&'a Actor);

impl<'a> Admin<'a> {
    /// Opens the change's transaction.
    pub async fn begin(&self, db: &Db) -> AppResult<Change<'a>> {
        Change::open(self.0, db).await
    }
}

impl Actor {
    /// The console itself acting as an Admin (first start, demo data, the command line),
    /// named `who` in the audit log.
    pub fn system(who: &str) -> Actor {
        Actor {
            user: crate::domain::records::CurrentUser {
                id: "system".into(),
                username: who.into(),
                role: crate::domain::records::Role::Admin,
            },
            request_id: format!("{who}-{}", std::process::id()),
        }
    }

    /// The role check: Viewers are refused here, before any input is looked at.
    pub fn admin(&self) -> AppResult<Admin<'_>> {
        if self.user.can_write() {
            Ok(Admin(self))
        } else {
            Err(AppError::Forbidden)
        }
    }

    /// A change to the acting account's own things (its API tokens), open to every role.
    pub async fn begin_own(&self, db: &Db) -> AppResult<Change<'_>> {
        Change::open(self, db).await
    }
}

/// A record that others may depend on (memberships, credentials, rules, deployments, an
/// instance's contents): deleted only through [`Change::delete_checked`], which decides
/// the order and the answer the same way for every kind.
pub trait Deletable: Sync {
    /// Whether the audit entry is recorded before the delete rather than after it (see
    /// `Change::delete_checked`).
    const RECORD_FIRST: bool = false;

    /// What must go before it can be deleted, each with where it lives.
    fn dependencies(
        &self,
        conn: &mut impl Read,
    ) -> impl std::future::Future<Output = AppResult<Vec<Dependency>>> + Send;

    /// Deletes it; whether it was there to delete. A statement that is conditional on the
    /// record being unused answers false when it is used.
    fn delete(
        &self,
        conn: &mut impl Write,
    ) -> impl std::future::Future<Output = Result<bool, crate::store::Error>> + Send;
}

/// Proof that a change recorded at least one audit entry; only `Change::record` makes one.
pub struct Recorded(());

/// A change in progress: one transaction; reads and writes go through it like a connection.
pub struct Change<'a> {
    tx: WriteTx,
    actor: &'a Actor,
}

impl<'a> Change<'a> {
    async fn open(actor: &'a Actor, db: &Db) -> AppResult<Change<'a>> {
        Ok(Change {
            tx: db.begin_write().await?,
            actor,
        })
    }

    /// Records an entry now: a change that touches several resources records one for each,
    /// then commits with the proof that it did.
    pub async fn record(&mut self, audit: Audit<'_>) -> AppResult<Recorded> {
        let entry = AuditEntry {
            instance_id: audit.instance_id,
            actor: &self.actor.user.username,
            action: audit.action.as_str(),
            resource_type: audit.resource_type.noun(),
            resource_id: audit.resource_id,
            subject_id: audit.subject_id,
            summary: audit.summary,
            request_id: &self.actor.request_id,
        };
        crate::store::audit::insert(&mut self.tx, entry, now_ms()).await?;
        Ok(Recorded(()))
    }

    /// Records `audit` and commits everything the change did, or nothing.
    pub async fn commit(mut self, audit: Audit<'_>) -> AppResult<()> {
        let recorded = self.record(audit).await?;
        self.commit_recorded(recorded).await
    }

    /// Commits a change whose entries are already recorded (a batch).
    pub async fn commit_recorded(self, _entries: Recorded) -> AppResult<()> {
        Ok(self.tx.commit().await?)
    }

    /// The one way a record that others may depend on is deleted. Its `dependencies` are
    /// listed in the transaction: any, and the delete is refused with them
    /// (`Conflict.Dependencies`), nothing written; none, and `delete` runs. Should the engine
    /// still refuse it (a foreign key: something was added that this transaction could not
    /// see) or `delete` find nothing to remove (a conditional delete that found the record in
    /// use), the change is rolled back and the dependencies listed afresh, so the caller is
    /// told what blocks it now. The audit entry, which bumps the instance's revision, is
    /// recorded after the delete: every change takes its record's row before the instance's,
    /// so two changes never wait for each other (PostgreSQL would abort one as a deadlock).
    /// An instance itself is the exception (`RECORD_FIRST`): its revision is its own row.
    pub async fn delete_checked<R: Deletable>(
        mut self,
        db: &Db,
        audit: Audit<'_>,
        record: &R,
    ) -> AppResult<()> {
        let (kind, id) = (audit.resource_type, audit.resource_id.to_owned());
        // The entry is recorded either now or once deleted, never both.
        let (first, pending) = if R::RECORD_FIRST {
            (Some(self.record(audit).await?), None)
        } else {
            (None, Some(audit))
        };
        let blocking = record.dependencies(&mut self).await?;
        if !blocking.is_empty() {
            return Err(AppError::Dependencies(blocking));
        }
        match record.delete(&mut self).await {
            Ok(true) => {
                let recorded = match first {
                    Some(recorded) => recorded,
                    None => {
                        self.record(pending.expect("pending unless recorded first"))
                            .await?
                    }
                };
                return self.commit_recorded(recorded).await;
            }
            Ok(false) => {}
            Err(e) if crate::store::breaks_foreign_key(&e) => {}
            Err(e) => return Err(e.into()),
        }
        drop(self);
        let now = record.dependencies(&mut db.reader().await?).await?;
        Err(if now.is_empty() {
            AppError::not_found(kind, &id)
        } else {
            AppError::Dependencies(now)
        })
    }
}

impl Read for Change<'_> {
    async fn all<T: crate::store::row::Row>(
        &mut self,
        sql: &str,
        args: &[Arg],
    ) -> Result<Vec<T>, crate::store::Error> {
        self.tx.all(sql, args).await
    }

    async fn first<T: crate::store::row::Row>(
        &mut self,
        sql: &str,
        args: &[Arg],
    ) -> Result<Option<T>, crate::store::Error> {
        self.tx.first(sql, args).await
    }

    async fn number(
        &mut self,
        sql: &str,
        args: &[Arg],
    ) -> Result<Option<i64>, crate::store::Error> {
        self.tx.number(sql, args).await
    }

    fn backend(&self) -> crate::store::Backend {
        self.tx.backend()
    }
}

impl Write for Change<'_> {
    async fn execute(&mut self, sql: &str, args: &[Arg]) -> Result<u64, crate::store::Error> {
        self.tx.execute(sql, args).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::records::{CurrentUser, Role};

    fn actor(role: Role) -> Actor {
        Actor {
            user: CurrentUser {
                id: "acc-1".into(),
                username: "someone".into(),
                role,
            },
            request_id: "rid".into(),
        }
    }

    #[test]
    fn only_an_admin_gets_past_the_role_check() {
        assert!(actor(Role::Admin).admin().is_ok());
        assert!(matches!(
            actor(Role::Viewer).admin(),
            Err(AppError::Forbidden)
        ));
    }

    #[test]
    fn action_names_are_distinct_and_read_as_written() {
        let names: std::collections::BTreeSet<&str> =
            AuditAction::ALL.iter().map(|a| a.as_str()).collect();
        assert_eq!(names.len(), AuditAction::ALL.len());
        assert_eq!(AuditAction::CreateHttpApi.as_str(), "CreateHttpApi");
    }
}
