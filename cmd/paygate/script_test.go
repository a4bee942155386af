package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets the test binary double as the paygate command inside
// testscript scripts: "exec paygate ..." (or just "paygate ...") runs run.
func TestMain(m *testing.M) {
	os.Exit(testscript.RunMain(m, map[string]func() int{
		"paygate": func() int {
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return run(ctx, os.Args[1:], os.Stdout, os.Stderr)
		},
	}))
}

// TestScript runs testdata/script/*.txtar.
func TestScript(t *testing.T) {
	t.Parallel()
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"jsonfield": cmdJSONField,
			"exitcode":  cmdExitCode,
		},
	})
}

// cmdJSONField implements "jsonfield FILE PATH ENVVAR": it decodes the JSON
// in FILE (stdout and stderr name the last command's output), follows the
// dot-separated PATH (object keys, or indexes into arrays) and sets ENVVAR
// to the value found (strings as is, anything else as JSON).
func cmdJSONField(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! jsonfield")
	}
	if len(args) != 3 {
		ts.Fatalf("usage: jsonfield FILE PATH ENVVAR")
	}
	var v any
	if err := json.Unmarshal([]byte(ts.ReadFile(args[0])), &v); err != nil {
		ts.Fatalf("jsonfield: %s: %v", args[0], err)
	}
	for _, p := range strings.Split(args[1], ".") {
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[p]; !ok {
				ts.Fatalf("jsonfield: no field %q in %s", p, args[0])
			}
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(x) {
				ts.Fatalf("jsonfield: bad index %q (array of %d)", p, len(x))
			}
			v = x[i]
		default:
			ts.Fatalf("jsonfield: cannot take %q of %T", p, v)
		}
	}
	s, ok := v.(string)
	if !ok {
		b, _ := json.Marshal(v)
		s = string(b)
	}
	ts.Setenv(args[2], s)
	ts.Logf("%s=%s", args[2], s)
}

// cmdExitCode implements "exitcode N COMMAND [ARGS...]": it runs COMMAND
// like exec and checks that it exits with status N; stdout and stderr can
// then be checked as after exec. (exec alone only tells zero from non-zero,
// and paygate gives 2 for usage errors, 1 for other failures.)
func cmdExitCode(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! exitcode")
	}
	if len(args) < 2 {
		ts.Fatalf("usage: exitcode N COMMAND [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exitcode: bad status %q", args[0])
	}
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("exitcode: %s: %v", args[1], err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited with status %d, want %d", args[1], got, want)
	}
}
