//! Nothing but a home for `tests/compiletest.rs`, the trybuild suite of `workflow`'s macro,
//! and its cases, `tests/ui`.
