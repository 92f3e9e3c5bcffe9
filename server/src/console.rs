//! `server check-config`: what to enter in Vercel's Integration Console for these settings, and
//! where the console's values go in Tether's environment. Loading the settings already checked
//! them; this page only reads them out.

use std::fmt::Write;

use crate::{settings::Settings, vercel::scopes};

/// The URLs Vercel must know, all derived from the public URL.
pub struct ConsoleUrls {
    pub redirect: String,
    pub configuration: String,
    pub webhook: String,
}

impl ConsoleUrls {
    pub fn of(settings: &Settings) -> Self {
        let base = settings.public_url.as_str().trim_end_matches('/');
        Self {
            redirect: settings.redirect_url(),
            configuration: format!("{base}/configure"),
            webhook: format!("{base}/webhooks/vercel"),
        }
    }
}

pub fn report(settings: &Settings) -> String {
    let urls = ConsoleUrls::of(settings);
    let mut out = String::new();
    let mode = if settings.sandbox { "sandbox (the simulator plays Vercel)" } else { "production" };
    let _ = writeln!(out, "Tether settings are valid. Mode: {mode}.");
    let _ = writeln!(out, "\nSettings given (the rest keep the defaults `server --help` shows):");
    for given in &settings.given {
        let _ = writeln!(out, "  {:<38} {}  (from the {})", given.env, given.shown, given.origin.as_str());
    }
    let _ = writeln!(out, "\nIn Vercel's Integration Console, enter:");
    let _ = writeln!(out, "  Redirect URL        {}", urls.redirect);
    let _ = writeln!(out, "  Configuration URL   {}", urls.configuration);
    let _ = writeln!(out, "  Webhook URL         {}", urls.webhook);
    let _ = writeln!(out, "  API Scopes:");
    for scope in scopes::REQUIRED {
        let _ = writeln!(out, "    {:<27} {:<10} {}", scope.id, access(scope), scope.why);
    }
    let _ = writeln!(out, "\nFrom the console into Tether's environment:");
    let _ =
        writeln!(out, "  Client ID      -> TETHER_VERCEL_CLIENT_ID (now: {})", or_unset(&settings.vercel.client_id));
    let _ = writeln!(out, "  Client Secret  -> TETHER_VERCEL_CLIENT_SECRET (also verifies webhook signatures)");
    let _ = writeln!(
        out,
        "  Old secret     -> TETHER_VERCEL_CLIENT_SECRET_PREVIOUS, only while Vercel rotates it: non-empty, never \
         the simulator's, refused in sandbox mode (now: {})",
        if settings.vercel.webhook_secrets.len() > 1 { "set, webhooks signed with it verify" } else { "unset" }
    );
    let _ = writeln!(out, "  URL Slug       -> TETHER_INTEGRATION_SLUG (now: {})", settings.vercel.integration_slug);
    // Native integrations: Vercel calls the Partner API at the Base URL with its signed tokens.
    let _ = writeln!(out, "\nFor a native integration (Vercel's Marketplace), in the console:");
    let origin = settings.public_url.as_str().trim_end_matches('/');
    let _ = writeln!(out, "  Base URL            {origin}");
    let _ = writeln!(out, "  Redirect Login URL  {origin}{}", crate::native::sso::LOGIN_PATH);
    for product in &settings.products {
        let plans: Vec<&str> = product.plans.iter().map(|p| p.id.as_str()).collect();
        let _ = writeln!(out, "  Product             {} ({}; plans: {})", product.slug, product.name, plans.join(", "));
    }
    let _ = writeln!(
        out,
        "  (tokens are taken from {})",
        settings.vercel.marketplace_issuer.as_str().trim_end_matches('/')
    );
    if settings.provider.kind == crate::settings::ProviderKind::Builtin {
        // What the listing's Instructions must name, with what each is for.
        let _ = writeln!(out, "\nVariables written into each connected project (for the listing's Instructions):");
        for template in &settings.provider.env {
            let _ = writeln!(out, "  {:<24} {}", template.key, template.comment_or_default(&settings.provider.name));
        }
    } else {
        let _ = writeln!(
            out,
            "\nVariables written into each connected project: the ones your system answers to resources.env, \
             each with its comment."
        );
    }
    if settings.sandbox {
        let _ = writeln!(
            out,
            "\nSandbox mode: Tether talks to the simulator at {}. Set TETHER_VERCEL_CLIENT_SECRET, \
             TETHER_VERCEL_CLIENT_ID and TETHER_SEAL_KEYS to talk to Vercel.",
            settings.vercel.api_url
        );
    }
    out
}

fn access(scope: &scopes::Scope) -> &'static str {
    match scope.access {
        scopes::Access::Read => "Read",
        scopes::Access::ReadWrite => "Read/Write",
    }
}

fn or_unset(value: &str) -> &str {
    if value.is_empty() {
        "unset"
    } else {
        value
    }
}
