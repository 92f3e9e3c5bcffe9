//! Every word the user reads about what went wrong, in one file. Every way a page of the popup
//! or the Configure page can fail, each with its own page: what happened, what to do, and the
//! ways on (back to Vercel's `next` whenever it is known), so the gallery (`/sandbox/failures`,
//! sandbox mode only) can render each of them and a test can hold every one to the same rules.
//! Then how each cause (Vercel, the vendor, the store) becomes an [`AppError`] the user can act
//! on, and what the service layer says of each project ([`say`]).

use app::{
    model::{Action, ErrorView},
    pages::Page,
    AppError,
};
use axum::http::StatusCode;

use super::action;
use crate::{provider::ProviderError, seal::SealError, store::StoreError, vercel::VercelError};

/// A failure, with what its page needs to say.
#[derive(Debug, Clone)]
pub enum Failure {
    /// The callback's address is incomplete or altered.
    InvalidLink {
        detail: String,
    },
    /// An external-flow callback without this browser's state, or with another's.
    StateMismatch {
        detail: String,
    },
    /// Vercel no longer exchanges the code: too old, or spent elsewhere.
    CodeExpired,
    /// Tether saw this code already; the browser that used it may continue.
    CodeUsed {
        continue_to: Option<String>,
    },
    /// Vercel refused the redirect_uri: the operator must fix the integration's settings.
    RedirectMismatch {
        sent: String,
    },
    /// Vercel refused the client id or secret.
    InvalidClient,
    /// The query and Vercel's token answer name different installations or scopes.
    IdentityMismatch,
    /// Vercel would not confirm that the installation the link names is the one its code was
    /// for: the link carries someone else's installation.
    InstallationUnproven,
    /// Vercel did not answer, or answered with a server error. During the code exchange the
    /// code may be spent, so the only way on is a new install.
    VercelUnreachable {
        during_exchange: bool,
    },
    /// Vercel asked Tether to wait (a rate limit), longer than a request may.
    RateLimited {
        wait_secs: u64,
    },
    /// Vercel refused, with words that say how to fix it (a missing scope, a disabled
    /// installation).
    VercelRefused {
        message: String,
    },
    /// Vercel disabled the installation: its installer left the team.
    Disabled,
    /// Vercel reported the installation uninstalled.
    Removed,
    /// Unknown installation, or one this browser has no session for.
    NotYours {
        configure: bool,
    },
    /// The vendor's system did not answer.
    VendorDown {
        vendor: String,
    },
    /// The vendor's system refused Tether's signature: the operator must fix the shared secret.
    VendorMisconfigured {
        vendor: String,
        reference: String,
    },
    /// The vendor's system said no, in its own words.
    VendorRefused {
        vendor: String,
        message: String,
    },
    /// A request Tether cannot read.
    BadRequest {
        message: String,
    },
    /// The vendor's sign-in (account linking) could not be used.
    SignInFailed {
        why: String,
        again: Option<String>,
    },
    /// Single sign-on from Vercel did not sign the user in.
    Sso(SsoRefusal),
    /// A Vercel user whose role in the team is read-only (`USER`) tried to change something.
    ReadOnlyRole,
    /// A native installation's page, in a browser not signed in for it: Vercel signs the user
    /// in (provider-initiated single sign-on, at `link`) and brings them back.
    SignInThroughVercel {
        link: String,
    },
    /// Tether's own database did not answer.
    StoreDown,
    NotFound,
    Internal,
}

/// Why single sign-on from Vercel's "Open in …" signed nobody in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SsoRefusal {
    /// Vercel would not exchange the code: expired, used already, or another integration's.
    CodeRefused,
    /// Vercel did not answer the exchange, or answered with an error.
    Unanswered,
    /// Vercel's `id_token` did not verify (signature, issuer, audience, expiry, type), or named
    /// no user or installation.
    Unverified,
    /// The installation the token names is not a live native installation here.
    NotInstalled,
    /// The link asked for a page off the vendor's site.
    ForeignUrl,
}

