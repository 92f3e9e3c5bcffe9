//! Every parameter Vercel hands us, parsed into a type at the edge. Downstream code never sees a
//! raw query string.

use std::collections::HashMap;

use url::Url;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParamError {
    #[error("the `{0}` parameter is missing")]
    Missing(&'static str),
    #[error("the `{0}` parameter is malformed")]
    Malformed(&'static str),
    #[error("the `{0}` parameter appears more than once")]
    Repeated(&'static str),
    #[error("`next` does not point to Vercel")]
    ForeignNext,
    #[error("`url` is not on this service's site")]
    ForeignUrl,
}

fn id_like(value: &str, prefix: &str, max: usize) -> bool {
    value.len() <= max
        && value.strip_prefix(prefix).is_some_and(|rest| {
            !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        })
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $param:literal, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        pub struct $name(String);

        impl $name {
            pub fn parse(value: &str) -> Result<Self, ParamError> {
                if id_like(value, $prefix, 128) {
                    Ok(Self(value.to_owned()))
                } else {
                    Err(ParamError::Malformed($param))
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(
    /// An installation id (`icfg_…`), Vercel's `configurationId`.
    ConfigurationId, "configurationId", "icfg_"
);
id_type!(
    /// A team id (`team_…`).
    TeamId, "teamId", "team_"
);
id_type!(
    /// A Vercel project id. Usually `prj_…`, but older projects have other shapes (Vercel's own
    /// docs show `QmXGTs7mvAMMC7WW5ebrM33qKG32QK3h4vmQ`): any id in the safe alphabet, no prefix.
    ProjectId, "projectId", ""
);

/// The webhook event types Tether acts on, by Vercel's `type`. Types Vercel adds later are
/// `Other`: recorded, and counted under their own label, never applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// `integration-configuration.removed`, or the older spelling with a dash.
    ConfigurationRemoved,
    /// Projects were given to or taken from the installation.
    PermissionUpgraded,
    ScopeChangeConfirmed,
    Transferred,
    ProjectCreated,
    ProjectRemoved,
    ProjectRenamed,
    /// Any `deployment.*`.
    Deployment,
    /// Native integrations: the user connected a resource to a project at Vercel, or
    /// disconnected it (Vercel writes or removes its secrets there itself).
    ResourceConnected,
    ResourceDisconnected,
    /// Native integrations: a team member's role changed.
    MemberChanged,
    Other,
}

impl EventKind {
    pub fn of(kind: &str) -> Self {
        match kind {
            "integration-configuration.removed" | "integration-configuration-removed" => Self::ConfigurationRemoved,
            "integration-configuration.permission-upgraded" => Self::PermissionUpgraded,
            "integration-configuration.scope-change-confirmed" => Self::ScopeChangeConfirmed,
            "integration-configuration.transferred" => Self::Transferred,
            "project.created" => Self::ProjectCreated,
            "project.removed" => Self::ProjectRemoved,
            "project.renamed" => Self::ProjectRenamed,
            kind if kind.starts_with("deployment.") => Self::Deployment,
            "integration-resource.project-connected" => Self::ResourceConnected,
            "integration-resource.project-disconnected" => Self::ResourceDisconnected,
            "marketplace.member.changed" => Self::MemberChanged,
            _ => Self::Other,
        }
    }

    /// The metrics label: one per kind, so a sender cannot make up new series.
    pub fn label(self) -> &'static str {
        match self {
            Self::ConfigurationRemoved => "integration-configuration.removed",
            Self::PermissionUpgraded => "integration-configuration.permission-upgraded",
            Self::ScopeChangeConfirmed => "integration-configuration.scope-change-confirmed",
            Self::Transferred => "integration-configuration.transferred",
            Self::ProjectCreated => "project.created",
            Self::ProjectRemoved => "project.removed",
            Self::ProjectRenamed => "project.renamed",
            Self::Deployment => "deployment",
            Self::ResourceConnected => "integration-resource.project-connected",
            Self::ResourceDisconnected => "integration-resource.project-disconnected",
            Self::MemberChanged => "marketplace.member.changed",
            Self::Other => "other",
        }
    }
}

/// The one-time code from the callback. Never stored: only its SHA-256 is.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthCode(String);

impl AuthCode {
    pub fn parse(value: &str) -> Result<Self, ParamError> {
        let ok = (8..=256).contains(&value.len())
            && value.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
        if ok {
            Ok(Self(value.to_owned()))
        } else {
            Err(ParamError::Malformed("code"))
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// What the database keeps to recognise a replay.
    pub fn digest(&self) -> String {
        use sha2::{Digest, Sha256};
        hex::encode(Sha256::digest(self.0.as_bytes()))
    }
}

impl std::fmt::Debug for AuthCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuthCode([redacted])")
    }
}

/// Where the popup returns when done: only ever on the allowed Vercel origin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NextUrl(Url);

impl NextUrl {
    pub const MAX_LEN: usize = 2048;

    /// `allowed` is the Vercel origin (`https://vercel.com`, or the simulator's in sandbox mode).
    pub fn parse(raw: &str, allowed: &Url) -> Result<Self, ParamError> {
        if raw.is_empty() {
            return Err(ParamError::Missing("next"));
        }
        // Browsers and URL parsers silently drop tabs and newlines and treat `\` as `/`: refuse
        // them rather than guess which reading a browser will make.
        if raw.len() > Self::MAX_LEN || raw.chars().any(|c| c.is_control() || c.is_whitespace() || c == '\\') {
            return Err(ParamError::Malformed("next"));
        }
        // The authority must be spelled plainly: no userinfo, no percent-encoding, no Unicode
        // that a parser would fold into something else.
        let authority = raw
            .split_once("://")
            .map(|(_, rest)| rest.split(['/', '?', '#']).next().unwrap_or_default())
            .ok_or(ParamError::ForeignNext)?;
        if !authority.bytes().all(|b| b.is_ascii_alphanumeric() || b"-.:".contains(&b)) {
            return Err(ParamError::ForeignNext);
        }
        let url = Url::parse(raw).map_err(|_| ParamError::Malformed("next"))?;
        let same_origin = url.scheme() == allowed.scheme()
            && url.host() == allowed.host()
            && url.port_or_known_default() == allowed.port_or_known_default();
        if !same_origin || !url.username().is_empty() || url.password().is_some() {
            return Err(ParamError::ForeignNext);
        }
        Ok(Self(url))
    }

    /// The normalised form: the only string ever sent back as a redirect.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Marketplace,
    External,
    DeployButton,
}

impl Source {
    pub const ALL: [Source; 3] = [Source::Marketplace, Source::External, Source::DeployButton];

    pub fn as_str(self) -> &'static str {
        match self {
            Source::Marketplace => "marketplace",
            Source::External => "external",
            Source::DeployButton => "deploy-button",
        }
    }
}

/// Everything the Redirect URL may carry, parsed. `source` is optional in Vercel's docs, so an
/// unknown or missing one is treated as a marketplace install.
#[derive(Debug)]
pub struct CallbackParams {
    pub code: AuthCode,
    pub configuration_id: ConfigurationId,
    pub next: NextUrl,
    pub team_id: Option<TeamId>,
    pub source: Source,
    pub state: Option<String>,
    pub current_project_id: Option<ProjectId>,
    pub external_id: Option<String>,
}

const KNOWN: [&str; 8] =
    ["code", "configurationId", "next", "teamId", "source", "state", "currentProjectId", "external-id"];

/// The parameters of a query that Tether knows, each at most once, empty ones as absent.
/// Unknown parameters are ignored: Vercel adds new ones from time to time.
struct Known(HashMap<&'static str, String>);

impl Known {
    fn of(query: &str, known: &[&'static str]) -> Result<Self, ParamError> {
        let mut seen = HashMap::new();
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
            if let Some(name) = known.iter().find(|k| **k == key) {
                if seen.insert(*name, value.into_owned()).is_some() {
                    return Err(ParamError::Repeated(name));
                }
            }
        }
        Ok(Self(seen))
    }

    fn take(&self, name: &'static str) -> Option<&str> {
        self.0.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }

    /// Free text Tether only passes on: bounded, and no control characters.
    fn optional_text(&self, name: &'static str, max: usize) -> Result<Option<String>, ParamError> {
        match self.take(name) {
            None => Ok(None),
            Some(v) if v.len() <= max && v.chars().all(|c| !c.is_control()) => Ok(Some(v.to_owned())),
            Some(_) => Err(ParamError::Malformed(name)),
        }
    }
}

impl CallbackParams {
    pub fn parse(query: &str, allowed_next: &Url) -> Result<Self, ParamError> {
        let known = Known::of(query, &KNOWN)?;
        let take = |name: &'static str| known.take(name);
        // `next` first: every later error page needs it to offer the way back.
        let next = NextUrl::parse(take("next").ok_or(ParamError::Missing("next"))?, allowed_next)?;
        let optional_text = |name: &'static str, max: usize| known.optional_text(name, max);
        Ok(Self {
            code: AuthCode::parse(take("code").ok_or(ParamError::Missing("code"))?)?,
            configuration_id: ConfigurationId::parse(
                take("configurationId").ok_or(ParamError::Missing("configurationId"))?,
            )?,
            next,
            team_id: take("teamId").map(TeamId::parse).transpose()?,
            source: match take("source") {
                Some("external") => Source::External,
                Some("deploy-button") => Source::DeployButton,
                _ => Source::Marketplace,
            },
            state: optional_text("state", 256)?,
            current_project_id: take("currentProjectId").map(ProjectId::parse).transpose()?,
            external_id: optional_text("external-id", 256)?,
        })
    }

    /// Just `next`, for error pages when the rest failed to parse.
    pub fn next_only(query: &str, allowed_next: &Url) -> Option<NextUrl> {
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == "next")
            .and_then(|(_, v)| NextUrl::parse(&v, allowed_next).ok())
    }
}

/// A resource id Vercel may name (Tether's `nres_…`, or any id in the safe alphabet).
pub fn id_like_resource(id: &str) -> bool {
    id_like(id, "", 128)
}

/// The part of the vendor's pages Vercel's "Open in …" asked for (`path`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SsoPath {
    Billing,
    Usage,
    Onboarding,
    Secrets,
    Support,
}

impl SsoPath {
    pub fn as_str(self) -> &'static str {
        match self {
            SsoPath::Billing => "billing",
            SsoPath::Usage => "usage",
            SsoPath::Onboarding => "onboarding",
            SsoPath::Secrets => "secrets",
            SsoPath::Support => "support",
        }
    }
}

/// What Vercel's single sign-on sends to the Redirect Login URL: `mode=sso`, the single-use
/// `code`, Vercel's `state`, and where the user was. Nothing here is trusted until the code's
/// `id_token` verifies: the installation and the user come from that token, never from here.
#[derive(Debug)]
pub struct SsoParams {
    pub code: AuthCode,
    pub state: Option<String>,
    /// The resource (Tether's `nres_…` id, as Vercel knows it) the user opened.
    pub resource_id: Option<String>,
    pub project_id: Option<ProjectId>,
    pub path: Option<SsoPath>,
    /// A page of this service Vercel was asked to open (an `sso:` link's target).
    pub url: Option<NextUrl>,
}

const SSO_KNOWN: [&str; 7] = ["mode", "code", "state", "resource_id", "project_id", "path", "url"];

impl SsoParams {
    /// `own_origin` is where `url` may lead: this service's site.
    pub fn parse(query: &str, own_origin: &Url) -> Result<Self, ParamError> {
        let known = Known::of(query, &SSO_KNOWN)?;
        if known.take("mode").is_some_and(|mode| mode != "sso") {
            return Err(ParamError::Malformed("mode"));
        }
        let url = match known.take("url") {
            None => None,
            Some(raw) => Some(NextUrl::parse(raw, own_origin).map_err(|error| match error {
                ParamError::ForeignNext => ParamError::ForeignUrl,
                _ => ParamError::Malformed("url"),
            })?),
        };
        let resource_id = match known.take("resource_id") {
            None => None,
            Some(id) if id_like_resource(id) => Some(id.to_owned()),
            Some(_) => return Err(ParamError::Malformed("resource_id")),
        };
        // A part Vercel adds later is no reason to refuse the sign-in: the page opens as usual.
        let path = match known.take("path") {
            Some("billing") => Some(SsoPath::Billing),
            Some("usage") => Some(SsoPath::Usage),
            Some("onboarding") => Some(SsoPath::Onboarding),
            Some("secrets") => Some(SsoPath::Secrets),
            Some("support") => Some(SsoPath::Support),
            _ => None,
        };
        Ok(Self {
            code: AuthCode::parse(known.take("code").ok_or(ParamError::Missing("code"))?)?,
            state: known.optional_text("state", 512)?,
            resource_id,
            project_id: known.take("project_id").map(ProjectId::parse).transpose()?,
            path,
            url,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vercel() -> Url {
        Url::parse("https://vercel.com").unwrap()
    }

    #[test]
    fn next_accepts_vercel_paths() {
        for ok in [
            "https://vercel.com/",
            "https://vercel.com/dashboard/integrations?x=1",
            "https://vercel.com:443/acme/integrations/icfg_1",
            "HTTPS://VERCEL.COM/x",
        ] {
            let next = NextUrl::parse(ok, &vercel()).unwrap_or_else(|e| panic!("{ok}: {e}"));
            assert!(next.as_str().starts_with("https://vercel.com/"), "{ok} -> {}", next.as_str());
        }
    }

    #[test]
    fn next_rejects_open_redirects() {
        let long = format!("https://vercel.com/{}", "a".repeat(4096));
        let attacks = [
            "https://vercel.com.evil.com/",
            "https://vercel.com@evil.com/",
            "https://user:pass@vercel.com/",
            "//evil.com",
            "/\\evil.com",
            "https://vercel.com\\@evil.com",
            "javascript:alert(1)",
            "JAVASCRIPT:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "http://vercel.com/",
            "https://vercel.com:8443/",
            "https://evil.com/https://vercel.com/",
            "https://vercel%2ecom/",
            "https://evil.com%2f@vercel.com",
            "https://vercel.com%2e.evil.com/",
            "https://vercel.com\t.evil.com/",
            "https://vercel.com\n/",
            "https://evil.com\u{3002}vercel.com/",
            "https://evil。com/",
            "https://xn--vercel-com.evil.com/",
            "ftp://vercel.com/",
            "https://localhost/",
            "https://127.0.0.1/",
            "/dashboard",
            "",
            long.as_str(),
        ];
        for attack in attacks {
            assert!(NextUrl::parse(attack, &vercel()).is_err(), "accepted {attack:?}");
        }
    }

    #[test]
    fn next_never_leaves_the_origin_for_arbitrary_input() {
        // A cheap property check: random strings built from URL-significant pieces.
        use rand::{seq::SliceRandom, Rng};
        let pieces = [
            "https://",
            "http://",
            "//",
            "/",
            "\\",
            "@",
            ":",
            "vercel.com",
            "evil.com",
            ".",
            "%2e",
            "%2f",
            "?",
            "#",
            "。",
            "．",
            "xn--",
            "443",
            "user",
            "\u{0}",
            " ",
            "javascript:",
            "[::1]",
            "%40",
        ];
        let mut rng = rand::thread_rng();
        for _ in 0..20_000 {
            let raw: String = (0..rng.gen_range(1..8)).map(|_| *pieces.choose(&mut rng).unwrap()).collect();
            if let Ok(next) = NextUrl::parse(&raw, &vercel()) {
                let url = Url::parse(next.as_str()).unwrap();
                assert_eq!(url.scheme(), "https", "{raw:?}");
                assert_eq!(url.host_str(), Some("vercel.com"), "{raw:?}");
                assert_eq!(url.port_or_known_default(), Some(443), "{raw:?}");
                assert!(url.username().is_empty() && url.password().is_none(), "{raw:?}");
            }
        }
    }

    #[test]
    fn the_callback_parser_takes_arbitrary_bytes_without_panicking() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(32);
        let alphabet: Vec<u8> = b"=&%0123456789abcdefABCDEF_-.~+/:?#\\ \n\0\xff\xc3\xa9"
            .iter()
            .copied()
            .chain(
                b"codeconfigurationIdnextteamIdsourcestatecurrentProjectIdexternal-idicfg_team_prj_https"
                    .iter()
                    .copied(),
            )
            .collect();
        for _ in 0..50_000 {
            let len = rng.gen_range(0..300);
            let bytes: Vec<u8> = (0..len).map(|_| alphabet[rng.gen_range(0..alphabet.len())]).collect();
            let query = String::from_utf8_lossy(&bytes);
            if let Ok(params) = CallbackParams::parse(&query, &vercel()) {
                assert!(params.next.as_str().starts_with("https://vercel.com/"));
            }
            let _ = CallbackParams::next_only(&query, &vercel());
        }
    }

    #[test]
    fn simulator_origin_in_sandbox() {
        let sim = Url::parse("http://127.0.0.1:3100").unwrap();
        assert!(NextUrl::parse("http://127.0.0.1:3100/integrations/x", &sim).is_ok());
        assert!(NextUrl::parse("http://127.0.0.1:3000/", &sim).is_err());
        assert!(NextUrl::parse("https://vercel.com/", &sim).is_err());
    }

    #[test]
    fn callback_parses_a_team_install() {
        let q = "code=abcdefgh1234&configurationId=icfg_abc123&next=https%3A%2F%2Fvercel.com%2Fdone&teamId=team_xyz&source=marketplace";
        let p = CallbackParams::parse(q, &vercel()).unwrap();
        assert_eq!(p.configuration_id.as_str(), "icfg_abc123");
        assert_eq!(p.team_id.unwrap().as_str(), "team_xyz");
        assert_eq!(p.source, Source::Marketplace);
        assert_eq!(p.next.as_str(), "https://vercel.com/done");
    }

    #[test]
    fn callback_rejects_bad_shapes() {
        let next = "next=https%3A%2F%2Fvercel.com%2F";
        let cases = [
            (format!("configurationId=icfg_1&{next}"), ParamError::Missing("code")),
            (format!("code=abcdefgh1&{next}"), ParamError::Missing("configurationId")),
            ("code=abcdefgh1&configurationId=icfg_1".to_string(), ParamError::Missing("next")),
            (format!("code=abc&configurationId=icfg_1&{next}"), ParamError::Malformed("code")),
            (format!("code=abcdefgh1%3Cscript&configurationId=icfg_1&{next}"), ParamError::Malformed("code")),
            (format!("code=abcdefgh1&configurationId=cfg_1&{next}"), ParamError::Malformed("configurationId")),
            (format!("code=abcdefgh1&configurationId=icfg_1&teamId=user_1&{next}"), ParamError::Malformed("teamId")),
            (format!("code=abcdefgh1&code=abcdefgh2&configurationId=icfg_1&{next}"), ParamError::Repeated("code")),
            ("code=abcdefgh1&configurationId=icfg_1&next=https%3A%2F%2Fevil.com".to_string(), ParamError::ForeignNext),
            (
                format!("code=abcdefgh1&configurationId=icfg_1&currentProjectId=..%2F&{next}"),
                ParamError::Malformed("projectId"),
            ),
        ];
        for (query, expected) in cases {
            assert_eq!(CallbackParams::parse(&query, &vercel()).unwrap_err(), expected, "{query}");
        }
    }

    #[test]
    fn unknown_source_and_extra_params_are_tolerated() {
        let q = "code=abcdefgh1&configurationId=icfg_1&next=https%3A%2F%2Fvercel.com%2F&source=future&utm=1";
        assert_eq!(CallbackParams::parse(q, &vercel()).unwrap().source, Source::Marketplace);
    }

    #[test]
    fn project_ids_of_every_documented_shape_are_accepted() {
        for id in ["prj_abc123", "QmXGTs7mvAMMC7WW5ebrM33qKG32QK3h4vmQ", "my-project_2"] {
            assert_eq!(ProjectId::parse(id).unwrap().as_str(), id);
        }
        let too_long = "a".repeat(129);
        for bad in ["", "../x", "a/b", "a?b", "a b", "a%2f", "é", too_long.as_str()] {
            assert!(ProjectId::parse(bad).is_err(), "accepted {bad:?}");
        }
        let q = "code=abcdefgh1&configurationId=icfg_1&next=https%3A%2F%2Fvercel.com%2F&currentProjectId=QmXGTs7mvAMMC7WW5ebrM33qKG32QK3h4vmQ";
        let p = CallbackParams::parse(q, &vercel()).unwrap();
        assert_eq!(p.current_project_id.unwrap().as_str(), "QmXGTs7mvAMMC7WW5ebrM33qKG32QK3h4vmQ");
    }

    #[test]
    fn code_is_kept_only_as_a_digest() {
        let code = AuthCode::parse("abcdefgh1234").unwrap();
        assert_eq!(code.digest().len(), 64);
        assert!(!format!("{code:?}").contains("abcdefgh"));
    }

    #[test]
    fn sso_params_take_vercels_context_and_keep_url_on_this_site() {
        let own = Url::parse("https://tether.example.com").unwrap();
        let q = "mode=sso&code=sso_abcdefgh&state=st_1&resource_id=nres_1&project_id=prj_1&path=secrets\
                 &url=https%3A%2F%2Ftether.example.com%2Fnative%2Ficfg_1&experimentation_item_id=x";
        let p = SsoParams::parse(q, &own).unwrap();
        assert_eq!(p.code.expose(), "sso_abcdefgh");
        assert_eq!((p.state.as_deref(), p.resource_id.as_deref()), (Some("st_1"), Some("nres_1")));
        assert_eq!(p.path, Some(SsoPath::Secrets));
        assert_eq!(p.url.unwrap().as_str(), "https://tether.example.com/native/icfg_1");
        // A part Vercel adds later opens the page as usual.
        assert_eq!(SsoParams::parse("code=sso_abcdefgh&path=insights", &own).unwrap().path, None);
        for (query, error) in [
            ("mode=sso", ParamError::Missing("code")),
            ("mode=login&code=sso_abcdefgh", ParamError::Malformed("mode")),
            ("code=sso_abcdefgh&url=https%3A%2F%2Fevil.example%2F", ParamError::ForeignUrl),
            ("code=sso_abcdefgh&url=https%3A%2F%2Ftether.example.com.evil.example%2F", ParamError::ForeignUrl),
            ("code=sso_abcdefgh&url=javascript%3Aalert(1)", ParamError::ForeignUrl),
            ("code=sso_abcdefgh&resource_id=..%2Fx", ParamError::Malformed("resource_id")),
            ("code=sso_abcdefgh&code=sso_other123", ParamError::Repeated("code")),
        ] {
            assert_eq!(SsoParams::parse(query, &own).unwrap_err(), error, "{query}");
        }
    }
}
