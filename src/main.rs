//! The `careline` binary: parse arguments, dispatch, exit with the command's code.

fn main() -> std::process::ExitCode {
    careline::cli::main()
}
