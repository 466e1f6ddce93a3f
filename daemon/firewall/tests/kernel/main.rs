//! Kernel tests of table `inet cnm` with real traffic. Every test builds its
//! own namespaces (host, client, containers); nothing touches the machine's
//! own network namespace. Without root they fail loudly (never pass without running).

#[path = "../golden/check.rs"]
mod golden;
mod isolation;
mod lab;
mod lifecycle;
mod netns;
mod publishing;
mod traffic;
