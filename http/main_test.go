package http_test

import (
	"os"
	"testing"

	"github.com/paygate/paygate/internal/pgtest"
)

// The PostgreSQL schemas the tests used, kept for the next test, are
// dropped at the end.
func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