/// Where a failure page's buttons may lead.
pub struct Ways<'a> {
    /// Vercel's `next` for this popup, when it is known.
    pub next: Option<&'a str>,
    /// Vercel's dashboard, the way back when `next` is not known.
    pub dashboard: &'a str,
    /// Where "Try again" goes, for failures that a retry may cure.
    pub retry: Option<String>,
}

impl Failure {
    /// The page's name, in its `data-failure` attribute and the gallery's addresses.
    pub fn kind(&self) -> &'static str {
        match self {
            Failure::InvalidLink { .. } => "invalid-link",
            Failure::StateMismatch { .. } => "state-mismatch",
            Failure::CodeExpired => "code-expired",
            Failure::CodeUsed { .. } => "code-used",
            Failure::RedirectMismatch { .. } => "redirect-mismatch",
            Failure::InvalidClient => "invalid-client",
            Failure::IdentityMismatch => "identity-mismatch",
            Failure::InstallationUnproven => "installation-unproven",
            Failure::VercelUnreachable { .. } => "vercel-unreachable",
            Failure::RateLimited { .. } => "rate-limited",
            Failure::VercelRefused { .. } => "vercel-refused",
            Failure::Disabled => "disabled",
            Failure::Removed => "removed",
            Failure::NotYours { .. } => "not-yours",
            Failure::VendorDown { .. } => "vendor-down",
            Failure::VendorMisconfigured { .. } => "vendor-misconfigured",
            Failure::VendorRefused { .. } => "vendor-refused",
            Failure::BadRequest { .. } => "bad-request",
            Failure::SignInFailed { .. } => "sign-in-failed",
            Failure::Sso(SsoRefusal::CodeRefused) => "sso-code-refused",
            Failure::Sso(SsoRefusal::Unanswered) => "sso-unanswered",
            Failure::Sso(SsoRefusal::Unverified) => "sso-unverified",
            Failure::Sso(SsoRefusal::NotInstalled) => "sso-not-installed",
            Failure::Sso(SsoRefusal::ForeignUrl) => "sso-foreign-url",
            Failure::ReadOnlyRole => "read-only-role",
            Failure::SignInThroughVercel { .. } => "sso-sign-in",
            Failure::StoreDown => "store-down",
            Failure::NotFound => "not-found",
            Failure::Internal => "internal",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Failure::InvalidLink { .. }
            | Failure::StateMismatch { .. }
            | Failure::CodeExpired
            | Failure::IdentityMismatch
            | Failure::BadRequest { .. }
            | Failure::SignInFailed { .. }
            | Failure::Sso(SsoRefusal::CodeRefused | SsoRefusal::ForeignUrl) => StatusCode::BAD_REQUEST,
            Failure::Sso(SsoRefusal::Unanswered) => StatusCode::BAD_GATEWAY,
            Failure::Sso(SsoRefusal::Unverified) | Failure::ReadOnlyRole | Failure::SignInThroughVercel { .. } => {
                StatusCode::FORBIDDEN
            }
            Failure::Sso(SsoRefusal::NotInstalled) => StatusCode::NOT_FOUND,
            Failure::CodeUsed { .. } => StatusCode::CONFLICT,
            Failure::RedirectMismatch { .. }
            | Failure::InvalidClient
            | Failure::VercelUnreachable { .. }
            | Failure::VercelRefused { .. } => StatusCode::BAD_GATEWAY,
            Failure::InstallationUnproven | Failure::Disabled => StatusCode::FORBIDDEN,
            Failure::RateLimited { .. }
            | Failure::VendorDown { .. }
            | Failure::VendorMisconfigured { .. }
            | Failure::StoreDown => StatusCode::SERVICE_UNAVAILABLE,
            Failure::Removed => StatusCode::GONE,
            Failure::NotYours { .. } | Failure::NotFound => StatusCode::NOT_FOUND,
            Failure::VendorRefused { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Failure::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The title, what happened, and what to do.
    fn words(&self) -> (String, String, String) {
        let (title, happened, todo): (&str, String, String) = match self {
            Failure::InvalidLink { detail } => (
                "This link is not valid",
                format!("The address Vercel opened is incomplete or altered: {detail}."),
                "Start the installation again from Vercel.".into(),
            ),
            Failure::StateMismatch { detail } => (
                "This installation link is not valid here",
                format!("Tether refused it because {detail}. Nothing was sent to Vercel."),
                "Start again: an installation must finish in the browser that started it.".into(),
            ),
            Failure::CodeExpired => (
                "This installation link has expired",
                "Vercel no longer accepts this link's code: it is over 30 minutes old, or it was used already.".into(),
                "Return to Vercel and install again: Vercel makes a new link each time.".into(),
            ),
            Failure::CodeUsed { continue_to } => (
                "This link was already used",
                "Each installation link from Vercel works once, and this one has been used.".into(),
                if continue_to.is_some() {
                    "Continue where you were, or return to Vercel.".into()
                } else {
                    "Return to Vercel and open the integration again.".into()
                },
            ),
            Failure::RedirectMismatch { sent } => (
                "The integration's Redirect URL does not match",
                "Vercel refused the installation because the Redirect URL registered for the integration is not \
                 this server's."
                    .into(),
                format!(
                    "The integration's owner must set the Redirect URL in Vercel's Integration Console to exactly \
                     {sent} (or set TETHER_PUBLIC_URL to the address registered there). Then install again."
                ),
            ),
            Failure::InvalidClient => (
                "The integration is misconfigured",
                "Vercel did not accept this integration's credentials, so nothing was saved.".into(),
                "The integration's owner has been told in the server's log. Return to Vercel and try again later."
                    .into(),
            ),
            Failure::IdentityMismatch => (
                "This installation link does not match",
                "The link's details disagree with what Vercel confirmed, so nothing was saved.".into(),
                "Return to Vercel and install again.".into(),
            ),
            Failure::InstallationUnproven => (
                "This link is not for this installation",
                "Vercel did not confirm that the installation named in this link is the one its code was issued \
                 for, so Tether saved nothing, changed nothing and did not sign you in."
                    .into(),
                "Open the integration again from your own Vercel dashboard.".into(),
            ),
            Failure::VercelUnreachable { during_exchange: true } => (
                "Vercel did not confirm the installation",
                "Tether could not exchange the link's code with Vercel: Vercel did not answer, or answered with an \
                 error."
                    .into(),
                "A code can only be tried once, so return to Vercel and install again.".into(),
            ),
            Failure::VercelUnreachable { during_exchange: false } => (
                "Vercel is not answering",
                "Tether could not reach Vercel, or Vercel answered with an error. Nothing was changed.".into(),
                "Try again in a moment.".into(),
            ),
            Failure::RateLimited { wait_secs } => (
                "Vercel needs a moment",
                format!(
                    "Vercel is limiting how fast this integration may call it, or answering slowly: Tether should \
                     wait about {wait_secs} s before going on. Nothing failed and nothing was lost."
                ),
                "Try again in a moment.".into(),
            ),
            Failure::VercelRefused { message } => (
                "Vercel refused the request",
                format!("Vercel said: {message}"),
                "Once that is fixed, try again.".into(),
            ),
            Failure::Disabled => (
                "This installation is disabled at Vercel",
                "Vercel disables an installation when the team member who installed it leaves the team. Nothing \
                 was changed: the variables Tether wrote stay in their projects and keep working, but Tether can \
                 change nothing until the installation is enabled again."
                    .into(),
                "A team owner can enable it: in Vercel, open the team's Settings, then Integrations, and transfer \
                 this integration to a current member. Vercel removes a disabled installation after 30 days."
                    .into(),
            ),
            Failure::Removed => (
                "This installation was removed",
                "The integration was uninstalled from Vercel. Tether destroyed its token and no longer changes \
                 anything in these projects."
                    .into(),
                "To use it again, install the integration from Vercel.".into(),
            ),
            Failure::NotYours { configure: true } => (
                "Sign in to configure this installation",
                "This installation was not found, or this browser is not signed in for it.".into(),
                "Sign in through Vercel to prove it is yours.".into(),
            ),
            Failure::NotYours { configure: false } => (
                "Installation not found",
                "This installation was not found, or this browser did not start it.".into(),
                "Open the integration again from Vercel.".into(),
            ),
            Failure::VendorDown { vendor } => (
                "The service is not answering",
                format!("{vendor} did not answer in time, so nothing was created or written to any project."),
                "Your choices are kept: try again in a moment.".into(),
            ),
            Failure::VendorMisconfigured { vendor, reference } => (
                "The service is misconfigured",
                format!(
                    "{vendor} did not accept this server's credentials, so nothing was created or written to any \
                     project (reference {reference})."
                ),
                "Its operator has been told in the server's log. Try again later, or give them the reference.".into(),
            ),
            Failure::VendorRefused { vendor, message } => (
                "The service said no",
                format!("{vendor} refused: {message}"),
                "Change your choice, or contact the service, then try again.".into(),
            ),
            Failure::BadRequest { message } => {
                ("This request is not valid", message.clone(), "Go back to the page and try again.".into())
            }
            Failure::SignInFailed { why, .. } => (
                "The sign-in did not work",
                format!("The sign-in could not be used: {why}. Nothing was changed."),
                "Sign in again, or return to Vercel.".into(),
            ),
            Failure::Sso(SsoRefusal::CodeRefused) => (
                "This sign-in link has expired",
                "Vercel did not accept this link's code: it is a few minutes old, it was used already, or it was \
                 made for another integration. You are not signed in, and nothing was changed."
                    .into(),
                "Open it again from Vercel: each \"Open in\" makes a new link.".into(),
            ),
            Failure::Sso(SsoRefusal::Unanswered) => (
                "Vercel did not confirm the sign-in",
                "Tether could not exchange this link's code with Vercel: Vercel did not answer, or answered with an \
                 error. You are not signed in, and nothing was changed."
                    .into(),
                "A code can only be tried once, so open it again from Vercel.".into(),
            ),
            Failure::Sso(SsoRefusal::Unverified) => (
                "The sign-in could not be verified",
                "The identity Vercel's sign-in answered was not signed by Vercel for this integration, or it has \
                 expired, so Tether did not sign you in."
                    .into(),
                "Open it again from Vercel. If it happens again, the integration's owner has been told in the \
                 server's log."
                    .into(),
            ),
            Failure::Sso(SsoRefusal::NotInstalled) => (
                "This integration is not installed here",
                "Vercel signed you in for an installation this server does not have, or one that was removed. \
                 Nothing was changed."
                    .into(),
                "Install the integration from Vercel's Marketplace, then open it again.".into(),
            ),
            Failure::Sso(SsoRefusal::ForeignUrl) => (
                "This link leads somewhere else",
                "The page this sign-in link asked for is not on this service's site, so Tether did not follow it and \
                 did not sign you in."
                    .into(),
                "Open it again from Vercel.".into(),
            ),
            Failure::ReadOnlyRole => (
                "Only the team's admins can change this",
                "Your role in the Vercel team lets you see this installation, not change it. Nothing was changed."
                    .into(),
                "Ask an admin of the team, or return to Vercel.".into(),
            ),
            Failure::SignInThroughVercel { .. } => (
                "Sign in through Vercel",
                "This page shows an installation to the members of the Vercel team that installed it, and this \
                 browser is not signed in for it."
                    .into(),
                "Sign in through Vercel: it checks that you may use this installation, then brings you back here."
                    .into(),
            ),
            Failure::StoreDown => (
                "Please try again",
                "Tether could not read or save this installation: its database did not answer. Nothing was decided."
                    .into(),
                "Try again in a moment.".into(),
            ),
            Failure::NotFound => (
                "Page not found",
                "There is nothing at this address.".into(),
                "Go to the start page, or return to Vercel.".into(),
            ),
            Failure::Internal => (
                "Something went wrong",
                "Tether hit an error it did not expect; the details are in its log. Nothing was lost.".into(),
                "Try again.".into(),
            ),
        };
        (title.to_owned(), happened, todo)
    }

    /// The ways on: this failure's own, then the way back to Vercel.
    fn actions(&self, ways: &Ways<'_>) -> Vec<Action> {
        let retry = ways.retry.clone().map(|href| action("Try again", href));
        let mut actions: Vec<Action> = match self {
            Failure::StateMismatch { .. } => vec![action("Start again", "/install/start")],
            Failure::CodeUsed { continue_to } => {
                continue_to.iter().map(|to| action("Continue the installation", to.clone())).collect()
            }
            Failure::NotYours { configure: true } => {
                vec![action("Sign in with Vercel", "/install/start?then=configure")]
            }
            Failure::SignInFailed { again, .. } => again.iter().map(|to| action("Sign in again", to.clone())).collect(),
            Failure::SignInThroughVercel { link } => vec![action("Sign in through Vercel", link.clone())],
            Failure::NotFound => vec![action("Go to the start page", "/")],
            // The one thing that may change it is an owner's transfer: looking again is safe.
            Failure::Disabled => ways.retry.clone().map(|href| action("Check again", href)).into_iter().collect(),
            Failure::VercelUnreachable { during_exchange: false }
            | Failure::RateLimited { .. }
            | Failure::VercelRefused { .. }
            | Failure::VendorDown { .. }
            | Failure::VendorMisconfigured { .. }
            | Failure::VendorRefused { .. }
            | Failure::BadRequest { .. }
            | Failure::StoreDown
            | Failure::Internal => retry.into_iter().collect(),
            _ => vec![],
        };
        actions.push(action("Return to Vercel", ways.next.unwrap_or(ways.dashboard)));
        actions
    }

    pub fn page(&self, ways: &Ways<'_>) -> Page {
        let (title, message, advice) = self.words();
        Page::Error(ErrorView {
            kind: self.kind().to_owned(),
            status: self.status().as_u16(),
            title,
            message,
            advice,
            actions: self.actions(ways),
        })
    }

    /// The page for an error an operation returned.
    pub fn from_app_error(error: AppError, vendor: &str) -> Self {
        match error {
            AppError::NotYours => Failure::NotYours { configure: false },
            AppError::BadRequest(message) | AppError::Clash(message) => Failure::BadRequest { message },
            AppError::Vercel(message) => Failure::VercelRefused { message },
            AppError::Disabled => Failure::Disabled,
            AppError::VercelUnavailable(_) => Failure::VercelUnreachable { during_exchange: false },
            AppError::Busy { retry_after_secs, .. } => Failure::RateLimited { wait_secs: retry_after_secs },
            AppError::Vendor(message) => Failure::VendorRefused { vendor: vendor.to_owned(), message },
            AppError::VendorUnavailable(_) => Failure::VendorDown { vendor: vendor.to_owned() },
            AppError::VendorMisconfigured { reference } => {
                Failure::VendorMisconfigured { vendor: vendor.to_owned(), reference }
            }
            AppError::Internal => Failure::Internal,
        }
    }

    /// One of each, with sample details, for the gallery and its tests.
    pub fn samples(vendor: &str) -> Vec<Failure> {
        vec![
            Failure::InvalidLink { detail: "`code` is missing".into() },
            Failure::StateMismatch { detail: "this browser has no state for it".into() },
            Failure::CodeExpired,
            Failure::CodeUsed { continue_to: Some("/install/icfg_gallery".into()) },
            Failure::RedirectMismatch { sent: "https://tether.example.com/callback".into() },
            Failure::InvalidClient,
            Failure::IdentityMismatch,
            Failure::InstallationUnproven,
            Failure::VercelUnreachable { during_exchange: true },
            Failure::VercelUnreachable { during_exchange: false },
            Failure::RateLimited { wait_secs: 20 },
            Failure::VercelRefused {
                message: "the integration lacks the `read:project` scope: its owner must add it in Vercel's \
                          Integration Console"
                    .into(),
            },
            Failure::Disabled,
            Failure::Removed,
            Failure::NotYours { configure: true },
            Failure::NotYours { configure: false },
            Failure::VendorDown { vendor: vendor.to_owned() },
            Failure::VendorMisconfigured { vendor: vendor.to_owned(), reference: "ref-3f9a0c17".into() },
            Failure::VendorRefused {
                vendor: vendor.to_owned(),
                message: "Your plan allows 1 database; upgrade to add more.".into(),
            },
            Failure::BadRequest { message: "Invalid request: a choice names no project.".into() },
            Failure::SignInFailed {
                why: "this sign-in was used already".into(),
                again: Some("/install/icfg_gallery/account".into()),
            },
            Failure::Sso(SsoRefusal::CodeRefused),
            Failure::Sso(SsoRefusal::Unanswered),
            Failure::Sso(SsoRefusal::Unverified),
            Failure::Sso(SsoRefusal::NotInstalled),
            Failure::Sso(SsoRefusal::ForeignUrl),
            Failure::ReadOnlyRole,
            Failure::SignInThroughVercel { link: "https://vercel.com/sso/integrations/acme-db/icfg_gallery".into() },
            Failure::StoreDown,
            Failure::NotFound,
            Failure::Internal,
        ]
    }

    /// The gallery's name for a sample: its kind, told apart where one kind has two pages.
    pub fn sample_name(&self) -> String {
        match self {
            Failure::VercelUnreachable { during_exchange: true } => "vercel-unreachable-exchange".into(),
            Failure::NotYours { configure: true } => "not-yours-configure".into(),
            other => other.kind().into(),
        }
    }
}

/// What the service layer says to the user beside the failure pages: refusals of a request and
/// each project's outcome.
pub mod say {
    pub const UNKNOWN_PROJECT: &str = "Unknown project.";
    pub const UNKNOWN_CHOICE: &str = "Unknown choice.";
    pub const UNKNOWN_CLASH_ANSWER: &str = "Unknown answer to a clash.";
    pub const UNKNOWN_RESOURCE: &str = "That resource does not exist for this account.";
    /// What an interrupted link says on the Configure and install pages.
    pub const INTERRUPTED: &str = "Interrupted while its variables were being written. Connect it again to finish, \
                                   or disconnect to remove what was written.";

    pub fn sign_in_first(vendor: &str) -> String {
        format!("Sign in to {vendor} first, from the install page.")
    }

    pub fn already_connected(resource: &str) -> String {
        format!("Already connected ({resource})")
    }

    /// Connected; with the variables made outside Tether that the user chose to keep.
    pub fn connected(resource: &str, kept: &[String]) -> String {
        match kept {
            [] => format!("Connected to {resource}"),
            kept => format!("Connected to {resource}; kept your {}", kept.join(", ")),
        }
    }

    /// Vercel refused some of the variables, each with its reason.
    pub fn vercel_refused(reasons: &[String]) -> String {
        format!("Vercel refused {}", reasons.join("; "))
    }
}

/// The cause is logged in full; the browser gets only the generic message.
pub fn internal(error: impl std::fmt::Display) -> AppError {
    tracing::error!(%error, "internal error");
    AppError::Internal
}

impl From<StoreError> for AppError {
    fn from(error: StoreError) -> Self {
        internal(error)
    }
}

impl From<SealError> for AppError {
    fn from(error: SealError) -> Self {
        tracing::error!(%error, "a stored secret does not open");
        AppError::Internal
    }
}

impl From<ProviderError> for AppError {
    fn from(error: ProviderError) -> Self {
        match error {
            ProviderError::UnknownResource(_) => AppError::BadRequest(say::UNKNOWN_RESOURCE.into()),
            ProviderError::Refused { message, .. } => AppError::Vendor(message),
            ProviderError::Unavailable(_) => {
                tracing::warn!(%error, "the vendor's system is unavailable");
                AppError::VendorUnavailable(
                    "The service did not answer in time, so nothing was written to this project. Your choices are \
                     kept: try again in a moment."
                        .into(),
                )
            }
            ProviderError::SignatureRefused { status, ref said } => {
                let reference = format!("ref-{:08x}", rand::random::<u32>());
                tracing::warn!(
                    reference,
                    vendor_status = status,
                    vendor_said = %said,
                    "the vendor refused Tether's signature: TETHER_PROVIDER_SECRETS and the vendor's secret (or \
                     the two clocks) disagree; nothing was written"
                );
                crate::telemetry::provider_misconfigured();
                AppError::VendorMisconfigured { reference }
            }
            ProviderError::Failed(_) => internal(error),
        }
    }
}

impl From<VercelError> for AppError {
    fn from(error: VercelError) -> Self {
        use VercelError as E;
        tracing::warn!(%error, "Vercel call failed");
        match error {
            E::Disabled => AppError::Disabled,
            E::Unauthorized => AppError::Vercel(
                "Vercel no longer accepts this installation's access. Reinstall the integration from Vercel.".into(),
            ),
            E::MissingScope(scope) => AppError::Vercel(scope.fix()),
            E::RateLimited => AppError::Busy {
                message: "Vercel is rate limiting requests right now. Wait a minute and try again.".into(),
                retry_after_secs: 60,
            },
            E::Busy { retry_after } => AppError::Busy {
                message: format!(
                    "Vercel asked Tether to wait about {} s before going on. Nothing was lost: try again in a moment.",
                    retry_after.as_secs().max(1)
                ),
                retry_after_secs: retry_after.as_secs().max(1),
            },
            E::Api { status: 404, .. } => {
                AppError::Vercel("this installation cannot see that project any more.".into())
            }
            E::Pagination { endpoint } => AppError::Vercel(format!(
                "{endpoint} kept answering with pages Tether had already seen, so the project list cannot be read. \
                 Try again later."
            )),
            E::Unreachable(_) | E::Api { status: 500.., .. } | E::TooLarge | E::Decode(_) | E::Redirected(_) => {
                AppError::VercelUnavailable("Vercel did not answer as expected. Try again in a moment.".into())
            }
            _ => AppError::Vercel("Vercel did not answer as expected. Try again in a moment.".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every page says what happened and what to do, and leads back to Vercel's `next`.
    #[test]
    fn every_failure_has_its_own_page_with_a_way_back_to_next() {
        let samples = Failure::samples("Acme DB");
        let ways = Ways { next: Some("https://vercel.com/next"), dashboard: "https://vercel.com", retry: None };
        let mut titles = std::collections::HashSet::new();
        let mut names = std::collections::HashSet::new();
        for failure in &samples {
            assert!(names.insert(failure.sample_name()), "{} twice", failure.sample_name());
            let Page::Error(view) = failure.page(&ways) else { panic!("an error page") };
            assert!(titles.insert(view.title.clone()), "`{}` is shared: each failure has its own page", view.title);
            assert!(!view.message.is_empty() && !view.advice.is_empty(), "{}", view.kind);
            assert_eq!(view.actions.last().unwrap().href, "https://vercel.com/next", "{}", view.kind);
            assert!(view.status >= 400, "{}", view.kind);
        }
        // The kinds the issue names are all there.
        for kind in [
            "code-expired",
            "code-used",
            "state-mismatch",
            "vercel-unreachable",
            "rate-limited",
            "removed",
            "vendor-down",
        ] {
            assert!(samples.iter().any(|f| f.kind() == kind), "{kind}");
        }
    }

    /// "ACME_URL already exists", "ACME_URL, ACME_API_KEY already exist".
    #[test]
    fn a_clash_agrees_with_how_many_keys_it_names() {
        let one = AppError::Clash("ACME_URL".into()).to_string();
        assert!(one.starts_with("ACME_URL already exists in this project") && one.contains("replace it,"), "{one}");
        let two = AppError::Clash("ACME_URL, ACME_API_KEY".into()).to_string();
        assert!(two.starts_with("ACME_URL, ACME_API_KEY already exist in this project"), "{two}");
        assert!(two.contains("replace them,"), "{two}");
    }

    #[test]
    fn without_next_the_way_back_is_the_dashboard_and_a_retry_is_offered_where_it_may_help() {
        let ways = Ways { next: None, dashboard: "https://vercel.com/", retry: Some("/install/icfg_1".into()) };
        let Page::Error(view) = Failure::VendorDown { vendor: "Acme DB".into() }.page(&ways) else { panic!() };
        let labels: Vec<_> = view.actions.iter().map(|a| (a.label.as_str(), a.href.as_str())).collect();
        assert_eq!(labels, [("Try again", "/install/icfg_1"), ("Return to Vercel", "https://vercel.com/")]);
        let Page::Error(view) = Failure::CodeExpired.page(&ways) else { panic!() };
        assert_eq!(view.actions.len(), 1, "a spent code is not retried");
    }
}
