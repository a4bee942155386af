// Package sqlitewal gathers the writes SQLite (modernc.org/sqlite) makes
// to a database's write-ahead log: a commit's frames reach the file in one
// write call instead of two per frame, written before SQLite publishes the
// commit, so that readers in any process find them (see
// sqlitewal_linux.go). A program gets it by importing the package, as the
// gateway's store (sqlite) and the simulated bank's ledger (bank) do. It
// is on Linux (amd64, arm64) only, where it was measured; elsewhere, and
// with PAYGATE_SQLITE_WAL_GATHER=off, SQLite writes as it does itself.
package sqlitewal

// Env names the variable that turns the gathering off ("off"), to compare.
const Env = "PAYGATE_SQLITE_WAL_GATHER"
