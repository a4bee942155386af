package http

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/paygate/paygate"
)

// DefaultRateLimit is each API key's sustained rate, in requests per second,
// unless the server or its merchant sets another; bursts may reach twice it.
const DefaultRateLimit = 100

// rateLimits holds a token bucket per API key. The buckets live in the
// process: with several nodes behind a balancer a key gets its rate on each.
type rateLimits struct {
	mu      sync.Mutex
	buckets map[string]*bucket // by API key id
}

type bucket struct {
	lim          *rate.Limiter
	perSec, size int
}

// rateOf returns the rate and burst in force for a merchant's keys: its own
// (Merchant.RateLimit, bursts of twice it), else the server's; 0 means no
// limit.
func (s *Server) rateOf(m *paygate.Merchant) (perSec, burst int) {
	if m.RateLimit > 0 {
		return m.RateLimit, 2 * m.RateLimit
	}
	if s.RateLimit < 0 {
		return 0, 0
	}
	perSec, burst = s.RateLimit, s.RateBurst
	if perSec == 0 {
		perSec = DefaultRateLimit
	}
	if burst <= 0 {
		burst = 2 * perSec
	}
	return perSec, burst
}

// limit takes a token from the key's bucket. It sets X-RateLimit-Limit (the
// sustained rate, per second), X-RateLimit-Burst and X-RateLimit-Remaining
// (requests that may be sent at once now) on every answer, and refuses an
// empty bucket with ERATELIMIT (429) and Retry-After. It runs before the
// body is read and before the Idempotency-Key is looked at, so a refused
// request uses up nothing.
func (s *Server) limit(w http.ResponseWriter, keyID string, m *paygate.Merchant) error {
	perSec, burst := s.rateOf(m)
	if perSec == 0 {
		return nil
	}
	now := time.Now()
	if s.Clock != nil {
		now = s.Clock.Now()
	}
	b := s.limits.bucket(keyID, perSec, burst, now)
	ok := b.AllowN(now, 1)
	left := b.TokensAt(now)
	h := w.Header()
	h.Set("X-RateLimit-Limit", strconv.Itoa(perSec))
	h.Set("X-RateLimit-Burst", strconv.Itoa(burst))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(max(int(math.Floor(left)), 0)))
	if ok {
		return nil
	}
	wait := time.Duration((1 - left) / float64(perSec) * float64(time.Second))
	h.Set("Retry-After", strconv.Itoa(max(int(math.Ceil(wait.Seconds())), 1)))
	return paygate.Errorf(paygate.ERATELIMIT, "Too many requests with this API key: the limit is %d per second (bursts of %d). Retry after the time in the Retry-After header.", perSec, burst)
}

// bucket returns the limiter of a key, made or resized to perSec and burst.
func (l *rateLimits) bucket(keyID string, perSec, burst int, now time.Time) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[keyID]
	switch {
	case b == nil:
		if l.buckets == nil || len(l.buckets) >= 100_000 {
			l.buckets = map[string]*bucket{} // bounded: start afresh
		}
		b = &bucket{lim: rate.NewLimiter(rate.Limit(perSec), burst), perSec: perSec, size: burst}
		l.buckets[keyID] = b
	case b.perSec != perSec || b.size != burst:
		b.lim.SetLimitAt(now, rate.Limit(perSec))
		b.lim.SetBurstAt(now, burst)
		b.perSec, b.size = perSec, burst
	}
	return b.lim
}
