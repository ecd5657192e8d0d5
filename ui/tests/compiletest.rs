//! The macro's diagnostics and hygiene, checked with trybuild: every `tests/ui/fail` case must
//! fail with exactly its `.stderr`, every `tests/ui/pass` case must compile and run.
//!
//! Regenerate the `.stderr` files with `TRYBUILD=overwrite cargo test -p workflow-ui-tests`
//! and review the diff like code. The messages come from the stable toolchain the project
//! pins.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*/*.rs");
}
