//! Compile-time guarantees of `#[derive(Table)]` and the typed API: every case under
//! `compile_fail/` must fail to compile with the message in its `.stderr` file.

#[test]
fn compile_fail() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("compile_fail/*.rs");
}
