// Package bank simulates the acquirer and its issuing banks. Bank.Handle
// takes a packed ISO 8583 request (package iso8583), routes it by BIN to an
// issuer, applies the issuer's rules to the cardholder's account and returns
// the packed answer; in process it is the far end of
// iso8583.NewClient(iso8583.LinkFunc(b.Handle), timeout).
//
// # Issuers
//
// One issuer per brand, "Paygate Test Bank (Visa)", "(Mastercard)",
// "(American Express)", "(Discover)", "(JCB)", "(UnionPay)" and
// "(Diners Club)", routed by paygate.CardBrand; two Visa BIN ranges have
// issuers of their own: 400009 (OfflineBIN), down from the start, and 400011
// (SilentBIN), which never answers. A number of no known brand gets 15.
//
// # Test cards
//
// Amounts are minor units. Approving accounts have a limit of
// StandardLimit (1,000,000,000,000). Any expiry in the future is accepted.
//
//	card                 answer  why
//	4242424242424242     00      approve (also 4111111111111111, 5555555555554444,
//	                             2223003122003222, 378282246310005, 6011111111111117,
//	                             3566002020360505, 6200000000000005, 36227206271667;
//	                             debit 4000056655665556, 5200828282828210; prepaid
//	                             5105105105105100: paygate.CardTypeBINs)
//	4000000000000002     05      do not honor
//	4000000000009995     51      insufficient funds: limit and available 0
//	4000000000000069     54      account status expired
//	4000000000009987     41      account status lost
//	4000000000009979     43      account status stolen
//	4000000000000119     96      system malfunction
//	4000000000000127     N7      incorrect CVC, when a CVC is sent; 00 without one
//	4000000000000572     57      not permitted to cardholder
//	4100000000000019     59      suspected fraud
//	4000000000000614     61      above its per-transaction limit of 10000; 00 up to it
//	4000000000000622     62      account status restricted
//	4000000000000010     14      known BIN, no account (any such Luhn-valid number)
//	4000090000000003     91      issuer down (SetIssuerDown(OfflineBIN, false) brings it up: 00)
//	4000110000000009     none    issuer processes the request (places the hold) but the
//	                             answer never comes: Handle waits for ctx and returns ctx.Err()
//
// # Rules
//
// In order, for an authorization (0100) or sale (0200, 000000): issuer down
// → 91; no account → 14; status lost 41, stolen 43, expired 54, blocked 05,
// restricted 62; an expiry (DE14) before the month of DE7 → 54; the card's
// fixed decline; N7 when the card declines CVCs and one is sent; a sale of
// 0 → 13; above the per-transaction limit → 61; above available → 51; else
// 00 with a fresh 6-character auth code.
//
// An account verification (0100 with DE4 zero; package iso8583) takes the
// same rules up to and including the CVC — issuer down 91, no account 14,
// status 41, 43, 54, 05 or 62, expiry 54, the card's fixed decline, N7 —
// and none about amounts: otherwise 00, without an auth code. It holds,
// posts and remembers nothing.
//
// Balances: Available == Posted - Held. Nothing is posted before clearing
// (below). An authorization holds its amount under its RRN (DE37):
// Available goes down. A sale holds too, and records its amount as the one
// to post. A capture advice (0220, quoting the authorization's RRN) records
// the final amount, which may be smaller; the hold stays until clearing.
// Advices are always answered 00, even when there is no hold (the amount
// is force-posted at clearing) or the issuer is down (the acquirer stores
// and forwards). A repeated capture of an RRN changes nothing. A refund
// (0200, 200000) records a credit, made at clearing; it is approved for
// every known account, whatever its status, and an amount of 0 gets 13.
// Currencies are not converted.
//
// A reversal (0400, quoting the original's RRN and DE90) brings what that RRN
// holds, and what it would post or credit at clearing, down to the
// replacement amount (DE95; 0 for a full reversal): it releases a hold and
// takes a sale, capture or refund out of the next clearing. It is answered
// 00 also when there is nothing to reverse, or for a card without an
// account, so it is idempotent: a second reversal of the same RRN changes
// nothing. A reversal that comes after its transaction was cleared finds
// the RRN forgotten: it is answered 00 and changes nothing (the posting
// stands; a cleared transaction is taken back by a refund). A reversal
// without usable DE90 gets 30 and changes nothing. Reversals are answered
// normally by the unresponsive issuer, so a timed-out authorization can be
// reversed; the offline issuer answers them with 91.
//
// # Settlement
//
// The acquirer keeps, per merchant (DE42), terminal (DE41) and currency
// (DE49), every RRN it has recorded since that terminal's last
// reconciliation: sales, captures and refunds approved (the items),
// reversed ones, declines and duplicates. A reconciliation (0500, package
// iso8583) counts the items sent (DE7 of the message that created them)
// before the batch's close (DE48) and compares their totals with the
// request's:
//
//   - equal: 00. Each item is cleared against its issuer: its hold released,
//     its final amount posted (a refund credited). Fees are charged per debit
//     with paygate.ParsePricing(the request's pricing code).Fee (the
//     gateway's own function; brand by BIN, every test card a credit card;
//     no code: paygate.DefaultPricing; a code that does not parse: 30). The
//     funding (batch number, totals, fees, funded = net - fees) is recorded
//     (Fundings, Funded) and answered. Then every RRN of the terminal but
//     the open holds of authorizations never captured is forgotten, in
//     memory and in the file, so that both stop growing with traffic. A
//     repeat of a funded batch's 0500 gets the same answer and clears
//     nothing.
//   - different: 95 with the acquirer's totals; nothing changes.
//
// A batch upload (0320, one item each, the last flagged) gives the
// gateway's view of a batch. The next 0500 of that batch compares item by
// item instead of totals: if every item matches it is 00 and clears as
// above; otherwise 95 listing the differing RRNs (missing at the acquirer,
// missing at the gateway, amount differs; at most
// paygate.MaxReconcileDifferences listed, with the count of all). The
// upload is kept until the batch clears or another upload begins (in
// memory only: after a restart of the bank, upload again).
//
// Fault injection: LoseTransaction(rrn) forgets an approved transaction
// (its hold is released), ChangeAmount(rrn, amount) changes what will be
// cleared. ClearAll clears everything recorded, with no fees or funding,
// for tests that look at postings without going through a reconciliation.
//
// Duplicates: an authorization, sale or refund with an RRN the account has
// seen gets the answer the first one got (the same response and auth code)
// and changes nothing; with an RRN seen on another kind of message it gets 94.
//
// Network management (0800) is answered 0810 with 00.
//
// # Over TCP
//
// Server puts a Bank on a TCP (or TLS) port, for "paygate bank" and for
// tests: messages are framed by a 2-byte big-endian length, many are
// handled at once per connection, and a connection must sign on (0800, DE70
// 001) before its financial messages reach the bank; until then, and after
// a sign-off, they are answered 91. Faults (SetFaults) slow answers down,
// drop them, close a connection after a number of messages or refuse
// sign-ons, so that tests can drive every failure of the link;
// SetIssuerDown takes an issuer down by BIN prefix as before.
//
// # Ledger file
//
// New keeps the ledger in memory: it starts afresh each time (the bank in
// process, and tests). Open keeps it in a SQLite file of its own as well
// (modernc.org/sqlite, WAL, synchronous=FULL), so that it outlives a crash
// or restart of the bank's process ("paygate bank --db"): the accounts'
// status, limit and balances (available, posted, held), for every RRN an
// account remembers what it remembers of it (kind, answer and auth code
// for duplicates; what it holds and will post or credit; the merchant,
// terminal, currency and time it settles by), and the fundings. A
// reconciliation deletes the rows of the RRNs it forgets in the same
// transaction as its funding. A file of schema version 1 (before
// clearing) is migrated: what it posted stays posted, nothing pending. The first Open of a file creates the test accounts; later
// ones load the state saved and check that each account's holds add up to
// its Held. Auth codes go on from where they were, so they stay unique
// across restarts. What the file does not keep: Stats, the issuers taken
// down (SetIssuerDown; "paygate bank --issuer-down" sets them on each run),
// the server's faults and sign-ons.
//
// Every change is written before Handle returns the answer that reports
// it, and an answer that repeats an earlier one (a duplicate) waits for that
// one to be written too: no answer is ever sent for a change the file may
// not have. The converse does not hold: a process killed after a change is
// written but before its answer is sent keeps the change with no answer
// sent, just as an answer lost on the network would (the gateway reverses
// or repeats it). Changes are made in memory first, under the account's
// lock, and queued to one writer, which writes all the changes queued since
// its last commit in one transaction (group commit, one fsync for many
// messages). Account and Holds may show a change a moment before it is on
// disk. Close writes the changes already made and closes the file; Handle
// then returns ErrClosed for financial messages, with no answer. If a
// write fails, the bank stops answering financial messages for good (Done
// is closed, Err says why; "paygate bank" exits): a restart goes on from
// what the file holds.
//
// One bank at a time: Open locks the file until Close (or the process
// ends), and a second Open of it fails ("in use by another bank").
//
// The file holds the test card numbers in clear: it is the simulated
// issuer's own ledger, not the gateway's. It is created readable by its
// owner only.
//
// # Concurrency and logs
//
// Handle is safe from many goroutines: the accounts are fixed in New (Open
// loads their state before it returns) and each has its own mutex;
// counters are atomic. It logs each message at debug level with the card
// number masked (paygate.MaskPAN), never the CVC.
package bank
