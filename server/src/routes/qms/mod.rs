//! `/api/v1/workspaces/{ws}/qms/...`: quality functions over a workspace's records — the
//! sampling state of a supplier-part from its IQC history, and monthly supplier scorecards
//! from IQC, NCR and 8D data. They read the forms the template packs install (`iqc`, `ncr`,
//! `eightd`, `scorecard`) through the same report plans and permissions as any report.

pub mod sampling;
pub mod scorecards;
