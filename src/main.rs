//! The `zhucan` binary: parses the command line and hands over to the library.

/// mimalloc rather than glibc's allocator: a request allocates and frees many small objects
/// (rows, strings, JSON); glibc's malloc/free were about 10% of the server's CPU on a queue page.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    zhucan::cli::main()
}
