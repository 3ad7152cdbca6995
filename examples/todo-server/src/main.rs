//! The to-do example's server: `annals-server serve | export | import | rebuild | token`, with
//! every flag, deciding commands with [`annals_todo::Todo`].

fn main() -> std::process::ExitCode {
    annals_server::main::<annals_todo::Todo>()
}
