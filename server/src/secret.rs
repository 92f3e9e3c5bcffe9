//! Secrets as types that neither print nor serialize: a `{:?}` shows `[redacted]`.

use secrecy::{ExposeSecret, SecretString};

macro_rules! secret_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name(SecretString);

        impl $name {
            pub fn new(value: impl Into<String>) -> Self {
                Self(SecretString::from(value.into()))
            }

            pub fn expose(&self) -> &str {
                self.0.expose_secret()
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!(stringify!($name), "([redacted])"))
            }
        }
    };
}

secret_type!(
    /// A Vercel access token for one installation.
    AccessToken
);
secret_type!(
    /// The integration's OAuth client secret (also the webhook signing key).
    ClientSecret
);
secret_type!(
    /// Vercel's SSO `id_token`: it signs a user in, so it is verified and dropped, never kept
    /// or printed.
    IdToken
);
secret_type!(
    /// A credential of a vendor resource, written to Vercel as a sensitive env var.
    ApiKey
);
secret_type!(
    /// The bearer token that opens `/metrics` and the operator's endpoints.
    OperatorToken
);
secret_type!(
    /// The database URL: a PostgreSQL URL may carry the role's password.
    DatabaseUrl
);
