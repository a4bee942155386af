package http

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/paygate/paygate"
)

// ReadyCheck is one dependency GET /readyz reports on: the database, the
// link to the acquirer. Check returns figures worth showing (may be nil)
// and an error when the dependency cannot serve; the error is logged, not
// shown (the endpoint needs no key, and errors can name hosts).
type ReadyCheck struct {
	Name  string
	Check func(ctx context.Context) (map[string]any, error)
}

// readyTimeout bounds each readiness check.
const readyTimeout = 2 * time.Second

// LinkCheck reports a link to the acquirer as ready while at least one of
// its connections is up.
func LinkCheck(link interface{ Up() int }) ReadyCheck {
	return ReadyCheck{Name: "acquirer", Check: func(context.Context) (map[string]any, error) {
		up := link.Up()
		info := map[string]any{"connections_up": up}
		if up == 0 {
			return info, errors.New("no connection to the acquirer is up")
		}
		return info, nil
	}}
}

// readyJSON is what /readyz answers.
type readyJSON struct {
	Status string                    `json:"status"` // "ready" or "unavailable"
	Checks map[string]map[string]any `json:"checks"`
}

// ready answers GET /readyz: 200 when every check passes, else 503, with
// each check's status. /healthz only says the process is alive.
func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	out := readyJSON{Status: "ready", Checks: map[string]map[string]any{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i, c := range s.Ready {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
			defer cancel()
			start := time.Now()
			info, err := c.Check(ctx)
			res := map[string]any{}
			for k, v := range info {
				res[k] = v
			}
			res["status"] = "ok"
			res["duration_ms"] = time.Since(start).Milliseconds()
			if err != nil {
				res["status"] = "fail"
				if ctx.Err() != nil {
					res["status"] = "timeout"
				}
			}
			s.readyChanged(i, c.Name, err)
			mu.Lock()
			defer mu.Unlock()
			out.Checks[c.Name] = res
			if err != nil {
				out.Status = "unavailable"
			}
		})
	}
	wg.Wait()
	status := http.StatusOK
	if out.Status != "ready" {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, out)
}

// readyChanged logs a check that starts or stops failing, once per change
// (probes come every few seconds).
func (s *Server) readyChanged(i int, name string, err error) {
	s.readyMu.Lock()
	if s.readyFailing == nil {
		s.readyFailing = make([]bool, len(s.Ready))
	}
	was := s.readyFailing[i]
	s.readyFailing[i] = err != nil
	s.readyMu.Unlock()
	switch {
	case err != nil && !was:
		s.Logger.Warn("not ready", "check", name, paygate.LogError, err)
	case err == nil && was:
		s.Logger.Info("ready again", "check", name)
	}
}
