//! What a decision looked at. The check decides through `Snapshot::decide_traced` with the
//! empty trace `()`, which records nothing and costs nothing; the access explainer passes a
//! [`Recording`], which keeps every step and every grant considered, named by ID. Positions
//! (of an API, an environment) are named through [`Names`] only when a trace asks, so the
//! check never looks a name up.

/// Why a grant applies to a request or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Applies,
    /// It grants another model API than the one the path reaches.
    OtherApi,
    /// It grants the API in another environment.
    OtherEnvironment,
    /// Its expiry has passed.
    Expired,
    /// It is a grant of a disabled consumer group.
    GroupDisabled,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Applies => "applies",
            Verdict::OtherApi => "other-api",
            Verdict::OtherEnvironment => "other-environment",
            Verdict::Expired => "expired",
            Verdict::GroupDisabled => "group-disabled",
        }
    }
}

/// Names the positions a snapshot keeps its model APIs and environments at.
pub trait Names {
    fn api_id(&self, at: u32) -> &str;
    fn environment_id(&self, at: u32) -> &str;
}

/// A grant as a decision sees it: positions, and the expiry (`i64::MAX` for never).
#[derive(Debug, Clone, Copy)]
pub struct GrantSeen {
    pub api: u32,
    pub environment: u32,
    pub expires_at: i64,
}

/// Told each step of a decision, in order. Every method does nothing unless implemented.
pub trait Trace {
    /// Look at every grant, not only until one applies (the decision is the same).
    const ALL_GRANTS: bool = false;
    /// The key looked up: `None` when no bound key has this value, else (enabled, expiry).
    fn key(&mut self, _found: Option<(bool, i64)>) {}
    /// The key found: its consumer's position, and where the snapshot keeps the key's ID.
    fn key_at(&mut self, _consumer: u32, _key: u32) {}
    /// The consumer the key names: ID, name, enabled.
    fn consumer(&mut self, _id: &str, _name: &str, _enabled: bool) {}
    fn environment(&mut self, _names: &dyn Names, _at: u32) {}
    /// The model API the path reaches, by the base path it matched.
    fn route(&mut self, _names: &dyn Names, _base_path: &str, _api: u32) {}
    /// A grant of the consumer (`group` none) or of one of its groups (ID, enabled), and
    /// its verdict.
    fn grant(
        &mut self,
        _names: &dyn Names,
        _group: Option<(&str, bool)>,
        _grant: GrantSeen,
        _verdict: Verdict,
    ) {
    }
}

/// The check's trace: nothing.
impl Trace for () {}

/// What the key lookup found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyStep {
    /// No bound key has this value (or none was given in a form a key can have).
    Unknown,
    /// `expires_at` none for a key that does not expire.
    Found {
        enabled: bool,
        expires_at: Option<i64>,
    },
}

/// A grant considered, named by IDs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantStep {
    /// The group it belongs to, none for the consumer's own: (ID, enabled).
    pub group: Option<(String, bool)>,
    pub api_id: String,
    pub environment_id: String,
    /// None when it does not expire.
    pub expires_at: Option<i64>,
    pub verdict: Verdict,
}

/// Everything a decision looked at, for the explainer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recording {
    /// None when the decision started from a consumer, not a key.
    pub key: Option<KeyStep>,
    /// (ID, name, enabled)
    pub consumer: Option<(String, String, bool)>,
    pub environment_id: Option<String>,
    /// (base path matched, model API ID)
    pub route: Option<(String, String)>,
    pub grants: Vec<GrantStep>,
}

fn expiry(at: i64) -> Option<i64> {
    (at != i64::MAX).then_some(at)
}

impl Trace for Recording {
    const ALL_GRANTS: bool = true;

    fn key(&mut self, found: Option<(bool, i64)>) {
        self.key = Some(match found {
            None => KeyStep::Unknown,
            Some((enabled, expires_at)) => KeyStep::Found {
                enabled,
                expires_at: expiry(expires_at),
            },
        });
    }

    fn consumer(&mut self, id: &str, name: &str, enabled: bool) {
        self.consumer = Some((id.to_owned(), name.to_owned(), enabled));
    }

    fn environment(&mut self, names: &dyn Names, at: u32) {
        self.environment_id = Some(names.environment_id(at).to_owned());
    }

    fn route(&mut self, names: &dyn Names, base_path: &str, api: u32) {
        self.route = Some((base_path.to_owned(), names.api_id(api).to_owned()));
    }

    fn grant(
        &mut self,
        names: &dyn Names,
        group: Option<(&str, bool)>,
        g: GrantSeen,
        verdict: Verdict,
    ) {
        self.grants.push(GrantStep {
            group: group.map(|(id, enabled)| (id.to_owned(), enabled)),
            api_id: names.api_id(g.api).to_owned(),
            environment_id: names.environment_id(g.environment).to_owned(),
            expires_at: expiry(g.expires_at),
            verdict,
        });
    }
}
