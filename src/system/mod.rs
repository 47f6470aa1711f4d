//! Facts about this machine and this process, gathered in one place: the only code that
//! reads `/proc`.

pub mod peak_memory;
