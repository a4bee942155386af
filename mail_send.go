package paygate

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// SendMail sends the mail that is due — claimed in the database, so that
// of several nodes each attempt is made by one — MailParallel at a time,
// and returns how many it claimed. Each outcome is recorded fenced on the
// claim: a node whose lease ran out records nothing. Without a sender
// (no SMTP server configured) mail is composed and kept. A failed attempt
// is tried again on the schedule of MailRetries, with up to 10% of jitter,
// and given up after the last; a refusal (ErrMailRefused) fails at once.
// Nothing here touches a payment: mail never delays nor fails one.
func (g *Gateway) SendMail(ctx context.Context) (int, error) {
	if g.Mail == nil {
		return 0, nil
	}
	list, err := g.Mail.ClaimMail(ctx, g.now(), MailLease, MailBatch)
	if err != nil {
		return 0, fmt.Errorf("claim mail: %w", err)
	}
	sem := make(chan struct{}, MailParallel)
	var wg sync.WaitGroup
	for _, m := range list {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			g.sendMail(ctx, m)
		})
	}
	wg.Wait()
	return len(list), nil
}

// sendMail makes one attempt of a claimed mail and records it.
func (g *Gateway) sendMail(ctx context.Context, m *Mail) {
	lease := m.NextAt
	if m.Subject == "" {
		m.Compose()
	}
	log := g.Logger.With(LogMerchantID, m.MerchantID, LogPaymentID, m.PaymentID, "mail_id", m.ID)
	var serr error
	if g.Mailer == nil {
		m.Status = MailKept
	} else {
		sctx, cancel := context.WithTimeout(ctx, MailTimeout)
		serr = g.Mailer.Send(sctx, m)
		cancel()
		if serr != nil && ctx.Err() != nil {
			return // stopping: not the server's failure; tried again when the lease ends
		}
		m.Attempts++
	}
	m.UpdatedAt = g.now()
	switch {
	case g.Mailer == nil:
	case serr == nil:
		m.Status, m.LastError, m.SentAt = MailSent, "", m.UpdatedAt
	case errors.Is(serr, ErrMailRefused) || m.Attempts > len(MailRetries):
		m.Status, m.LastError = MailFailed, recordedText([]byte(serr.Error()))
	default:
		m.LastError = recordedText([]byte(serr.Error()))
		m.NextAt = m.UpdatedAt.Add(withJitter(MailRetries[m.Attempts-1])).Truncate(TimePrecision)
	}
	if err := g.Mail.RecordMail(context.WithoutCancel(ctx), m, lease); err != nil {
		if !errors.Is(err, ErrVersionConflict) {
			log.ErrorContext(ctx, "record a mail attempt", LogError, err)
		}
		return // another node took the mail over: its attempts count
	}
	if m.Status == MailFailed {
		log.WarnContext(ctx, "gave up a mail", "attempts", m.Attempts, LogError, m.LastError)
	}
}

// ListMail returns one page of the merchant's mail, newest first, each
// composed (mail still queued is composed for the listing).
func (g *Gateway) ListMail(ctx context.Context, mc *Merchant, f MailFilter) ([]*Mail, bool, error) {
	if g.Mail == nil {
		return nil, false, fmt.Errorf("no mail store")
	}
	f.MerchantID = mc.ID
	switch {
	case f.Limit == 0:
		f.Limit = 10
	case f.Limit < 0 || f.Limit > 100:
		return nil, false, ParamErrorf(EINVALID, "limit", "Limit must be between 1 and 100.")
	}
	switch f.Status {
	case "", MailQueued, MailSent, MailFailed, MailKept:
	default:
		return nil, false, ParamErrorf(EINVALID, "status", "Status must be one of %s, %s, %s, %s.", MailQueued, MailSent, MailFailed, MailKept)
	}
	if f.StartingAfter != "" {
		if _, err := g.Mail.Mail(ctx, mc.ID, f.StartingAfter); ErrorCode(err) == ENOTFOUND {
			return nil, false, ParamErrorf(EMALFORMED, "starting_after",
				"Parameter \"starting_after\" must be the id of one of your mails; there is no mail %s.", sanitize(f.StartingAfter, 40))
		} else if err != nil {
			return nil, false, err
		}
	}
	list, more, err := g.Mail.Mails(ctx, f)
	if err != nil {
		return nil, false, err
	}
	for _, m := range list {
		if m.Subject == "" {
			m.Compose()
		}
	}
	return list, more, nil
}

// MailOf returns one of the merchant's mails, composed.
func (g *Gateway) MailOf(ctx context.Context, mc *Merchant, id string) (*Mail, error) {
	if g.Mail == nil {
		return nil, fmt.Errorf("no mail store")
	}
	m, err := g.Mail.Mail(ctx, mc.ID, id)
	if err != nil {
		return nil, err
	}
	if m.Subject == "" {
		m.Compose()
	}
	return m, nil
}
