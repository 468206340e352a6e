//! The `dirkv` command.

fn main() -> std::process::ExitCode {
    dirkv::cli::main()
}
