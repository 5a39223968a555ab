//! What a scan found: one [`Finding`] per check that failed, in a [`ScanReport`].

use std::collections::BTreeMap;
use std::fmt;

/// One check that failed: the route, the case, and what was seen instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// `METHOD /path` as in the inventory.
    pub route: String,
    /// The attack or check, e.g. `"no token"`.
    pub case: String,
    /// What the response was, and what it should have been.
    pub detail: String,
}

/// What a scan found.
#[derive(Debug, Clone, Default)]
pub struct ScanReport {
    /// The checks that failed.
    pub findings: Vec<Finding>,
    /// How many requests were sent.
    pub requests: usize,
    /// How many routes were scanned.
    pub routes: usize,
    /// How many requests each case sent, by the case's name: what ran, so that a case a
    /// route's settings left out (a tenant probe without a tenant fixture, say) shows by
    /// its absence.
    pub cases: BTreeMap<String, usize>,
}

impl ScanReport {
    /// Whether nothing was found.
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }

    /// Fails the calling test with the report unless it is clean.
    #[track_caller]
    pub fn assert_clean(&self) {
        assert!(
            self.is_clean(),
            "the security scan found weaknesses:\n{self}"
        );
    }
}

impl fmt::Display for ScanReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} routes, {} requests, {} findings",
            self.routes,
            self.requests,
            self.findings.len()
        )?;
        for finding in &self.findings {
            writeln!(
                f,
                "- {} [{}]: {}",
                finding.route, finding.case, finding.detail
            )?;
        }
        let cases: Vec<String> = self
            .cases
            .iter()
            .map(|(case, requests)| format!("{case} ×{requests}"))
            .collect();
        if !cases.is_empty() {
            writeln!(f, "cases run: {}", cases.join(", "))?;
        }
        Ok(())
    }
}
