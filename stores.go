package paygate

import "context"

// Stores is one open database's stores, as a database engine (package
// sqlite or postgres) hands them out, so that the wiring of a gateway is
// written once whatever the engine.
type Stores struct {
	Merchants   MerchantStore
	Payments    PaymentStore
	Cards       CardStore
	Keys        KeyStore
	Idempotency IdempotencyStore
	Sequences   SequenceStore
	Jobs        JobStore
	Sessions    SessionStore
	Signing     SigningSecretStore
	Deliveries  DeliveryStore
	Events      EventStore
	Webhooks    WebhookStore
	Batches     BatchStore
	AccessKeys  AccessKeyStore
	// The dashboard's users, sessions and the audit log (issue 12).
	Users        UserStore
	DashSessions DashSessionStore
	Audit        AuditStore
	Mail         MailStore
	// Backlog counts what waits for the background work (metrics).
	Backlog BacklogStore

	// Engine names the database engine: "sqlite" or "postgres".
	Engine string
	// Applied lists the migrations that opening the database applied
	// (none if its schema was already current).
	Applied []string
	// Migrations lists the migrations the database has applied.
	Migrations func(context.Context) ([]string, error)
	// Observe, if set, has the database's write path tell o of each
	// commit (metrics).
	Observe func(o Observer)
	// Close closes the database, after the writes already under way.
	Close func() error
}
