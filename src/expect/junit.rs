//! JUnit XML for CI systems: one testsuite per scenario, one testcase per expectation.

use std::path::Path;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::Outcome;
use crate::error::Result;
use crate::fs_atomic::write_atomic;

pub fn junit_xml(outcomes: &[Outcome]) -> String {
    let mut report = Report::new("incrlab check");
    let mut scenarios: Vec<&str> = Vec::new();
    for o in outcomes {
        if !scenarios.contains(&o.scenario.as_str()) {
            scenarios.push(&o.scenario);
        }
    }
    for scenario in scenarios {
        let mut suite = TestSuite::new(scenario);
        for o in outcomes.iter().filter(|o| o.scenario == scenario) {
            let status = if o.passed {
                TestCaseStatus::success()
            } else {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                status.set_message(format!("expected {}, got {}", o.expected, o.actual));
                if let Some(hint) = &o.hint {
                    status.set_description(hint.clone());
                }
                status
            };
            let mut case = TestCase::new(o.name(), status);
            case.set_classname(format!("{scenario}.{}", o.strategy));
            suite.add_test_case(case);
        }
        report.add_test_suite(suite);
    }
    report
        .to_string()
        .expect("a JUnit report always serializes")
}

pub fn write_junit(outcomes: &[Outcome], path: &Path) -> Result<()> {
    write_atomic(path, junit_xml(outcomes).as_bytes())
}
