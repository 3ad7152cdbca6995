//! `annals-server` for the example domains: the inventory (the app's, and the default) and the
//! bank, chosen with `--domain`. Built as any user's server is, through annals-server's library.

fn main() -> std::process::ExitCode {
    annals_server::Server::new()
        .domain::<annals_inventory::Inventory>()
        .domain::<annals_bank::Bank>()
        .main()
}
