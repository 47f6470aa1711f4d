//! One module per subcommand: typed options in, work done, a report out.

pub mod bench;
pub mod doctor;
pub mod process;
pub mod serve;
pub mod tune;
