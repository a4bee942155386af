package paygate

import (
	"context"
	"time"
)

// URLChange records a change of a merchant's global success or decline
// URL: seed 003 warns that "an errant or unauthorized change to the
// globally configured URLs could have a negative impact on getting
// transaction responses", so each one is kept, with who made it.
type URLChange struct {
	ID         string // "urlchg_..."
	MerchantID string
	Field      string // "success_url" or "decline_url"
	Old        string // "" : none was set
	New        string // "" : cleared
	By         string // the API key's id, or "cli"
	At         time.Time
}

// URLChangeFields are the settings whose changes are recorded. Wire names.
var URLChangeFields = []string{"success_url", "decline_url"}

// MaxURLChanges is the most URL changes one listing returns.
const MaxURLChanges = 100

// URLChanges returns the merchant's latest URL changes, newest first, at
// most limit (1 to MaxURLChanges).
func (g *Gateway) URLChanges(ctx context.Context, merchantID string, limit int) ([]*URLChange, error) {
	if limit < 1 || limit > MaxURLChanges {
		return nil, ParamErrorf(EINVALID, "limit", "Limit must be between 1 and %d.", MaxURLChanges)
	}
	return g.Merchants.URLChanges(ctx, merchantID, limit)
}
