//! `annals-server` for the example domains: the inventory (the app's, and the default) and the
//! bank, chosen with `--domain`, with the inventory's reorder reaction.

fn main() -> std::process::ExitCode {
    annals_example_server::server().main()
}
