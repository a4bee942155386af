package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// benchBank is "paygate bank" run by bench as a process of its own, as a
// user runs it: its ledger in a file of the bench's temporary directory,
// listening on a free port of 127.0.0.1. Its CPU and memory are not the
// gateway's, and are reported apart.
type benchBank struct {
	cmd  *exec.Cmd
	addr string
	done chan error // Wait's error, once the process has exited
}

// bankStopWait is how long the bank has to stop after SIGINT before it is
// killed.
const bankStopWait = 10 * time.Second

// startBenchBank starts the bank with its ledger in dir and waits for it
// to listen. Its log (warnings and errors) goes to stderr.
func startBenchBank(ctx context.Context, dir string, stderr io.Writer) (*benchBank, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find the paygate binary for the bank: %w", err)
	}
	cmd := exec.Command(exe, "bank", "--db", filepath.Join(dir, "bank.db"), "--addr", "127.0.0.1:0", "--log-level", "warn")
	// What the caller set for the gateway is not the bank's.
	cmd.Env = withoutPaygateBankEnv(os.Environ())
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start paygate bank: %w", err)
	}
	b := &benchBank{cmd: cmd, done: make(chan error, 1)}
	lines := make(chan string, 1)
	go func() {
		// The bank prints one line, its address, then nothing more on stdout.
		line, _ := bufio.NewReader(out).ReadString('\n')
		lines <- line
		io.Copy(io.Discard, out)
		b.done <- cmd.Wait()
	}()
	select {
	case line := <-lines:
		addr, ok := strings.CutPrefix(strings.TrimSpace(line), "bank listening on ")
		if !ok {
			b.Close()
			return nil, fmt.Errorf("paygate bank did not start (it printed %q)", strings.TrimSpace(line))
		}
		b.addr = addr
		return b, nil
	case <-ctx.Done():
		b.Close()
		return nil, ctx.Err()
	case <-time.After(30 * time.Second):
		b.Close()
		return nil, errors.New("paygate bank did not start within 30 s")
	}
}

// withoutPaygateBankEnv drops the PAYGATE_BANK_* variables, which would
// override the bank's flags.
func withoutPaygateBankEnv(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, "PAYGATE_BANK_") {
			out = append(out, kv)
		}
	}
	return out
}

// pid is the bank's process id.
func (b *benchBank) pid() int { return b.cmd.Process.Pid }

// Close stops the bank (SIGINT: it writes what it holds and closes its
// ledger), killing it if it has not stopped within bankStopWait.
func (b *benchBank) Close() error {
	b.cmd.Process.Signal(os.Interrupt)
	select {
	case err := <-b.done:
		return err
	case <-time.After(bankStopWait):
		b.cmd.Process.Kill()
		<-b.done
		return fmt.Errorf("paygate bank did not stop within %s of SIGINT: killed", bankStopWait)
	}
}
