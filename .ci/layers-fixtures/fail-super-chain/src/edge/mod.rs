pub mod forwarded;
