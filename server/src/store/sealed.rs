//! Every sealed value at rest (installation tokens, resource API keys), for the start-up report
//! of values under keys no longer configured, and for `server rewrap`.

use std::collections::BTreeMap;

use super::{
    installations::token_binding,
    resources::{api_key_binding, pending_key_binding},
    Store, StoreError,
};
use crate::seal::Sealer;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealedKind {
    Token,
    ApiKey,
    /// A rotation's new API key, not yet the current one.
    PendingKey,
}

pub struct SealedRow {
    pub kind: SealedKind,
    pub id: String,
    pub sealed: Vec<u8>,
}

impl SealedRow {
    /// The associated data it was sealed with.
    pub fn binding(&self) -> String {
        match self.kind {
            SealedKind::Token => token_binding(&self.id),
            SealedKind::ApiKey => api_key_binding(&self.id),
            SealedKind::PendingKey => pending_key_binding(&self.id),
        }
    }
}

/// How the sealed values stand against the configured keys.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyReport {
    pub rows: usize,
    /// Under the newest key: nothing to rewrap.
    pub current: usize,
    /// Per key id that is not configured: these values cannot be opened until it is.
    pub missing: BTreeMap<String, usize>,
}

impl KeyReport {
    pub fn missing_rows(&self) -> usize {
        self.missing.values().sum()
    }
}

/// What `rewrap` did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RewrapOutcome {
    pub rewrapped: usize,
    pub already_current: usize,
    /// Values that did not open (missing key, or tampered): left as they are.
    pub failed: usize,
}

impl Store {
    /// Every sealed value; a removed installation's destroyed token (empty) is not one.
    pub async fn sealed_rows(&self) -> Result<Vec<SealedRow>, StoreError> {
        let tokens: Vec<(String, Vec<u8>)> =
            sqlx::query_as("SELECT configuration_id, sealed_token FROM installations WHERE length(sealed_token) > 0")
                .fetch_all(&self.pool)
                .await?;
        let keys: Vec<(String, Vec<u8>)> =
            sqlx::query_as("SELECT id, sealed_api_key FROM resources").fetch_all(&self.pool).await?;
        let pending: Vec<(String, Vec<u8>)> =
            sqlx::query_as("SELECT id, sealed_pending_key FROM resources WHERE sealed_pending_key IS NOT NULL")
                .fetch_all(&self.pool)
                .await?;
        let rows = tokens
            .into_iter()
            .map(|(id, sealed)| SealedRow { kind: SealedKind::Token, id, sealed })
            .chain(keys.into_iter().map(|(id, sealed)| SealedRow { kind: SealedKind::ApiKey, id, sealed }))
            .chain(pending.into_iter().map(|(id, sealed)| SealedRow { kind: SealedKind::PendingKey, id, sealed }));
        Ok(rows.collect())
    }

    pub async fn key_report(&self, sealer: &Sealer) -> Result<KeyReport, StoreError> {
        let mut report = KeyReport::default();
        for row in self.sealed_rows().await? {
            report.rows += 1;
            let id = Sealer::key_id_of(&row.sealed).unwrap_or("(unreadable header)");
            if id == sealer.current_key_id() {
                report.current += 1;
            } else if !sealer.has_key(id) {
                *report.missing.entry(id.to_owned()).or_default() += 1;
            }
        }
        Ok(report)
    }

    /// Re-seals every value under the newest key. Each update only lands if the row still holds
    /// the value that was read, so a token replaced meanwhile is not overwritten with an old one.
    pub async fn rewrap(&self, sealer: &Sealer) -> Result<RewrapOutcome, StoreError> {
        let mut outcome = RewrapOutcome::default();
        for row in self.sealed_rows().await? {
            if Sealer::key_id_of(&row.sealed) == Some(sealer.current_key_id()) {
                outcome.already_current += 1;
                continue;
            }
            let binding = row.binding();
            let Ok(plain) = sealer.open(&row.sealed, &binding) else {
                outcome.failed += 1;
                continue;
            };
            let resealed = sealer.seal(&plain, &binding);
            let sql = match row.kind {
                SealedKind::Token => {
                    "UPDATE installations SET sealed_token = $1 WHERE configuration_id = $2 AND sealed_token = $3"
                }
                SealedKind::ApiKey => "UPDATE resources SET sealed_api_key = $1 WHERE id = $2 AND sealed_api_key = $3",
                SealedKind::PendingKey => {
                    "UPDATE resources SET sealed_pending_key = $1 WHERE id = $2 AND sealed_pending_key = $3"
                }
            };
            let done = sqlx::query(sql).bind(&resealed).bind(&row.id).bind(&row.sealed).execute(&self.pool).await?;
            outcome.rewrapped += usize::from(done.rows_affected() == 1);
        }
        Ok(outcome)
    }
}
