// Package iso8583 speaks ISO 8583:1987 (ASCII) to the acquirer: our own
// message spec, written as a github.com/moov-io/iso8583 MessageSpec (Spec),
// packing and unpacking of the gateway's paygate.NetworkRequest and
// NetworkResponse, a masking Describe for traces, and a Client that
// implements paygate.Acquirer over a Link.
//
// The messages are packed and unpacked by a packer of our own driven by
// Spec's field table (pack.go), not by the library's Message, which
// allocates for every field (BenchmarkCodec runs the two side by side).
// The tests hold ours to the library's bytes and the library's outcomes,
// field by field, with golden and fuzz tests.
//
// # Messages
//
//	kind       request               answer  notes
//	authorize  0100, DE3 000000      0110    places a hold
//	verify     0100, DE3 000000      0110    DE4 zero: account verification (status, expiry, CVC2); holds nothing
//	sale       0200, DE3 000000      0210    authorize and post
//	refund     0200, DE3 200000      0210    credit the cardholder
//	capture    0220, DE3 000000      0230    advice; DE37/DE38 quote the original, DE4 is the final amount
//	reverse    0400, DE3 of original 0410    DE90 original data; DE4 the original amount; DE95 when partial
//	network    0800, DE70            0810    001 sign-on, 301 echo, 002 sign-off
//	reconcile  0500, DE3 920000      0510    a batch's totals (below)
//	upload     0320, DE3 00/20 0000  0330    one batch item: debit 000000, credit 200000
//
// # Settlement messages
//
// They carry no card data: no DE2, 14, 35 or 52. DE48 holds subelements
// tag (2 digits), length (2 digits), value: 01 the batch number, 02 the
// pricing code (paygate.Pricing.Code), 03 the batch's close
// (YYYYMMDDhhmmss UTC), 04 the funded amount (C or D and 16 digits), 05
// "1" on the last item of an upload.
//
//	0500  DE3 920000, 7, 11, 41, 42, 49; totals: DE74 credits, 75 credit
//	      reversals, 76 debits, 77 debit reversals (counts, n10), DE86, 87,
//	      88, 89 the same amounts (n16), DE97 the net (C when debits exceed
//	      credits, else D; checked against the totals on unpacking); DE48
//	      01, 02, 03
//	0510  DE3, 7, 11, 41, 42, 49 echoed, DE39 (00 in balance, 95 not), the
//	      acquirer's totals (74-77, 86-89, 97); in balance the fees in DE84
//	      (debits processing fee, n12) and the funded amount in DE48 04;
//	      after an upload that does not balance, DE63 (LLLVAR ..999): the
//	      count of all differences (6 digits), then up to
//	      paygate.MaxReconcileDifferences (26) of 37 characters: kind (A
//	      missing at the acquirer, G missing at the gateway, D amount
//	      differs), RRN (12), the gateway's amount (12), the acquirer's (12)
//	0320  DE3 000000 (debit) or 200000 (credit), DE4, 7, 11, 37 the item's
//	      RRN, 38 its auth code, 41, 42, 49; DE48 01 and 05
//	0330  DE3, 4, 7, 11, 37, 41, 42, 49 echoed, DE48 01, DE39
//
// A Client is also a paygate.Settler (Reconcile, Upload) over the same
// Link.
//
// On a reversal, NetworkRequest.OriginalAmount is the amount of the original
// and Amount the replacement: the amount that stays. Amount == 0 or Amount ==
// OriginalAmount is a full reversal (no DE95); 0 < Amount < OriginalAmount is
// a partial one, sent with DE95. UnpackRequest gives a full reversal back as
// Amount == OriginalAmount.
//
// # Fields
//
// MTI: 4 ASCII digits. Bitmap: hex ASCII, 16 characters; a secondary bitmap
// (32 characters in all) only when a field above 64 is present. Every field
// is a string field, so that DE3 "000000" survives. Fixed fields are exact;
// ans fields (38, 41, 42, 43) are padded on the right with spaces, which
// unpacking removes.
//
//	2  PAN               LLVAR n..19     37 RRN                an12
//	3  processing code   n6              38 auth code          an6
//	4  amount            n12             39 response code      an2
//	7  transmission time n10 MMDDhhmmss  41 terminal id        ans8
//	11 STAN              n6              42 merchant id        ans15
//	12 local time        n6 hhmmss       43 merchant name      ans40 (truncated, non-ASCII becomes ?)
//	13 local date        n4 MMDD         48 additional data    LLLVAR ans..999 (CVC2, below)
//	14 expiry            n4 YYMM         49 currency           n3 ISO 4217 numeric
//	15 settlement date   n4 MMDD         52 PIN data           16 hex
//	18 MCC               n4              55 ICC data           LLLVAR ..999
//	22 POS entry mode    n3 (810)        70 network mgmt code  n3
//	32 acquirer id       LLVAR n..11     74-77, 81 counts      n10
//	63 differences       LLLVAR ..999    84 fees               n12
//	35 track 2           LLVAR ..37      86-89 amounts         n16
//	90 original data     n42             95 replacement amts   an42
//	97 net settlement    x+n16
//
// DE7 is UTC; DE12 and DE13 are the transmission time in its own location.
// Since DE7 has no year, unpacking picks the year closest to now.
//
// # The CVC2
//
// The card security code travels to the issuer in DE48 (additional data,
// private use) as subelement 92, formatted tag (2 digits), length (2
// digits), value: a CVC of 123 is DE48 "9203123". It is packed only on
// authorizations, sales and verifications and read only from them, and exists only in the
// packed bytes in memory. Describe never shows DE48, DE14, DE35, DE52 or
// DE55, and shows DE2 as first six and last four. Errors never quote them.
//
// # Links
//
// A Client sends over a Link. LinkFunc(bank.Handle) is the simulated bank
// in process; a TCPLink (Dial) reaches a bank in another process ("paygate
// bank") over TCP or TLS, each message framed by a 2-byte big-endian length
// (WriteFrame, ReadFrame). A TCPLink is a pool of connections that sign on
// before they carry requests, echo when idle, sign off on Close and are
// made again with backoff when lost; answers are matched to requests by
// answer MTI, STAN and DE7, and a late answer is dropped, never delivered
// to another caller. See TCPLink.
//
// The link is our own code over net.Conn rather than
// github.com/moov-io/iso8583-connection (v0.9.0): that library passes
// *iso8583.Message values, so a Link, which carries packed bytes, would
// unpack and pack every message twice more; its Send takes no context (a
// caller's deadline or cancellation would have to be emulated with a
// goroutine per request); it can block without bound handing a request to
// a connection whose writer is stuck; it silently replaces a request in
// flight by another with the same id; and its reader unpacks without
// recovering from a panic of the unpacker. The behaviour we took from it is
// the same: sign-on hook, idle echo, sign-off on close, a reconnecting pool.
package iso8583
