package sqlstore

import (
	"context"
	"strings"
)

// listing is a merchant's rows of one table, newest first (ids sort by
// creation time), a page at a time: the conditions that filter them, each
// with its argument, kept only when the argument is not "".
type listing struct {
	what, table, columns string
	merchantID           string
	startingAfter        string // an id: the page starts after it
	limit                int
	filters              []filter
}

// filter is one condition of a listing ("status = ?") with its argument.
type filter struct {
	cond string
	arg  string
}

// listPage runs l with scan and returns a page of at most l.limit rows and
// whether more follow.
func listPage[T any](s *store, ctx context.Context, l listing, scan func(Row) (T, error)) ([]T, bool, error) {
	where := []string{"merchant_id = ?"}
	args := []any{l.merchantID}
	for _, f := range l.filters {
		if f.arg != "" {
			where, args = append(where, f.cond), append(args, f.arg)
		}
	}
	if l.startingAfter != "" {
		where, args = append(where, "id < ?"), append(args, l.startingAfter)
	}
	list, err := collect(l.what, scan)(s.query(ctx, `SELECT `+l.columns+` FROM `+l.table+` WHERE `+
		strings.Join(where, " AND ")+` ORDER BY id DESC LIMIT ?`, append(args, l.limit+1)...))
	if err != nil {
		return nil, false, err
	}
	if len(list) > l.limit {
		return list[:l.limit], true, nil
	}
	return list, false, nil
}
